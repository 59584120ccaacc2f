-- The published quarantine's failures of input rows (one row each): to count a run's new failures only.
select source_file, source_row, response_id, "column", "check"
from quarantine
where source_row is not null
