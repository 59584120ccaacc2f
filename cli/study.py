"""`surveyhouse study`: the commands about a study folder (check; init drafts one)."""

from __future__ import annotations

from pathlib import Path

import click

from cli.errors import OK, USAGE


@click.group("study")
def study_group() -> None:
    """Check a study folder (questionnaire.yaml, published_figures.csv, weights.yaml).

    \b
    Examples:
      surveyhouse study check my-study
      surveyhouse study check            # $SURVEYHOUSE_STUDY, else the built-in study
    """


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
    waves = sorted(set(study.figures["wave"].to_list()) | {book.wave})
    weights = f", weighting targets for {len(study.weighting_targets)} segment(s)" if study.weighting_targets else ""
    return (
        f"{study.source}: study {book.study}, {len(book.questions)} questions ({len(book.closed)} closed, "
        f"{len(book.segments)} segments), languages {', '.join(study.languages)}, "
        f"wave(s) {', '.join(map(str, waves))}, {figures} published figure(s){weights}: no problems."
    )
