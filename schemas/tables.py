"""One pandera schema per warehouse table: the contract, the DDL and the data dictionary.

Every column carries a description (with its unit) that becomes a DuckDB column
comment, a row of the `dictionary` view and a line of the README's dictionary.
Personal-data columns say so in their metadata.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

# Imported for what importing it does: pandera's Polars backends registered now, not at the first validation.
import schemas.checks  # noqa: F401
from schemas.codebook import Codebook, once_per_codebook
from schemas.names import FLAG_DESCRIPTIONS

UTC = pl.Datetime("us", "UTC")


def _col(
    dtype,
    description: str,
    *,
    nullable: bool = True,
    checks=None,
    personal: bool = False,
    unique: bool = False,
    compression: str | None = None,
) -> pa.Column:
    """A described column; ``compression``: how a warehouse file stores it (``warehouse.ddl``), when not DuckDB's choice."""
    return pa.Column(
        dtype,
        nullable=nullable,
        checks=checks,
        unique=unique,
        description=description,
        metadata={"personal_data": personal} | ({"compression": compression} if compression else {}),
    )


#: The storage of text columns whose values are (nearly) all different, ids and digests: FSST, which
#: DuckDB picks for them anyway, without also trying a dictionary of a million values first (1M
#: responses: the insert of `responses` and `choices` 2.64 -> 2.41 s of CPU, the file 2.5 MB smaller).
DISTINCT_TEXT = "fsst"


def _between(low: float, high: float) -> pa.Check:
    return pa.Check(
        lambda d: d.lazyframe.select(pl.col(d.key).is_null() | pl.col(d.key).is_between(low, high)),
        name=f"between_{low:g}_{high:g}",
    )


def responses_schema(book: Codebook) -> pa.DataFrameSchema:  # long: the table's columns, one described column each
    columns = {
        "wave": _col(pl.Int32, "Survey wave (year of fieldwork).", nullable=False),
        "source_tool": _col(
            pl.Utf8,
            "Survey tool that exported the response (qualtrics, surveymonkey, google_forms, typeform).",
            nullable=False,
        ),
        "response_id": _col(
            pl.Utf8,
            "The tool's response id; for Google Forms, which has none, gfk- and a keyed hash (SURVEYHOUSE_SECRET) of the submission second and email, stable across re-exports; unique within a source tool.",
            nullable=False,
            compression=DISTINCT_TEXT,
        ),
        "language": _col(
            book.language_dtype,
            "Language the respondent answered in (a code of the questionnaire's `languages:`).",
            nullable=False,
        ),
        "started_at": _col(UTC, "When the respondent started, UTC timestamp; null where the tool does not record it."),
        "submitted_at": _col(UTC, "When the response was submitted, UTC timestamp."),
        "duration_s": _col(pl.Float64, "Time to complete, seconds; null where unknown.", checks=[_between(0, 1e9)]),
    }
    for q in book.single:
        columns[q.code] = _col(
            q.dtype, f"Answer to '{q.text[book.default_language]}' (option code).", nullable=not q.required
        )
    for d in book.derived_segments:
        columns[d.code] = _col(
            d.dtype,
            f"Derived segment: {d.source} grouped as "
            + "; ".join(f"{g} = {', '.join(m)}" for g, m in d.groups.items())
            + ".",
        )
    for flag, description in FLAG_DESCRIPTIONS.items():
        columns[flag] = _col(pl.Boolean, description, nullable=False)
    columns.update(
        {
            "email_hash": _col(
                pl.Utf8,
                "Keyed hash (HMAC-SHA256, hex) of the respondent's email; never the email.",
                personal=True,
                compression=DISTINCT_TEXT,
            ),
            "ip_hash": _col(
                pl.Utf8,
                "Keyed hash (HMAC-SHA256, hex) of the respondent's IP address; never the address.",
                personal=True,
                compression=DISTINCT_TEXT,
            ),
            **{
                q.code: _col(
                    pl.Utf8,
                    f"Free text: '{q.text[book.default_language]}', with emails and phone numbers masked.",
                    personal=True,
                )
                for q in book.text
            },
            **{
                f"{q.code}_other": _col(
                    pl.Utf8,
                    f"Free text of '{q.other_option.labels[book.default_language]}' for {q.code}, masked.",
                    personal=True,
                )
                for q in book.closed
                if q.other_option is not None
            },
            "weight": _col(
                pl.Float64,
                "Raking weight: iterative proportional fitting of the wave's non-excluded responses to the target margins (as R survey::rake), normalised to mean 1; null when no weighting targets are set.",
            ),
            "source_file": _col(
                pl.Utf8, "Export file the response was taken from (name in the archive).", nullable=False
            ),
            "source_row": _col(
                pl.Int64, "Row of that file as a spreadsheet shows it (1-based, header rows included).", nullable=False
            ),
        }
    )
    return pa.DataFrameSchema(
        columns,
        strict=True,
        unique=["source_tool", "response_id", "wave"],
        name="responses",
        description="One row per accepted response (its latest version): answers to single-choice questions, derived segments, quality flags.",
    )


