-- One row per file and failed check, with a count and up to three examples (the quality_examples view).
select * from quality_examples
