-- What each of the live crosstab's sums counts: one row per sum column (cell), its question,
-- answer and rule (transforms/crosstab.py crosstab_cells), kept with the sums.
select * from _build.crosstab_cells order by cell
