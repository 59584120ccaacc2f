-- The responses of the published warehouse in one row: how many are excluded and how many carry
-- each screening flag, zeros when there are none.
select
    coalesce(sum(is_excluded::int), 0) as excluded,
    coalesce(sum(is_speeder::int), 0) as speeders,
    coalesce(sum(is_straightliner::int), 0) as straightliners,
    coalesce(sum(is_attention_failed::int), 0) as attention_failed,
    coalesce(sum(is_duplicate::int), 0) as duplicates,
    coalesce(sum(is_gibberish::int), 0) as gibberish
from responses
