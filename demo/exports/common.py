"""What every demo writer shares: the file's language, labels for codes, UTC times, input checks."""

from __future__ import annotations

import polars as pl

from schemas.codebook import Codebook, Question, codebook


def language(frame: pl.DataFrame, book: Codebook | None = None) -> str:
    """The file's language: its first respondent's, when the questionnaire has it, else its first language."""
    languages = (book or codebook()).languages
    first = frame.get_column("language").head(1).to_list() if "language" in frame.columns and frame.height else []
    return first[0] if first and first[0] in languages else languages[0]


def label(value: pl.Expr, question: Question, language: str) -> pl.Expr:
    """An option code as its label; ``!text`` as ``text``."""
    mapping = {option.code: option.labels[language] for option in question.options}
    return (
        pl.when(value.str.starts_with("!"))
        .then(value.str.slice(1))
        .otherwise(value.replace_strict(mapping, default=None))
    )


def utc(frame: pl.DataFrame, name: str) -> pl.Expr:
    column = pl.col(name)
    return (
        column.dt.replace_time_zone("UTC")
        if frame.schema[name].time_zone is None
        else column.dt.convert_time_zone("UTC")
    )


def check_codes(frame: pl.DataFrame, book: Codebook | None = None) -> None:
    """Fail on an answer code the questionnaire does not have (``!`` answers are meant)."""
    for question in (book or codebook()).closed:
        values = frame.get_column(question.code).cast(pl.List(pl.Utf8) if question.type == "multi" else pl.Utf8)
        values = (values.explode() if question.type == "multi" else values).drop_nulls()
        unknown = values.filter(~values.str.starts_with("!") & ~values.is_in(question.option_codes))
        if unknown.len():
            raise ValueError(f"{question.code}: unknown option codes {sorted(unknown.unique().to_list())}")


def other_text(frame: pl.DataFrame, question: Question) -> pl.Expr:
    name = f"{question.code}_other"
    return pl.col(name).cast(pl.Utf8) if name in frame.columns else pl.lit(None, pl.Utf8)


def chosen_labels(frame: pl.DataFrame, value: pl.Expr, question: Question, language: str) -> pl.Expr:
    """A multi-select answer (a list of codes) as the list of its labels, in option order: an
    "Other" option as the respondent's text where there is one, ``!text`` (an invalid answer) as ``text``."""
    chosen = value.cast(pl.List(pl.Utf8))
    parts = [
        pl.when(chosen.list.contains(option.code)).then(pl.lit(option.labels[language]))
        for option in question.options
        if not option.other_text
    ]
    other = question.other_option
    if other:
        typed = pl.coalesce(other_text(frame, question), pl.lit(other.labels[language]))
        parts.append(pl.when(chosen.list.contains(other.code)).then(typed))
    invalid = chosen.list.eval(pl.element().filter(pl.element().str.starts_with("!")).str.slice(1))
    return pl.concat_list([*parts, invalid]).list.drop_nulls()
