"""A table, given as a DataFrame or a mapping of column -> values, as one array per feature.

Serving scores one customer at a time, so this path avoids pandas for a mapping: a row given
as ``{"income": 52000.0, "region": "north"}`` (scalars) or as ``{"income": [52000.0], …}``
becomes arrays of one value in microseconds. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from banktwin.risk.schema import NUMERIC, FeatureSpec, category_keys

Table = pd.DataFrame | Mapping[str, Any]
"""Rows to score: a DataFrame, or a mapping of column -> sequence (or -> scalar: one row)."""
Columns = dict[str, np.ndarray]
"""One array per feature: float64 (NaN when missing) for numeric ones, an object array of
category keys (``str`` or ``None``) for categorical ones."""


def feature_columns(table: Table, features: Sequence[FeatureSpec]) -> Columns:
    """The features' columns of ``table`` (other columns are ignored).

    Raises:
        ValueError: a feature's column is missing, the columns differ in length, or a numeric
            column holds something that is not a number; the message names the column.
    """
    absent = [f.name for f in features if f.name not in table]
    if absent:
        raise ValueError(f"the table has no column {', '.join(map(repr, absent))}")
    out: Columns = {}
    length: int | None = None
    for spec in features:
        raw = table[spec.name]
        values = _numeric(spec.name, raw) if spec.kind == NUMERIC else _categorical(raw)
        if length is None:
            length = values.shape[0]
        elif values.shape[0] != length:
            raise ValueError(
                f"column {spec.name!r} has {values.shape[0]} values where the others have {length}"
            )
        out[spec.name] = values
    return out


def row_count(columns: Columns) -> int:
    """The number of rows of ``columns`` (0 when there is no column)."""
    for values in columns.values():
        return int(values.shape[0])
    return 0


def take(columns: Columns, rows: np.ndarray) -> Columns:
    """The rows ``rows`` (indices or a boolean mask) of every column."""
    return {name: values[rows] for name, values in columns.items()}


def _is_scalar(raw: object) -> bool:
    return not isinstance(
        raw, pd.Series | np.ndarray | list | tuple | pd.api.extensions.ExtensionArray
    )


def _values(raw: object) -> Sequence[Any]:
    """A column's values; a scalar is one row's."""
    return [raw] if _is_scalar(raw) else cast(Sequence[Any], raw)


def _numeric(name: str, raw: object) -> np.ndarray:
    if isinstance(raw, pd.Series):
        if pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
            return raw.to_numpy(dtype=np.float64, na_value=np.nan)
        raw = raw.to_numpy(dtype=object)
    values = _values(raw)
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        pass
    converted = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        if value is None or value is pd.NA or value is pd.NaT:
            converted[i] = np.nan
            continue
        try:
            converted[i] = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"column {name!r}: {value!r} is not a number (the model reads it as numeric)"
            ) from None
    return converted


def _categorical(raw: object) -> np.ndarray:
    if isinstance(raw, pd.Series):
        raw = raw.to_numpy(dtype=object)
    keys = np.empty(len(_values(raw)), dtype=np.object_)
    keys[:] = category_keys(_values(raw))
    return keys
