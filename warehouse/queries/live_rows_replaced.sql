-- One row per live response listed in the registered frame `replaced` (wave, source_tool,
-- response_id): its row of responses with its choices, what a night takes out of the
-- crosstab's sums when it replaces the row (surveyhouse/incremental.py).
with listed_responses as (
    select * from responses semi join replaced using (wave, source_tool, response_id)
),

listed_choices as (
    select * from choices semi join replaced using (wave, source_tool, response_id)
),

final as (
    select r.*, c.* exclude (wave, source_tool, response_id)
    from listed_responses as r
    left join listed_choices as c using (wave, source_tool, response_id)
)

select * from final
