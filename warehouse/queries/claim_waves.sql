-- The waves that have published figures: one row per wave in claims (wave), oldest first.
select distinct wave
from claims
order by wave
