-- The published figures of every wave: one row per claim (every column of claims), in id order.
select *
from claims
order by id
