-- The files read for one wave (? = wave): one row per file (every column of files), in reading order.
select *
from files
where wave = ?
order by file_order
