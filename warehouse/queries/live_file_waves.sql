-- The live warehouse's files and their waves: one row per file ingested (SHA-256, wave).
select file_sha256, wave
from files
order by file_order
