-- screening: one row per wave and quality flag.
-- How many responses each screening flag caught, and how many of them are excluded from bases.
with flags as (
    unpivot (
        select wave, is_excluded, is_speeder, is_straightliner, is_attention_failed, is_duplicate, is_gibberish
        from responses
    )
    on is_speeder, is_straightliner, is_attention_failed, is_duplicate, is_gibberish
    into name flag value is_flagged
),

final as (
    select
        wave,
        flag, -- The quality flag: a flag column of responses (is_speeder, is_straightliner...).
        count(*) filter (where is_flagged) as responses_flagged, -- Responses of the wave the flag caught.
        count(*) filter (where is_flagged and is_excluded) as responses_excluded, -- Of those, responses left out of every base.
        count(*) as responses -- Responses of the wave (accepted, screened or not).
    from flags
    group by wave, flag
)

select * from final order by wave, flag