def answers_schema(book: Codebook) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "wave": _col(pl.Int32, "Survey wave (year of fieldwork).", nullable=False),
            "source_tool": _col(pl.Utf8, "Survey tool that exported the response.", nullable=False),
            "response_id": _col(pl.Utf8, "The tool's response id; joins to responses.", nullable=False),
            "question": _col(book.question_dtype, "Question code.", nullable=False),
            "answer": _col(
                book.answer_dtype,
                "Option code chosen (multi-select questions give one row per option).",
                nullable=False,
            ),
        },
        strict=True,
        unique=["wave", "source_tool", "response_id", "question", "answer"],
        name="answers",
        description="One row per response, closed question and chosen option (a view: the single-choice columns of "
        "responses and the lists of choices, unnested).",
    )


def _no_repeated_option(data) -> pl.LazyFrame:
    """A multi-select list names each option at most once (`answers` has one row per option)."""
    chosen = pl.col(data.key)
    return data.lazyframe.select((chosen.list.n_unique() == chosen.list.len()).fill_null(True))


def choices_schema(book: Codebook) -> pa.DataFrameSchema:
    """One row per response, the options chosen of each multi-select question as one list."""
    columns = {
        "wave": _col(pl.Int32, "Survey wave (year of fieldwork).", nullable=False),
        "source_tool": _col(pl.Utf8, "Survey tool that exported the response.", nullable=False),
        "response_id": _col(
            pl.Utf8, "The tool's response id; joins to responses.", nullable=False, compression=DISTINCT_TEXT
        ),
    }
    for q in book.multi:
        columns[q.code] = _col(
            pl.List(q.dtype),
            f"Options chosen for '{q.text[book.default_language]}' (option codes, each once); null or empty where none.",
            checks=[pa.Check(_no_repeated_option, name="no_repeated_option")],
        )
    return pa.DataFrameSchema(
        columns,
        strict=True,
        unique=["wave", "source_tool", "response_id"],
        name="choices",
        description="One row per accepted response: the options chosen of each multi-select question, one list "
        "column per question (the `answers` view unnests them).",
    )


def view_schemas(book: Codebook) -> dict[str, pa.DataFrameSchema]:
    """The views whose columns are documented like a table's (their column comments and dictionary rows)."""
    return {"answers": answers_schema(book)}


#: Why a crosstab row carries no test (transforms.families), first reason first.
NOT_TESTED_REASONS = (
    "whole_sample",
    "own_segment",
    "derived_segment",
    "constant_item",
    "repeated_pair",
    "suppressed",
    "no_comparison",
)


