-- The files of the published warehouse in one row: how many, how many not loaded, and their rows
-- (read, accepted, quarantined, superseded), zeros when nothing was loaded.
select
    count(*) as files,
    count(*) filter (where status <> 'loaded') as not_loaded,
    coalesce(sum(rows_read), 0) as rows_read,
    coalesce(sum(accepted), 0) as accepted,
    coalesce(sum(quarantined), 0) as quarantined,
    coalesce(sum(superseded), 0) as superseded
from files
