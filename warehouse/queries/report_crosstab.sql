-- The crosstab of one wave (? = wave): one row per question, answer, segment and segment value.
select *
from crosstab
where wave = ?
