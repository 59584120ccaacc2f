-- The change of every crosstab row of one wave (? = wave) since the previous wave: one row per question,
-- answer, segment and segment value that trend holds (every column of trend).
select *
from trend
where wave = ?
