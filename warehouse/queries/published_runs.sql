-- Every published run, one row each (to bring the run log up to the warehouse).
select *
from runs
