"""Survey-quality screening: flags kept on each response, never rows dropped.

Excluded responses stay in ``responses`` (analysts can see and question them) but
never enter a base.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from schemas.codebook import Codebook

FLAGS = ("is_speeder", "is_straightliner", "is_attention_failed", "is_duplicate", "is_gibberish")
#: Runs of neighbouring keys on a QWERTY/AZERTY keyboard: what keyboard noise is made of.
_KEYBOARD_RUNS = (
    r"(asdf|sdfg|dfgh|fghj|ghjk|hjkl|qwer|wert|erty|rtyu|tyui|yuio|uiop|zxcv|xcvb|cvbn|vbnm|azer|qsdf|wxcv|jklm)"
)


@dataclass(frozen=True)
class ScreeningPolicy:
    speeder_share: float = 1 / 3  # speeder: duration under this share of the wave's median
    exclude: tuple[str, ...] = ("is_attention_failed", "is_speeder", "is_duplicate")

    def __post_init__(self) -> None:
        unknown = set(self.exclude) - set(FLAGS)
        if unknown:
            raise ValueError(f"unknown screening flags {sorted(unknown)}; known: {', '.join(FLAGS)}")
        if not 0 < self.speeder_share < 1:
            raise ValueError("speeder_share must be between 0 and 1")


def gibberish(text: pl.Expr) -> pl.Expr:
    """True where a comment is keyboard noise: key runs, or letters with almost no vowels."""
    lower = text.str.to_lowercase()
    letters = lower.str.count_matches(r"\p{L}")
    vowels = lower.str.count_matches(r"[aeiouyàâäéèêëîïôöùûü]")
    return (
        lower.str.contains(_KEYBOARD_RUNS) | ((letters >= 6) & (vowels.cast(pl.Float64) / letters < 0.12))
    ).fill_null(False)


def answers_key(book: Codebook) -> pl.Expr:
    """A response's answers to every closed question as one value (a struct of its answers): equal
    values, identical answers (an unanswered multi-select and an empty one count as the same)."""
    return pl.struct([pl.col(q.code) for q in book.single] + [pl.col(q.code).fill_null([]) for q in book.multi])


def order_in_wave() -> pl.Expr:
    """A response's position in its wave, earliest submission first; ties broken by tool and
    id, so that no flag depends on row order."""
    return pl.struct("submitted_at", "source_tool", "response_id").rank("ordinal").over("wave")


def row_flags(book: Codebook, *, types: Mapping[str, pl.DataType] | None = None) -> dict[str, pl.Expr]:
    """The flags a response's own answers decide: straight-lining, a failed attention check, gibberish.
    ``types``: the frame's column types, when known: the same flags by a cheaper expression (grid
    items of one type compared as they are); without, the expressions
    ``surveyhouse.incremental.screening_rules`` records (a change there makes a night build whole).
    Comments are judged row by row: judging each distinct comment once pays only where many repeat
    (generated data), and holds every distinct comment of the file in memory where they do not."""
    grid_items = [q.code for grid in book.grids for q in book.grid_items(grid)]
    check = book.attention_check
    text_columns = [q.code for q in book.text]
    return {
        "is_straightliner": (
            pl.all_horizontal([same_answer(c, grid_items[0], types=types) for c in grid_items])
            if len(grid_items) > 1
            else pl.lit(False)
        ).fill_null(False),
        "is_attention_failed": (
            (pl.col(check.code).cast(pl.Utf8) != check.expected).fill_null(True) if check else pl.lit(False)
        ),
        "is_gibberish": pl.any_horizontal([gibberish(pl.col(code)) for code in text_columns])
        if text_columns
        else pl.lit(False),
    }


def same_answer(code: str, other: str, *, types: Mapping[str, pl.DataType] | None = None) -> pl.Expr:
    """Whether two answers are the same text (null where either is): two columns of one type (``types``:
    the frame's, e.g. one ``pl.Enum``) compared as they are, without making every row's text (1M
    responses, a grid of three: 60 -> 0.3 ms of CPU); else as text."""
    if types is not None and code in types and other in types and types[code] == types[other]:
        return pl.col(code) == pl.col(other)
    return pl.col(code).cast(pl.Utf8) == pl.col(other).cast(pl.Utf8)


def speeder_flag(policy: ScreeningPolicy) -> pl.Expr:
    """A speeder: duration under ``policy.speeder_share`` of the wave's median (columns wave, duration_s)."""
    return (pl.col("duration_s") < policy.speeder_share * pl.col("duration_s").median().over("wave")).fill_null(False)


def duplicate_flag(
    *, person: tuple[str, ...] = ("email_hash",), machine: tuple[str, ...] = ("ip_hash", "_answers_key")
) -> pl.Expr:
    """A duplicate: the same respondent twice in a wave (equal ``person`` columns: the email hash;
    or equal ``machine`` columns: the IP hash and the answers, ``answers_key``), not the earliest
    (``_order``, ``order_in_wave``) of them. A null first column (no email, no IP) matches nothing."""
    first_of = lambda *keys: pl.col("_order") == pl.col("_order").min().over("wave", *keys)  # noqa: E731
    same_person = pl.col(person[0]).is_not_null() & ~first_of(*person)
    same_machine = pl.col(machine[0]).is_not_null() & ~first_of(*machine)
    return (same_person | same_machine).fill_null(False)


def excluded_flag(policy: ScreeningPolicy) -> pl.Expr:
    """Whether a response enters no base: any of the policy's excluding flags."""
    return pl.any_horizontal([pl.col(flag) for flag in policy.exclude]) if policy.exclude else pl.lit(False)


def flag_responses(frame: pl.LazyFrame, *, book: Codebook, policy: ScreeningPolicy) -> pl.LazyFrame:
    """One row per response, with the screening flags and ``is_excluded`` added.

    Duplicates: the same respondent twice (same email hash, or same IP hash with
    identical answers); the earliest submission is kept, later ones are flagged.
    """
    ordered = frame.with_columns(_answers_key=answers_key(book), _order=order_in_wave())
    row = row_flags(book)
    flags = ordered.with_columns(
        is_speeder=speeder_flag(policy),
        is_straightliner=row["is_straightliner"],
        is_attention_failed=row["is_attention_failed"],
        is_duplicate=duplicate_flag(),
        is_gibberish=row["is_gibberish"],
    )
    return flags.with_columns(is_excluded=excluded_flag(policy)).drop("_answers_key", "_order")
