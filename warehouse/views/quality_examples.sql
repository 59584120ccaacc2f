-- quality_examples: one row per file and failed check, with a count and up to three examples.
-- What the data-quality summary shows: which check rejected how many rows of which file, and where to look.
with failures as (
    select
        source_file,
        "check",
        source_row,
        "column",
        failure_case,
        message,
        row_number() over (partition by source_file, "check" order by source_row) as example_rank
    from quarantine
),

counted as (
    select source_file, "check", count(distinct source_row) as rows_failed
    from failures
    group by source_file, "check"
),

examples as (
    select
        source_file,
        "check",
        string_agg(
            coalesce('row ' || source_row::varchar || ': ', '') || message, ' | ' order by source_row
        ) as examples
    from failures
    where example_rank <= 3
    group by source_file, "check"
),

final as (
    select counted.source_file, counted."check", counted.rows_failed, examples.examples
    from counted
    join examples using (source_file, "check")
)

select * from final order by source_file, "check"
