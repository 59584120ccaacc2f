-- The live warehouse's files: one row per file ingested (SHA-256, ingestion order, status).
select file_sha256, file_order, status
from files
order by file_order
