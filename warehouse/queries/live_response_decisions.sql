-- One row per live response: its key, its screening flags, is_excluded and weight (what a night
-- decides anew for a response whose version it keeps: surveyhouse/incremental.py).
select
    wave, source_tool, response_id,
    is_speeder, is_straightliner, is_attention_failed, is_duplicate, is_gibberish,
    is_excluded, weight
from responses
