-- The published figures of one wave (? = wave), by id: the columns of claims_checked.
select id, question, answers, segment, published_pct, computed_pct, ci_low, ci_high, base_n, status, contradiction
from claims
where wave = ?
order by id
