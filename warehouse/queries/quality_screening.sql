-- One row per screening flag: how many responses carry it and whether it excludes them (the screening view).
select * from screening
