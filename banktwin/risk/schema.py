"""Which columns of a labelled table are features, and of which kind.

A bank's own table comes with whatever columns it has: numbers (balances, days past due),
flags, and categories (product, region, employment). :func:`infer_features` decides, from the
column types alone, which are numeric and which categorical, and leaves out what a model cannot
use as it is (dates, identifiers, empty or constant columns), saying why. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

NUMERIC: Final = "numeric"
CATEGORICAL: Final = "categorical"
FeatureKind = Literal["numeric", "categorical"]

IDENTIFIER_SHARE: Final = 0.9
"""A text column whose values are this unique (and more than :data:`IDENTIFIER_MIN_LEVELS`)
names rows rather than describing them: an account number, a name. It is left out."""
IDENTIFIER_MIN_LEVELS: Final = 50


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One input of the model: a column of the table and how it is read."""

    name: str
    kind: FeatureKind
    """``numeric`` (numbers and flags; missing is NaN) or ``categorical`` (any values, compared
    as text: see :func:`category_key`)."""
    monotone: int = 0
    """+1: the risk may only rise with the value; -1: only fall; 0: free. Numeric only, and
    only the gradient-boosted candidate honours it."""


@dataclass(frozen=True, slots=True)
class TableSchema:
    """The features a table gives, and the columns left out with the reason."""

    features: tuple[FeatureSpec, ...]
    ignored: tuple[tuple[str, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)


def category_key(value: object) -> str | None:
    """A categorical value as the text it is compared by; ``None`` when it is missing.

    Missing is ``None``, NaN, ``pd.NA`` or ``NaT``. An integral float is written as the integer
    (a code read as ``2.0`` from a column with gaps matches ``2``); booleans as ``true`` and
    ``false``; anything else as ``str(value)``.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        if number.is_integer():
            return str(int(number))
        return repr(number)
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value)


def category_keys(values: Iterable[object]) -> list[str | None]:
    """:func:`category_key` of every value."""
    return [category_key(v) for v in values]


def infer_features(
    table: pd.DataFrame,
    *,
    categorical: Sequence[str] = (),
    exclude: Sequence[str] = (),
    monotone: dict[str, int] | None = None,
) -> TableSchema:
    """The features of ``table``: every column but those excluded or unusable.

    Numbers and booleans are numeric, text and pandas categories categorical; a numeric
    column named in ``categorical`` is read as categories (codes such as a region number).
    Left out, with the reason: dates and durations (derive a number from them, e.g. days
    since), columns with no value or a single one, and text columns that look like identifiers
    (see :data:`IDENTIFIER_SHARE`).

    Args:
        table: the rows, one column per candidate feature (the label and id already removed).
        categorical: columns to read as categories whatever their type.
        exclude: columns that are not features.
        monotone: column -> +1 or -1, a constraint on a numeric feature (see
            :attr:`FeatureSpec.monotone`).

    Raises:
        ValueError: a column named in ``categorical``, ``exclude`` or ``monotone`` is not in the
            table, a monotone value is not +1 or -1, or a monotone column is not numeric; the
            message names the column.
    """
    constraints = dict(monotone or {})
    for role, names in (
        ("categorical", categorical),
        ("exclude", exclude),
        ("monotone", constraints),
    ):
        missing = [n for n in names if n not in table.columns]
        if missing:
            raise ValueError(f"{role}: no column {', '.join(map(repr, missing))} in the table")
    for name, sign in constraints.items():
        if sign not in (-1, 1):
            raise ValueError(f"monotone: {name!r} must be +1 or -1, not {sign}")
    features: list[FeatureSpec] = []
    ignored: list[tuple[str, str]] = []
    for name in table.columns:
        column = table[name]
        if name in exclude:
            ignored.append((str(name), "excluded"))
            continue
        kind, reason = _kind_of(column, forced=name in categorical)
        if kind is None:
            ignored.append((str(name), reason))
            continue
        sign = constraints.get(str(name), 0)
        if sign and kind != NUMERIC:
            raise ValueError(f"monotone: {name!r} is categorical; constrain numeric columns only")
        features.append(FeatureSpec(str(name), kind, sign))
    return TableSchema(tuple(features), tuple(ignored))


def _kind_of(column: pd.Series, *, forced: bool) -> tuple[FeatureKind | None, str]:
    dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return None, "a date or duration: derive a number from it (e.g. days since)"
    present = column.dropna()
    if present.empty:
        return None, "no value in any row"
    numeric = pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
    levels = present.nunique()
    if levels < 2 and len(present) == len(column):
        return None, "the same value in every row"
    if numeric and not forced:
        return NUMERIC, ""
    if not numeric and levels > IDENTIFIER_MIN_LEVELS and levels >= IDENTIFIER_SHARE * len(present):
        return None, f"{levels:,} distinct values in {len(present):,} rows: an identifier?"
    return CATEGORICAL, ""
