-- screening_effect: one row per published figure, largest effect first.
-- How each headline figure would move if the screened-out responses were counted.
with figures as (
    select wave, id, question, answers, segment, published_pct, computed_pct, unscreened_pct, screening_effect_pts, status
    from claims
),

final as (
    select
        wave,
        id,
        question,
        answers,
        segment,
        published_pct,
        round(computed_pct, 1) as computed_pct,
        round(unscreened_pct, 1) as unscreened_pct,
        round(screening_effect_pts, 2) as screening_effect_pts,
        status
    from figures
)

select * from final order by abs(screening_effect_pts) desc nulls last, id
