-- One row per file ever ingested, in ingestion order: its tool, layout, status, row counts and message.
select source_file, source_tool, layout, status, rows_read, accepted, quarantined, superseded, message
from files
order by file_order
