-- One row per published figure (claim), by id: the published and recomputed percentages, the
-- 95% interval, the base, the status and the contradiction it is part of, if any.
select id, question, answers, segment, published_pct, computed_pct, ci_low, ci_high, base_n, status, contradiction
from claims
order by id
