-- quality_examples: one row per file and failed check, with a count and up to three examples.
-- What the data-quality summary shows: which check rejected how many rows of which file, and where to look.
with failures as (
    select
        source_file,
        check_name,
        source_row,
        column_name,
        failure_case,
        message,
        row_number() over (partition by source_file, check_name order by source_row) as example_rank
    from quarantine
),

counted as (
    select source_file, check_name, count(distinct source_row) as rows_failed
    from failures
    group by source_file, check_name
),

examples as (
    select
        source_file,
        check_name,
        string_agg(
            coalesce('row ' || source_row::varchar || ': ', '') || message, ' | ' order by source_row
        ) as examples
    from failures
    where example_rank <= 3
    group by source_file, check_name
),

final as (
    select
        counted.source_file,
        counted.check_name,
        counted.rows_failed, -- Rows of the file that failed the check.
        examples.examples -- Up to three failures, 'row N: message', separated by ' | ', first rows first.
    from counted
    join examples using (source_file, check_name)
)

select * from final order by source_file, check_name
