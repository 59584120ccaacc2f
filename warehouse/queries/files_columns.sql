-- The columns of the files table and their types, one row each.
describe files
