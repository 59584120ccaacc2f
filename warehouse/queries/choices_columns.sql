-- The columns of the choices table and their types, one row each (to tell whether its rows can be kept).
describe choices
