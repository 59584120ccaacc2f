-- The last run that finished: one row (run_id, finished_at, status, settings), or none.
select run_id, finished_at, status, settings
from runs
where finished_at is not null
order by finished_at desc
limit 1