def crosstab_schema(book: Codebook) -> pa.DataFrameSchema:  # long: the table's columns, one described column each
    pct = lambda text: _col(pl.Float64, text, checks=[_between(0, 100)])  # noqa: E731
    return pa.DataFrameSchema(
        {
            "wave": _col(pl.Int32, "Survey wave.", nullable=False),
            "question": _col(pl.Utf8, "Question code.", nullable=False),
            "answer": _col(pl.Utf8, "Option code, or NET name (answer_kind = 'net').", nullable=False),
            "answer_kind": _col(
                pl.Utf8,
                "'option' or 'net' (answers counted together, once per respondent).",
                nullable=False,
                checks=[pa.Check.isin(["option", "net"])],
            ),
            "answer_order": _col(
                pl.Int32,
                "Position of the answer in the questionnaire (report order); NETs after options.",
                nullable=False,
            ),
            "segment": _col(pl.Utf8, "Segment the row splits by ('all' for the whole sample).", nullable=False),
            "segment_value": _col(pl.Utf8, "Value of the segment ('all' for the whole sample).", nullable=False),
            "base_n": _col(
                pl.Int64,
                "Base: respondents in the segment value who answered the question and are not excluded.",
                nullable=False,
                checks=[pa.Check.ge(0)],
            ),
            "n": _col(
                pl.Int64,
                "Count: respondents of the base who gave the answer (a NET counts a respondent once).",
                nullable=False,
                checks=[pa.Check.ge(0)],
            ),
            "pct": pct("Percentage, 0-100: 100 n / base_n (multi-select: share of respondents)."),
            "ci_low": pct(
                "Lower bound of the confidence interval of pct, unweighted: Wilson score interval (as R "
                "prop.test(n, base_n, correct = FALSE), statsmodels proportion_confint(method = 'wilson')), percent 0-100."
            ),
            "ci_high": pct("Upper bound of the confidence interval of pct (Wilson score, as ci_low), percent 0-100."),
            "p_value": _col(
                pl.Float64,
                "Two-sided p-value of the segment value against the rest of its base; null where is_tested is false. "
                "Unweighted: pooled two-proportion z-test (as R prop.test(correct = FALSE)). With weighting targets: "
                "design-based Wald z-test of the difference of the two weighted domain proportions, linearised covariance "
                "on the raked design (R survey::svycontrast(svytotal(~yd + d + yr + r, raked), quote(yd/d - yr/r)), "
                "2 pnorm(-|z|)).",
                checks=[_between(0, 1)],
            ),
            "p_adjusted": _col(
                pl.Float64,
                "p_value corrected for multiple comparisons (Benjamini-Hochberg by default, as R p.adjust(method = 'BH'); "
                "SURVEYHOUSE_ADJUST) within its family: by default one question crossed with one segment in one wave, options and "
                "NETs apart (SURVEYHOUSE_ADJUST_FAMILY = table, wave or none). Weighted or not, the same rows in the same families.",
                checks=[_between(0, 1)],
            ),
            "is_significant": _col(pl.Boolean, "p_adjusted below alpha (default 0.05).", nullable=False),
            "is_tested": _col(pl.Boolean, "The row is a hypothesis and carries a test (p_value).", nullable=False),
            "not_tested_reason": _col(
                pl.Utf8,
                "Why the row carries no test, null where tested: whole_sample (segment 'all'), own_segment (the question "
                "itself), derived_segment (grouped from the question), constant_item (every respondent of the wave answered "
                "alike), repeated_pair (the same cross is a row of an earlier question), suppressed (base under the minimum), "
                "no_comparison (the segment value holds the whole base).",
                checks=[pa.Check.isin(list(NOT_TESTED_REASONS))],
            ),
            "is_suppressed": _col(
                pl.Boolean, "Base under the minimum (default 30): do not publish pct.", nullable=False
            ),
            "is_low_base": _col(
                pl.Boolean,
                "Base at or above the minimum and under SURVEYHOUSE_LOW_BASE (default 30-99 respondents): publish with a caution.",
                nullable=False,
            ),
            "weighted_pct": pct(
                "Weighted percentage, 0-100: 100 sum(w over n) / sum(w over the base), as R survey::svymean of the answer's 0/1 indicator; "
                "null without weighting targets. With them, weighted_pct and its interval, effective_base and the test (p_value) are "
                "design-based; pct, ci_low, ci_high, base_n and n stay unweighted."
            ),
            "weighted_ci_low": pct(
                "Lower bound of the weighted interval, percent 0-100: R survey::svyciprop(method = 'logit') on the raked design, a Wald "
                "interval on the logit scale with the Taylor-linearised variance (residuals of the raking margins, as svymean after rake(); "
                "with replacement, each response its own PSU) and a t quantile on the domain's respondents - 1 degrees of freedom; "
                "equal to weighted_pct when that is 0 or 100."
            ),
            "weighted_ci_high": pct(
                "Upper bound of the weighted interval (svyciprop logit on the raked design, as weighted_ci_low), percent 0-100."
            ),
            "effective_base": _col(
                pl.Float64,
                "Design effective base of the cell, in respondents: p(1-p)/var(p), var(p) the linearised variance of weighted_pct on the "
                "raked design (as R survey's svyciprop); null without weighting targets or when weighted_pct is 0 or 100.",
            ),
        },
        strict=True,
        unique=["wave", "question", "answer", "segment", "segment_value"],
        name="crosstab",
        description="One row per wave, question, answer (option or NET), segment and segment value.",
    )


