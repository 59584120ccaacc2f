-- The checks that quarantined rows: one row per quarantined row and failed check (source_file, check).
select source_file, check_name as "check"
from quarantine
