-- One row per live response listed in the registered frame `replaced` (wave, source_tool,
-- response_id): its row of responses with its choices, what a night takes out of the
-- crosstab's sums when it replaces the row (surveyhouse/incremental.py).
select r.*, c.* exclude (wave, source_tool, response_id)
from responses as r
left join choices as c using (wave, source_tool, response_id)
semi join replaced using (wave, source_tool, response_id)
