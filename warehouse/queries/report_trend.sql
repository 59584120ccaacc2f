-- The change of every crosstab row of one wave (? = wave) since the previous wave: one row per question,
-- answer, segment and segment value that trend holds (previous_wave, change_pts, is_significant).
select question, answer, segment, segment_value, previous_wave, change_pts, is_significant as is_change_significant
from trend
where wave = ?
