"""The baseline: what a competent analyst would write with pandas and pandera (pandas backend).

The same work as the pipeline's core on one Qualtrics export: read it, map answer labels
(English or French) to option codes, check every answer (a valid option, required
questions answered, an exclusive option alone) with a pandera schema, drop the rows that
fail, and count every closed question in every segment (base, n, percentage). Written
the way pandas is meant to be used (vectorised ``map``, ``str.split``, ``explode``,
``crosstab``), with pandera's row-wise custom checks where lists are involved.

It does less than the pipeline: no layout detection, no other tool, no timestamps or
time zones, no screening, no NETs, intervals or significance, no hashing of personal data,
no quarantine table, no warehouse. ``python -m bench.baseline_pandas FILE`` prints the
seconds it took and the crosstab's row count.
"""

from __future__ import annotations

import sys
import time

import pandas as pd
import pandera.pandas as pa

from schemas.codebook import codebook


def read(path: str) -> pd.DataFrame:
    """Qualtrics: row 1 column ids (the header), rows 2-3 question text and ImportIds (skipped)."""
    head = pd.read_csv(path, nrows=1, dtype=str)
    frame = pd.read_csv(path, skiprows=[1, 2], dtype=str, keep_default_na=False, na_values=[""])
    texts = {column: text for column, text in head.iloc[0].items()}
    return frame, texts


def to_codes(frame: pd.DataFrame, texts: dict[str, str], book) -> pd.DataFrame:
    """One column per closed question, in option codes (lists for select-all questions)."""
    by_text = {text: column for column, text in texts.items()}
    out = pd.DataFrame(index=frame.index)
    for question in book.closed:
        wording = question.text["en"]
        column = by_text.get(wording) or by_text.get(f"{wording} - Selected Choice")
        if column is None and question.grid:
            column = by_text.get(f"{book.grids[question.grid]['en']} - {wording}")
        labels = {label: option.code for option in question.options for label in option.labels.values()}
        raw = frame[column].str.strip()
        if question.type == "single":
            out[question.code] = raw.map(labels).fillna(raw)  # unknown labels kept for the check to reject
        else:
            tokens = raw.fillna("").str.split(",")
            out[question.code] = tokens.map(
                lambda items, labels=labels: [labels.get(t.strip(), t.strip()) for t in items if t.strip()]
            )
    for segment, source in (("language", "UserLanguage"),):
        out[segment] = frame[source].str.lower()
    return out


def schema(book) -> pa.DataFrameSchema:
    columns = {}
    for question in book.closed:
        codes = set(question.option_codes)
        if question.type == "single":
            columns[question.code] = pa.Column(str, pa.Check.isin(sorted(codes)), nullable=not question.required)
            continue
        checks = [pa.Check(lambda s, codes=codes: s.map(lambda items: set(items) <= codes), name="valid_option")]
        if question.required:
            checks.append(pa.Check(lambda s: s.str.len() > 0, name="required_answered"))
        exclusive = set(question.exclusive_codes)
        if exclusive:
            checks.append(
                pa.Check(
                    lambda s, ex=exclusive: s.map(lambda items: not (ex & set(items) and len(items) > 1)),
                    name="exclusive_alone",
                )
            )
        columns[question.code] = pa.Column(object, checks)
    return pa.DataFrameSchema(columns)


def valid_rows(answers: pd.DataFrame, book) -> pd.DataFrame:
    try:
        schema(book).validate(answers, lazy=True)
    except pa.errors.SchemaErrors as errors:
        failed = errors.failure_cases["index"].dropna().unique()
        return answers.drop(index=failed)
    return answers


def crosstab(answers: pd.DataFrame, book) -> pd.DataFrame:
    """One row per segment, segment value, question and answer: base, n, pct."""
    parts = []
    for segment in [q.code for q in book.segment_questions] + ["language"]:
        for question in book.closed:
            if question.type == "single":
                counts = pd.crosstab(answers[segment], answers[question.code])
                base = counts.sum(axis=1)
            else:
                exploded = answers[[segment, question.code]].explode(question.code).dropna()
                counts = pd.crosstab(exploded[segment], exploded[question.code])
                base = answers[answers[question.code].str.len() > 0].groupby(segment).size()
            counts.index.name, counts.columns.name = "segment_value", "answer"
            long = counts.stack().rename("n").reset_index()
            long["base"] = long["segment_value"].map(base)
            long["pct"] = 100 * long["n"] / long["base"]
            long["segment"], long["question"] = segment, question.code
            parts.append(long)
    return pd.concat(parts, ignore_index=True)


def main(argv: list[str]) -> int:
    book = codebook()
    start = time.perf_counter()
    frame, texts = read(argv[0])
    answers = valid_rows(to_codes(frame, texts, book), book)
    table = crosstab(answers, book)
    print(f"{time.perf_counter() - start:.3f} {len(answers)} {len(table)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
