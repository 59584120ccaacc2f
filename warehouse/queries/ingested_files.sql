-- Every file the warehouse was built from, one row each, in ingestion order (what a rebuild re-stages).
select *
from files
order by file_order