#: A published figure's statuses in `claims`, from the best to the worst (see transforms.claims.check_claims).
CLAIM_STATUSES = [
    "reproduced",
    "within_tolerance",
    "not_reproduced",
    "contradicted",
    "below_minimum_base",
    "not_computable",
]

TREND = pa.DataFrameSchema(
    {
        "wave": _col(pl.Int32, "Survey wave.", nullable=False),
        "question": _col(pl.Utf8, "Question code.", nullable=False),
        "answer": _col(pl.Utf8, "Option code or NET name.", nullable=False),
        "segment": _col(pl.Utf8, "Segment ('all' for the whole sample).", nullable=False),
        "segment_value": _col(pl.Utf8, "Segment value.", nullable=False),
        "base_n": _col(pl.Int64, "Base in this wave; null where this wave did not ask the row (reason)."),
        "n": _col(pl.Int64, "Count in this wave; null where this wave did not ask the row (reason)."),
        "pct": _col(
            pl.Float64, "Percentage in this wave, 0-100: the crosstab's pct, or its weighted_pct when is_weighted."
        ),
        "previous_wave": _col(pl.Int32, "The latest earlier wave with the same row.", nullable=False),
        "previous_base_n": _col(
            pl.Int64, "Base in the previous wave; null where the previous wave did not ask the row (reason)."
        ),
        "previous_n": _col(
            pl.Int64, "Count in the previous wave; null where the previous wave did not ask the row (reason)."
        ),
        "previous_pct": _col(pl.Float64, "Percentage in the previous wave, 0-100 (weighted when is_weighted, as pct)."),
        "matched_respondents": _col(
            pl.Int64,
            "Respondents in the bases of both waves (the same non-null email_hash), whole sample: the same for "
            "every row of the wave pair; a row's own overlap is at most this. 0: the waves are independent samples.",
            nullable=False,
        ),
        "change_pts": _col(pl.Float64, "pct - previous_pct, percentage points."),
        "p_value": _col(
            pl.Float64,
            "Two-sided p-value of the change; the test assumes the two waves are independent samples. Unweighted: "
            "pooled two-proportion z-test of the counts. Weighted (is_weighted): Wald z-test of change_pts whose "
            "variance is the sum of the two waves' design-based variances p(1-p)/effective_base (linearised on each "
            "wave's raked design, as R survey::svycontrast on the two waves stacked as strata). Matched respondents (matched_respondents) make the waves paired: when they answer alike in "
            "both (positive correlation, the usual case) the test is conservative (p too large, changes missed); "
            "negatively correlated answers would make it anti-conservative.",
            checks=[_between(0, 1)],
        ),
        "is_weighted": _col(
            pl.Boolean,
            "pct, previous_pct, change_pts and the test are weighted (weighting targets set), design-based; "
            "base_n and n stay respondents.",
            nullable=False,
        ),
        "p_adjusted": _col(
            pl.Float64,
            "p_value corrected for the table's comparisons (same method as the crosstab).",
            checks=[_between(0, 1)],
        ),
        "is_significant": _col(pl.Boolean, "p_adjusted below alpha.", nullable=False),
        "reason": _col(
            pl.Utf8,
            "Why the row is not compared, when the questionnaire changed between the two waves: 'question not "
            "asked in 2023', 'answer added in 2024', 'answer dropped after 2023', 'answer merged into images in "
            "2024' (the other wave's figures, the change and its test are then null); null where it is compared.",
        ),
        "note": _col(
            pl.Utf8,
            "How a compared row differs between the two waves: 'compared with dalle|midjourney in 2023' (an option "
            "that merges older ones, compared with them counted once, as a NET), 'answer wording changed since 2023' (same "
            "code, new label), 'question wording changed since 2023'; null where nothing changed.",
        ),
    },
    strict=True,
    unique=["wave", "question", "answer", "segment", "segment_value"],
    name="trend",
    description="One row per crosstab row of a wave with an earlier wave: the previous percentage, the change and its significance.",
)

