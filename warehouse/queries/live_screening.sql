-- One row per live response: its staged row, its screening inputs and flags, kept by the build
-- for the next night (surveyhouse/incremental.py decides the flags from them, reading only the
-- new files' rows), as the table keeps them (the build sorts them by staged row).
select * from _build.screening
