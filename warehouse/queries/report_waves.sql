-- The waves the report can show: one row per wave in the crosstab (wave), oldest first.
select distinct wave
from crosstab
order by wave