_SPSS = "as SPSS Custom Tables, CTABLES /COMPARETEST TYPE=PROP"
COLUMN_TESTS = pa.DataFrameSchema(
    {
        "wave": _col(pl.Int32, "Survey wave.", nullable=False),
        "question": _col(pl.Utf8, "Question code (the table's rows).", nullable=False),
        "answer": _col(pl.Utf8, "Option code or NET name (the row of the table).", nullable=False),
        "segment": _col(pl.Utf8, "Segment whose values are the table's columns.", nullable=False),
        "value_a": _col(pl.Utf8, "The pair's first segment value (the earlier letter).", nullable=False),
        "letter_a": _col(
            pl.Utf8,
            "value_a's letter: A, B, C... in questionnaire order (tool and language: name order).",
            nullable=False,
        ),
        "value_b": _col(pl.Utf8, "The pair's second segment value (the later letter).", nullable=False),
        "letter_b": _col(pl.Utf8, "value_b's letter.", nullable=False),
        "n_a": _col(pl.Int64, "Count of value_a: respondents of its base who gave the answer.", nullable=False),
        "base_a": _col(
            pl.Int64, "Base of value_a (unweighted respondents), at least the minimum base.", nullable=False
        ),
        "n_b": _col(pl.Int64, "Count of value_b.", nullable=False),
        "base_b": _col(
            pl.Int64, "Base of value_b (unweighted respondents), at least the minimum base.", nullable=False
        ),
        "pct_a": _col(
            pl.Float64,
            "Percentage 0-100 of value_a: 100 n_a / base_a, or value_a's crosstab weighted_pct when is_weighted.",
            checks=[_between(0, 100)],
        ),
        "pct_b": _col(
            pl.Float64,
            "Percentage 0-100 of value_b: 100 n_b / base_b, or its weighted_pct when is_weighted.",
            checks=[_between(0, 100)],
        ),
        "p_value": _col(
            pl.Float64,
            f"Two-sided p-value of pct_a against pct_b. Unweighted: the pooled two-proportion z-test ({_SPSS}). "
            "Weighted (is_weighted): the Wald z-test of the difference of the weighted percentages, its variance the "
            "sum of the two cells' design-based variances p(1-p)/effective_base (linearised on the raked design, as R "
            "survey's svyby + svycontrast of two domains); the covariance the raking induces between the two disjoint "
            "domains is neglected, as the trend neglects it between waves.",
            checks=[_between(0, 1)],
        ),
        "p_adjusted": _col(
            pl.Float64,
            "p_value adjusted within the row (wave, question, segment, answer) over its pairs of columns: Bonferroni "
            f"by default ({_SPSS} ADJUST=BONFERRONI, its default), or Benjamini-Hochberg or none "
            "(SURVEYHOUSE_COLUMN_ADJUST).",
            checks=[_between(0, 1)],
        ),
        "higher": _col(
            pl.Utf8, "value_a or value_b, whichever has the higher pct_a / pct_b, when significant; else null."
        ),
        "is_significant": _col(pl.Boolean, "p_adjusted below alpha (default 0.05).", nullable=False),
        "is_weighted": _col(
            pl.Boolean,
            "True when weighting targets are set: pct_a, pct_b, p_value and higher are weighted, design-based.",
            nullable=False,
        ),
    },
    strict=True,
    unique=["wave", "question", "answer", "segment", "value_a", "value_b"],
    name="column_tests",
    description=(
        "One row per wave, question, answer, segment and pair of its values (columns) whose bases reach the minimum: "
        f"column-proportion tests with letters ({_SPSS}). Not tested: a question crossed with its own segment or a "
        "segment derived from it, and a question constant in the whole sample (every answer chosen by none or all)."
    ),
)

