-- One row: what the kept screening inputs were computed with (surveyhouse/incremental.py
-- screening_rules); a night with other rules builds whole.
select rules from _build.screening_rules
