"""pandera's value checks of a table schema as Polars expressions: every value of a frame
checked in one pass over it, where pandera makes one for each column and check.

pandera itself still checks the columns and their types, and runs in full (naming every
failure) whenever a value fails here; a check this module cannot read as one expression is
run by pandera as it would run it. Importing it registers pandera's Polars backends, which
pandera would otherwise do (importing its data-synthesis strategies, and Hypothesis when
installed) at the first validation.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.backends.register_checks import register_default_check_backends

# The same call (and so the same cached registration) as pandera's first `validate`.
register_default_check_backends(pl.LazyFrame)


class _Selection:
    """What a check selected from the frame (``_Frame``): nothing else can be done with it."""

    def __init__(self, exprs: tuple, named: dict) -> None:
        self.exprs, self.named = exprs, named


class _Frame:
    """Stands in for the frame pandera hands a check: keeps what the check selects from it."""

    def select(self, *exprs, **named) -> _Selection:
        return _Selection(exprs, named)


def check_expression(check: pa.Check, column: str) -> pl.Expr | None:
    """The expression true where a row passes ``check`` of ``column`` as pandera counts it
    (a null result is a pass unless the check says ``ignore_na=False``); None when the check
    is not one select of one expression (pandera must run it itself)."""
    if check.element_wise:
        return None
    try:
        selected = check._check_fn(PolarsData(_Frame(), column), **check._check_kwargs)
    except Exception:  # anything the stand-in cannot do: pandera runs the check
        return None
    if not isinstance(selected, _Selection) or selected.named:
        return None
    exprs = [e for item in selected.exprs for e in (item if isinstance(item, list | tuple) else [item])]
    if len(exprs) != 1 or not isinstance(exprs[0], pl.Expr):
        return None
    result = exprs[0]
    return result.fill_null(check.ignore_na)  # a boolean: `result | result.is_null()` with ignore_na, as pandera


def value_checks(schema: pa.DataFrameSchema, types: pl.Schema) -> tuple[list[pl.Expr], list[tuple[str, pa.Check]]]:
    """What pandera checks of the values of a frame of ``types`` (its columns and types already
    the schema's) besides its columns and types: one expression per check, true when every row
    passes (not null, unique, each column's checks, the schema's unique columns); and the
    (column, check) pairs no expression stands for, in the schema's order."""
    passing: list[pl.Expr] = []
    untranslated: list[tuple[str, pa.Check]] = []
    for name, column in schema.columns.items():
        if name not in types:
            continue  # a column the schema does not require, absent: pandera checks nothing of it
        value = pl.col(name)
        if not column.nullable:
            present = value.is_not_null() & value.is_not_nan() if types[name].is_float() else value.is_not_null()
            passing.append(present.all())
        if column.unique:
            passing.append(~value.is_duplicated().any())
        translated, others = column_checks(column, name)
        passing += translated
        untranslated += [(name, check) for check in others]
    for columns in _unique_sets(schema):
        present = [c for c in columns if c in types]
        passing.append(~pl.struct(present).is_duplicated().any())
    return passing, untranslated


def column_checks(column: pa.Column, name: str) -> tuple[list[pl.Expr], list[pa.Check]]:
    """The checks of ``column`` (named ``name``) of its own: one expression for each, true when
    every row passes it (``check_expression``), and those no expression stands for."""
    translated = [(check, check_expression(check, name)) for check in column.checks]
    return [e.all() for _, e in translated if e is not None], [check for check, e in translated if e is None]


def _unique_sets(schema: pa.DataFrameSchema) -> list[list[str]]:
    """The sets of columns the schema says are unique together (``unique``: a list, or lists)."""
    unique = schema.unique
    if not unique:
        return []
    return [list(unique)] if all(isinstance(c, str) for c in unique) else [list(c) for c in unique]


def every_value_passes(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> bool:
    """Whether every value of ``frame`` (whose columns and types pandera found to be the schema's)
    passes the schema's value checks: the translated ones in one pass (``value_checks``), any
    other run by pandera; a check that cannot run counts as failed (pandera names why)."""
    if schema.checks:
        return False  # checks of whole rows: pandera runs them (none of the warehouse's tables has any)
    passing, untranslated = value_checks(schema, frame.schema)
    try:
        return all_pass(frame, passing, untranslated)
    except Exception:  # pandera's own run names the failure
        return False


def all_pass(frame: pl.DataFrame, passing: list[pl.Expr], untranslated: list[tuple[str, pa.Check]]) -> bool:
    """Whether every expression of ``passing`` (``value_checks``, ``column_checks``) is true of
    ``frame``, all in one select, and pandera passes each (column, check) of ``untranslated``."""
    if passing and not all(frame.select(e.alias(str(i)) for i, e in enumerate(passing)).row(0)):
        return False
    return all(check(frame.lazy(), name).check_passed.collect().item() for name, check in untranslated)
