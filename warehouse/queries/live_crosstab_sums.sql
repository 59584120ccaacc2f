-- The live crosstab's sums: one row per wave, combination of segment values and exclusion, one
-- count per cell (transforms/crosstab.py crosstab_sums), kept by the build for the next night.
select * from _build.crosstab_sums
