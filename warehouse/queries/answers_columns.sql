-- The columns of the answers table and their types, one row each (to tell whether its rows can be kept).
describe answers
