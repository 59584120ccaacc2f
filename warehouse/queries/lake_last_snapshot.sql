-- When the DuckLake attached as `lake` last committed: one row (snapshot_time, null before any snapshot).
select max(snapshot_time) as snapshot_time
from lake.snapshots()
