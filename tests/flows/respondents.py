"""Twelve hand-written respondents in the respondent model's shape, for the export writers' tests.

One row per respondent: ``respondent`` (1..12), ``started_at``/``submitted_at`` (UTC),
``email``, ``ip_address``, ``language``, one Utf8 option code per single-choice question
(null = unanswered, ``!text`` = the invalid answer ``text``), one List(Utf8) of option
codes per multi-select, ``industry_other``, ``ai_uses_other``, ``comment``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

FULL = {
    "role": "manager", "industry": "retail", "team_size": "t2_10", "followers": "f10k_50k",
    "ai_frequency": "weekly", "ai_interest": "somewhat", "ai_useful": "agree", "ai_threat": "neutral",
    "attention_check": "disagree", "ai_uses": ["visuals", "copywriting"], "company_uses_ai": "yes",
    "plans_2024": "increase", "want_more_ai": "yes", "uses_2025": ["ads", "research"], "barriers": ["cost"],
}  # fmt: skip
MULTI = ("ai_uses", "uses_2025", "barriers")
START = datetime(2023, 10, 2, 13, 5, 9, tzinfo=UTC)

#: What each respondent changes from FULL (``same_second``: submitted in the same second as
#: the respondent before; ``started_micro``: a start with microseconds; ``ip``: the address;
#: ``partial``: not submitted).
CHANGES: list[dict] = [
    {"email": "ada.lovelace@example.com", "comment": "Saves us hours, but we review everything."},
    {"industry": "other", "industry_other": "Real estate", "ai_uses": ["scheduling", "other"],
     "ai_uses_other": "Hashtag research", "followers": "f1m_plus"},
    {"ai_uses": ["none"], "uses_2025": ["none"], "barriers": ["none"], "ai_frequency": "never", "company_uses_ai": "no"},
    {"role": "!Intern", "team_size": None, "email": "Grace.Hopper@Example.org"},
    {"ai_uses": ["post_ideas", "!Memes"], "barriers": ["!Budget", "privacy", "!Time"], "followers": "lt_10k"},
    {"ai_uses": [], "uses_2025": None, "comment": "Hard to say, \"it depends\", really.\nSecond line."},
    {"attention_check": "agree", "ai_threat": "!N/A", "team_size": "t51_plus"},
    {"same_second": True, "role": "vp", "ai_interest": "dont_care", "want_more_ai": "not_sure"},
    {"industry": "technology", "followers": "f100k_250k", "ai_uses": ["ads", "ad_targeting", "analytics", "replies"],
     "email": "alan.turing@example.co.uk"},
    {"industry": "other", "industry_other": "Agriculture, forestry", "plans_2024": "decrease"},
    {"role": "entry", "ai_useful": "strongly_disagree", "barriers": ["org_experience", "understanding", "legal"],
     "started_micro": 654_321},
    {"role": "senior_director", "ai_frequency": "daily", "ip": "2001:db8::7", "partial": True,
     **{code: None for code in ("company_uses_ai", "plans_2024", "want_more_ai", "uses_2025", "barriers")}},  # still in progress
]  # fmt: skip


def small_respondents(*, language: str = "en") -> pl.DataFrame:
    """The twelve respondents, every one answering in ``language``."""
    rows: list[dict] = []
    for i, changes in enumerate(CHANGES):
        submitted = START + timedelta(days=2 * i, hours=i, seconds=37 * i)
        if changes.get("same_second"):
            submitted = rows[-1]["submitted_at"]
        started = submitted - timedelta(seconds=300 + 29 * i, microseconds=changes.get("started_micro", 0))
        row = {
            "respondent": i + 1,
            "started_at": started,
            "submitted_at": submitted,
            "email": None,
            "ip_address": changes.get("ip", f"198.51.100.{20 + i}"),
            "language": language,
            **FULL,
            "industry_other": None,
            "ai_uses_other": None,
            "comment": None,
        }
        row.update(
            {
                key: value
                for key, value in changes.items()
                if key not in ("same_second", "ip", "started_micro", "partial")
            }
        )
        if changes.get("partial"):
            row["submitted_at"] = None
        rows.append(row)
    schema = {
        "respondent": pl.Int64, "started_at": pl.Datetime("us", "UTC"), "submitted_at": pl.Datetime("us", "UTC"),
        "email": pl.Utf8, "ip_address": pl.Utf8, "language": pl.Utf8,
        **{code: pl.List(pl.Utf8) if code in MULTI else pl.Utf8 for code in FULL},
        "industry_other": pl.Utf8, "ai_uses_other": pl.Utf8, "comment": pl.Utf8,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)
