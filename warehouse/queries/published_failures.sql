-- The published quarantine's failures of input rows (one row each): to count a run's new failures only.
-- A warehouse published before the rename names check_name and column_name "check" and "column".
select source_file, source_row, response_id, columns('^(column_name|column)$'), columns('^(check_name|check)$')
from quarantine
where source_row is not null
