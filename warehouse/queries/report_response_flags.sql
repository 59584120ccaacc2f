-- The screening flags of one wave (? = wave): one row per response, its is_* columns (is_excluded and each flag).
select columns('^is_')
from responses
where wave = ?
