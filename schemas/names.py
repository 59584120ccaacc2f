"""The names the warehouse keeps for itself: its flags, the columns of `responses` that are its
own whatever the questionnaire, and the codes no question may take. Plain data (no polars, no
pandera): the questionnaire's checks read them whenever a study is loaded, and loading one (all
that `surveyhouse study check` does) then needs no pandera (0.5 s of imports)."""

from __future__ import annotations

FLAG_DESCRIPTIONS = {
    "is_speeder": "Completed in under the speeder share (default one third) of the wave's median duration.",
    "is_straightliner": "Gave the same answer to every item of the opinions grid.",
    "is_attention_failed": "Did not answer the attention-check item as instructed.",
    "is_duplicate": "A later response of a respondent already seen (same email hash, or same IP hash with identical answers).",
    "is_gibberish": "A free-text answer is keyboard noise.",
    "is_excluded": "Left out of every base by the run's exclusion policy (runs.settings); kept here for inspection.",
}
#: The columns of `responses` that are the warehouse's own, whatever the questionnaire.
OWN_RESPONSE_COLUMNS = (
    "wave", "source_tool", "response_id", "language", "started_at", "submitted_at", "duration_s",
    *FLAG_DESCRIPTIONS, "email_hash", "ip_hash", "weight", "source_file", "source_row",
)  # fmt: skip
#: Names no question or derived segment may have: the warehouse's own columns, the columns
#: a file is read into besides its answers (``transforms.layouts.META_SCHEMA``), the column
#: that orders staged files, the run's id, and the whole-sample segment of the crosstab.
RESERVED_CODES = frozenset({*OWN_RESPONSE_COLUMNS, "is_finished", "email", "ip_address", "file_order", "run_id", "all"})