LABELS = pa.DataFrameSchema(
    {
        "question": _col(pl.Utf8, "Question code, or derived segment code.", nullable=False),
        "code": _col(
            pl.Utf8,
            "The code labelled: the question's own code (kind question), an option code, a NET name or a derived "
            "segment's value.",
            nullable=False,
        ),
        "language": _col(pl.Utf8, "Language of the label (ISO 639-1), one of the study's languages.", nullable=False),
        "label": _col(
            pl.Utf8,
            "The text in that language, as the questionnaire words it; a NET's or derived segment value's label is "
            "its members' labels joined with ' + '.",
            nullable=False,
        ),
        "position": _col(
            pl.Int32,
            "Order, 1-based: a question's place in the questionnaire (derived segments after every question); an "
            "option's position (as numeric exports code it); NETs after the options; a derived segment's values in "
            "declared order.",
            nullable=False,
        ),
        "kind": _col(
            pl.Utf8,
            "question (the question text), option, net or segment_value (a derived segment's value).",
            nullable=False,
            checks=[pa.Check.isin(["question", "option", "net", "segment_value"])],
        ),
    },
    strict=True,
    unique=["question", "code", "kind", "language"],
    name="labels",
    description=(
        "One row per question, code and language: the study's labels (question texts, options, NETs, derived "
        "segment values) in every language of the questionnaire, to label any table's codes."
    ),
)

QUARANTINE = pa.DataFrameSchema(
    {
        "run_id": _col(pl.Utf8, "Run that read the row.", nullable=False),
        "wave": _col(pl.Int32, "Wave of the file the row came from (files.wave); null where the file has none."),
        "source_file": _col(pl.Utf8, "Export file the row came from.", nullable=False),
        "source_row": _col(
            pl.Int64,
            "Row of that file as a spreadsheet shows it (1-based, header rows included); null for a whole-file failure.",
        ),
        "response_id": _col(pl.Utf8, "The tool's response id, where the row has one."),
        "column_name": _col(pl.Utf8, "Question code or field that failed; null for a whole-file failure."),
        "check_name": _col(
            pl.Utf8, "Name of the failed check (e.g. valid_option, required_answered, exclusive_alone).", nullable=False
        ),
        "failure_case": _col(pl.Utf8, "The offending value as read.", personal=True),
        "message": _col(pl.Utf8, "What is wrong, in plain language.", nullable=False),
    },
    strict=True,
    name="quarantine",
    description=(
        "One row per failed check of a response and column, as the latest file that showed it gives it "
        "(a re-export or cumulative export showing the same failure again does not add a row; files ordered as "
        "for files.superseded); rows without a response id, and whole-file failures, one per file."
    ),
)

