"""`surveyhouse study`: the commands about a study folder (``init`` drafts one from an export, ``check`` checks one)."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from pathlib import Path

import click

from cli.errors import OK, USAGE, UserError

QUESTIONNAIRE = "questionnaire.yaml"


@click.group("study")
def study_group() -> None:
    """Draft a study folder from an export, and check one (questionnaire.yaml, published_figures.csv,
    weights.yaml, report.yaml).

    \b
    Examples:
      surveyhouse study init --from responses.csv --out my-study
      surveyhouse study check my-study
      surveyhouse study check            # $SURVEYHOUSE_STUDY, else the built-in study
    """


@study_group.command("init")
@click.option(
    "--from",
    "export",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="one export of the survey, in any supported layout (CSV, Excel or SPSS)",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="the study folder to write (default: a folder named after the export, here)",
)
def init_command(export: Path, out: Path | None) -> int:
    """Draft a study folder (questionnaire.yaml) from one export: question texts, types,
    options in the order seen, codes slugged from the labels, the export's language.
    Personal-data columns (email, names, IP) are left out. Edit the draft, then run it.

    \b
    Examples:
      surveyhouse study init --from landing/2024/responses.csv --out my-study
      surveyhouse study init --from results-survey123456.xlsx
    """
    from transforms.draft import slug

    out = out if out is not None else Path(slug(export.stem, prefix="s"))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} is not empty: give --out a new or empty folder (the draft never overwrites files)")
    text, summary = drafted_questionnaire(export)
    out.mkdir(parents=True, exist_ok=True)
    (out / QUESTIONNAIRE).write_text(text, encoding="utf-8")
    click.echo(
        f"Wrote {out / QUESTIONNAIRE}: {summary}. Edit the codes and types, then `surveyhouse study check {shlex.quote(str(out))}`."
    )
    return OK


def _label_languages(language: str) -> tuple[str, ...]:
    """The languages the draft gives every text and label in: the export's (add others by hand)."""
    return (language,)


def _read(export: Path):
    """(layout, parsed export) of the file, or UserError with the file and the fix."""
    from surveyhouse.read import UnreadableExport, read_export
    from surveyhouse.staging import recognise_export
    from transforms.layouts import UnknownLayout

    if not export.is_file():
        raise UserError(f"{export} does not exist: give --from the path of an export file")
    try:
        return recognise_export(read_export(export))
    except (UnreadableExport, UnknownLayout) as error:
        raise UserError(f"{export} cannot be drafted from: {error}") from None


def drafted_questionnaire(export: Path) -> tuple[str, str]:
    """(the text of questionnaire.yaml drafted from an export, a one-line summary)."""
    import polars as pl
    import yaml

    from transforms.display import display_name
    from transforms.draft import draft_questionnaire, export_language

    layout, parsed = _read(export)
    meta, wide = parsed.meta.collect(), parsed.wide.collect()
    texts = [c.header for c in parsed.columns] + [c.sub_label or "" for c in parsed.columns]
    language = export_language(texts, meta.get_column("language").to_list())
    years = pl.concat([meta.get_column("submitted_at"), meta.get_column("started_at")]).drop_nulls().dt.year()
    wave = int(years.max()) if years.len() else datetime.now(UTC).year
    questionnaire, left_out = draft_questionnaire(
        wide,
        parsed.columns,
        study=export.stem,
        wave=wave,
        language=language,
        label_languages=_label_languages(language),
    )
    name = display_name(export.name)
    lines = [
        f"# Drafted by `surveyhouse study init` from {name} ({layout.source_tool}, {meta.height} responses).",
        "# A draft: check each question's type and options, give codes you will keep, mark required",
        "# questions (required: true), segments, NETs and the other keys of the format.",
    ]
    if left_out:
        lines.append("# Personal data, left out: " + ", ".join(display_name(h) for h in left_out))
    body = yaml.safe_dump(questionnaire, allow_unicode=True, sort_keys=False, width=110)
    count = len(questionnaire["questions"])
    return "\n".join(
        lines
    ) + "\n\n" + body, f"{count} questions in {language}, wave {wave}, from a {layout.name} export"


@study_group.command("check")
@click.argument("folder", metavar="[DIR]", required=False)
def check_command(folder: str | None) -> int:
    """Check a study folder: print every mistake (file, line N: problem; fix), exit status 2;
    when there is none, one line saying what the study holds, exit status 0.

    DIR defaults to $SURVEYHOUSE_STUDY, else the built-in study.

    \b
    Examples:
      surveyhouse study check my-study
    """
    from schemas.study import StudyError, load_study, study_problems
    from surveyhouse.settings import load_settings

    chosen = Path(folder).expanduser() if folder else load_settings().study
    problems = study_problems(chosen) if chosen is not None else []
    if problems:
        for line in problems:
            click.echo(line)
        click.echo(f"{len(problems)} problem(s) in {chosen}; fix them and check again.", err=True)
        return USAGE
    try:
        study = load_study(chosen)
    except StudyError as error:  # the built-in study: checked at load
        click.echo(str(error))
        return USAGE
    click.echo(study_summary(study))
    return OK


def study_summary(study) -> str:
    """One line: what the study holds."""
    book = study.book
    figures = study.figures.height
    waves = sorted(set(study.figures["wave"].to_list()) | {book.wave} | {w.wave for w in study.declared_waves})
    weights = f", weighting targets for {len(study.weighting_targets)} segment(s)" if study.weighting_targets else ""
    return (
        f"{study.source}: study {book.study}, {len(book.questions)} questions ({len(book.closed)} closed, "
        f"{len(book.segments)} segments), languages {', '.join(study.languages)}, "
        f"wave(s) {', '.join(map(str, waves))}, {figures} published figure(s){weights}: no problems."
    )
