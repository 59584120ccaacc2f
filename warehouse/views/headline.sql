-- headline: one row per published figure, in the report's order.
-- The report's figures next to the recomputed ones, for a quick look after a run.
with figures as (
    select wave, id, question, answers, segment, published_pct, computed_pct, diff_pts,
           base_n, ci_low, ci_high, status, contradiction
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
        round(diff_pts, 1) as diff_pts,
        base_n,
        round(ci_low, 1) as ci_low,
        round(ci_high, 1) as ci_high,
        status,
        contradiction
    from figures
)

select * from final order by wave, id