FILES = pa.DataFrameSchema(
    {
        "file_sha256": _col(
            pl.Utf8, "SHA-256 of the file's bytes: its identity (a file is ingested once).", nullable=False, unique=True
        ),
        "source_file": _col(pl.Utf8, "File name as it landed.", nullable=False),
        "run_id": _col(pl.Utf8, "Run that ingested the file.", nullable=False),
        "wave": _col(pl.Int32, "Wave the file belongs to."),
        "file_order": _col(
            pl.Int64,
            "Order in which files were staged (for reading only: which version of a response wins never depends on it).",
            nullable=False,
        ),
        "source_tool": _col(pl.Utf8, "Tool recognised from the file's layout; null when unrecognised."),
        "layout": _col(pl.Utf8, "Layout recognised (e.g. qualtrics, qualtrics_legacy)."),
        "language": _col(
            pl.Utf8, "Language of the file's headers (a code of the questionnaire's `languages:`), where they tell."
        ),
        "encoding": _col(pl.Utf8, "Text encoding read (utf-8, utf-8-sig, cp1252...)."),
        "rows_read": _col(pl.Int64, "Data rows in the file (header rows not counted).", nullable=False),
        "accepted": _col(
            pl.Int64, "Rows that passed every check and are the current version of their response.", nullable=False
        ),
        "quarantined": _col(
            pl.Int64,
            "Rows of this file rejected by a check (see quarantine, which keeps a failure a later file shows again "
            "once, under that file).",
            nullable=False,
        ),
        "superseded": _col(
            pl.Int64,
            "Rows replaced by a later version of the same response (same wave, tool and response id). The version "
            "kept is the one submitted last (submitted_at); between equal submissions, the one from the later file: "
            "by exported_at, then file_modified_at (a missing time counts as older than any known one), then "
            "file_sha256 as a fixed tie-break; never by file name or file_order. Two rows of one file: the lower one.",
            nullable=False,
        ),
        "exported_at": _col(
            UTC,
            "When the survey tool wrote the file, as the file says (UTC): an Excel workbook's document properties "
            "(modified, else created), an SPSS file's header (creation date and time, the exporting machine's clock); "
            "null for CSV, which says nothing of it, and for files staged before it was recorded.",
        ),
        "file_modified_at": _col(
            UTC,
            "The file's modification time in the landing folder when it was staged (UTC); null for files staged "
            "before it was recorded.",
        ),
        "columns_ignored": _col(pl.Utf8, "Columns that are no question of the questionnaire (comma-separated)."),
        "status": _col(
            pl.Utf8,
            "'loaded'; 'failed' (unusable whole: unreadable, unknown layout, not this questionnaire, a required question missing: see message); or 'rejected' (more than the maximum share, default 20%, of its rows failed checks; its quarantine rows are kept).",
            nullable=False,
            checks=[pa.Check.isin(["loaded", "failed", "rejected"])],
        ),
        "message": _col(
            pl.Utf8,
            "Why a file failed, or what of a loaded file could not be read (times no known format reads), in plain language.",
        ),
    },
    strict=True,
    name="files",
    description="One row per export file ever ingested; rows_read = accepted + quarantined + superseded.",
)

RUNS = pa.DataFrameSchema(
    {
        "run_id": _col(pl.Utf8, "Run identifier (UTC start time and a random suffix).", nullable=False, unique=True),
        "flow_run_id": _col(
            pl.Utf8, "Prefect flow run id; null when the pipeline ran without Prefect (tests, benchmarks)."
        ),
        "started_at": _col(UTC, "When the run started, UTC.", nullable=False),
        "finished_at": _col(UTC, "When the run published (or failed, or found nothing new), UTC.", nullable=False),
        "files_new": _col(pl.Int64, "Files ingested by this run.", nullable=False),
        "files_failed": _col(pl.Int64, "Of those, files rejected whole.", nullable=False),
        "rows_read": _col(pl.Int64, "Data rows read by this run.", nullable=False),
        "responses": _col(pl.Int64, "Responses in the warehouse after the run; null for a failed run."),
        "responses_excluded": _col(pl.Int64, "Of those, excluded from bases by screening."),
        "quarantined_rows": _col(
            pl.Int64,
            "New failed checks of input rows: quarantine rows (one per response, check and column) that the "
            "previously published quarantine lacked; a failure a re-export shows again is not counted again.",
        ),
        "status": _col(
            pl.Utf8,
            "ok; warning (a file was rejected or could not be read: see message and files); failed (nothing published: "
            "see message); nothing_new (a night that found nothing new: nothing built or published, the warehouse "
            "unchanged; listed from the next publish on, its counts those of the warehouse it left live).",
            nullable=False,
            checks=[pa.Check.isin(["ok", "warning", "failed", "nothing_new"])],
        ),
        "message": _col(pl.Utf8, "What went wrong, in plain language; null when all went well."),
        "trigger": _col(
            pl.Utf8,
            "The command that started the run besides the nightly run, with its file: 'assign FILE --wave W' or "
            "'forget FILE'; null for a nightly run or a rebuild.",
        ),
        "claims_reproduced": _col(
            pl.Int64,
            "Published figures reproduced from the data: claims.status = 'reproduced' (rounds to the published figure).",
        ),
        "claims_total": _col(pl.Int64, "Published figures checked."),
        "settings": _col(
            pl.Utf8, "The run's settings as JSON (screening policy, statistics, tolerance).", nullable=False
        ),
    },
    strict=True,
    name="runs",
    description="One row per run: those that published, those that failed and the nights that found nothing new (nothing published).",
)

