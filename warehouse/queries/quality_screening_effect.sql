-- One row per published figure, largest screening effect first, at most ten: how the figure would move
-- if the excluded responses were counted.
select id, question, answers, segment, computed_pct, unscreened_pct, screening_effect_pts
from screening_effect
limit 10
