-- quality: one row per file and check (plus one row per file with no failure).
-- What was wrong in the incoming data: how many rows each check rejected, per file.
with failures as (
    select source_file, check_name, count(distinct source_row) as rows_failed
    from quarantine
    group by source_file, check_name
),

final as (
    select
        files.source_file,
        files.source_tool,
        files.status,
        files.rows_read,
        files.accepted,
        files.quarantined,
        files.superseded,
        failures.check_name,
        coalesce(failures.rows_failed, 0) as rows_failed -- Rows of the file that failed the check (0 for a file with no failure).
    from files
    left join failures using (source_file)
)

select * from final order by source_file, check_name