CLAIMS = pa.DataFrameSchema(
    {
        "wave": _col(pl.Int32, "Wave the figure is about.", nullable=False),
        "id": _col(pl.Utf8, "Figure id in the published report's list.", nullable=False),
        "question": _col(pl.Utf8, "Question code.", nullable=False),
        "answers": _col(pl.Utf8, "Option codes as published ('|' = counted together).", nullable=False),
        "segment": _col(
            pl.Utf8, "Segment as published ('all', 'question=code', 'question=code|code').", nullable=False
        ),
        "answer": _col(pl.Utf8, "Crosstab answer (option code or NET name).", nullable=False),
        "segment_name": _col(pl.Utf8, "Crosstab segment.", nullable=False),
        "segment_value": _col(pl.Utf8, "Crosstab segment value.", nullable=False),
        "published_pct": _col(pl.Float64, "Figure printed in the report, percent 0-100.", nullable=False),
        "computed_pct": _col(
            pl.Float64,
            "Figure recomputed from the warehouse, percent 0-100: the crosstab's pct, or its weighted_pct when is_weighted.",
        ),
        "is_weighted": _col(
            pl.Boolean,
            "computed_pct and its interval (ci_low, ci_high: the crosstab's weighted_ci_low/high, svyciprop logit) are "
            "the weighted ones (weighting targets set); base_n stays respondents.",
            nullable=False,
        ),
        "diff_pts": _col(pl.Float64, "computed_pct - published_pct, percentage points."),
        "base_n": _col(pl.Int64, "Base of the recomputed figure."),
        "ci_low": _col(pl.Float64, "Lower bound of the recomputed figure's interval, percent."),
        "ci_high": _col(pl.Float64, "Upper bound of the recomputed figure's interval, percent."),
        "is_within_tolerance": _col(
            pl.Boolean, "|diff_pts| within the claim tolerance (SURVEYHOUSE_CLAIM_TOLERANCE_PTS, default 1 point)."
        ),
        "is_within_ci": _col(
            pl.Boolean,
            "The published figure lies inside the recomputed 95% interval: information only, no part of the status "
            "(report and recomputation use the same sample).",
        ),
        "status": _col(
            pl.Utf8,
            "reproduced (computed_pct rounds to published_pct at its printed precision, whole points here; a half rounds "
            "either way), within_tolerance (not reproduced, within the claim tolerance), not_reproduced (neither), "
            "contradicted (neither, and the report contradicts itself here), below_minimum_base (computed on a base "
            "under the minimum) or not_computable (no crosstab row: no data at all).",
            nullable=False,
            checks=[pa.Check.isin(CLAIM_STATUSES)],
        ),
        "contradiction": _col(pl.Utf8, "Which other published figure this one contradicts, and why."),
        "unscreened_pct": _col(
            pl.Float64,
            "The figure if screened-out responses (speeders, failed attention, duplicates) were counted, percent 0-100, "
            "unweighted.",
        ),
        "screening_effect_pts": _col(
            pl.Float64,
            "unscreened_pct - the unweighted screened percentage, percentage points: how much screening moves the "
            "figure (unweighted even when is_weighted: the screened-out responses have no weight).",
        ),
        "note": _col(pl.Utf8, "Note from the list of published figures."),
    },
    strict=True,
    name="claims",
    description="One row per published figure: published against recomputed.",
)


def warehouse_schemas(book: Codebook) -> dict[str, pa.DataFrameSchema]:
    """Every warehouse table's schema, in load order (those derived from the codebook built once per codebook)."""
    return dict(_warehouse_schemas(book))


@once_per_codebook
def _warehouse_schemas(book: Codebook) -> dict[str, pa.DataFrameSchema]:
    return {
        "responses": responses_schema(book),
        "choices": choices_schema(book),
        "crosstab": crosstab_schema(book),
        "trend": TREND,
        "column_tests": COLUMN_TESTS,
        "claims": CLAIMS,
        "labels": LABELS,
        "quarantine": QUARANTINE,
        "files": FILES,
        "runs": RUNS,
    }
