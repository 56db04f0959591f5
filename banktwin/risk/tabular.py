"""Reading a labelled table a bank already has: CSV (``.csv``, ``.csv.gz``) or Parquet.

The file has one row per customer (and as-of date), a label column saying whether the loss
event happened, optionally an id column and a time column; every other column is a candidate
feature (:mod:`banktwin.risk.schema` decides which are usable). Errors name the command-line
option and the column, so a person can fix the call: :class:`TableInputError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from banktwin.errors import BanktwinError
from banktwin.risk.schema import category_key, category_keys

SUFFIXES: Final = (".csv", ".csv.gz", ".parquet", ".pq")
_OBVIOUS: Final = (("1", "0"), ("true", "false"), ("yes", "no"), ("y", "n"))
"""Two-valued labels whose positive needs no ``--positive``: (positive, negative)."""


class TableInputError(BanktwinError):
    """The table or an option naming its columns cannot be used; the message says which."""


@dataclass(frozen=True)
class LabelledTable:
    """A table split into features, labels, ids and (optionally) its time span."""

    features: pd.DataFrame
    """Every column but the label, id and time columns."""
    labels: np.ndarray
    """True where the loss event happened."""
    ids: tuple[str, ...]
    """The id column's values, or the row numbers in the file (from 0) without one."""
    positive: str
    """The label value read as the loss event."""
    window: tuple[datetime, datetime] | None
    """The time column's first and last moment (UTC), when there is one."""
    unlabelled: int
    """Rows left out because their label was missing."""


def read_table(path: Path) -> pd.DataFrame:
    """The file as a DataFrame, its format chosen by extension.

    Raises:
        TableInputError: no such file, an unknown extension, or a file that cannot be parsed.
    """
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise TableInputError(f"--data: {path}: use a .csv, .csv.gz or .parquet file")
    if not path.is_file():
        raise TableInputError(f"--data: no file {path}")
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        return pd.read_csv(path, low_memory=False)
    except (OSError, ValueError, ImportError) as exc:
        raise TableInputError(f"--data: cannot read {path}: {exc}") from None


def split_table(
    table: pd.DataFrame,
    *,
    label: str,
    id_column: str | None = None,
    positive: str | None = None,
    time_column: str | None = None,
) -> LabelledTable:
    """Separate the label, id and time columns from the features.

    Args:
        table: as read by :func:`read_table`.
        label: the label column.
        id_column: a column identifying each row (unique, never empty).
        positive: the label value that means the loss event; needed unless the label is
            boolean, 0/1, true/false, yes/no or y/n.
        time_column: a column of dates or times (naive ones are UTC): the rows' time span.

    Raises:
        TableInputError: naming ``--label``, ``--positive``, ``--id`` or ``--time`` and what is
            wrong with it.
    """
    columns = [str(c) for c in table.columns]
    for option, column in (("--label", label), ("--id", id_column), ("--time", time_column)):
        if column is not None and column not in table.columns:
            raise TableInputError(
                f"{option}: no column {column!r} in the table (columns: {_listed(columns)})"
            )
    roles = [c for c in (label, id_column, time_column) if c is not None]
    if len(set(roles)) != len(roles):
        raise TableInputError("--label, --id and --time must name different columns")
    keys = np.asarray(category_keys(table[label].to_numpy(dtype=object)), dtype=object)
    labelled = np.asarray([k is not None for k in keys])
    if not labelled.any():
        raise TableInputError(f"--label: column {label!r} has no value in any row")
    chosen = _positive(label, keys[labelled], positive)
    kept = table.loc[labelled].reset_index(drop=True)
    row_numbers = np.flatnonzero(labelled)
    ids = _ids(kept, id_column) if id_column else tuple(str(i) for i in row_numbers)
    window = _window(kept, time_column) if time_column else None
    features = kept.drop(columns=roles)
    return LabelledTable(
        features=features,
        labels=keys[labelled] == chosen,
        ids=ids,
        positive=chosen,
        window=window,
        unlabelled=int((~labelled).sum()),
    )


def _listed(values: list[str], limit: int = 20) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" … ({len(values)} in all)" if len(values) > limit else "")


def _positive(label: str, keys: np.ndarray, positive: str | None) -> str:
    values = sorted(set(keys.tolist()))
    if positive is not None:
        wanted = category_key(positive)
        if wanted not in values:
            raise TableInputError(
                f"--positive: {positive!r} is not a value of column {label!r} "
                f"(values: {_listed(values)})"
            )
        return str(wanted)
    if len(values) > 2:
        raise TableInputError(
            f"--label: column {label!r} has {len(values)} values ({_listed(values)}): a label "
            "has two; say which means the loss event with --positive (the others are negative)"
        )
    lowered = {v.lower(): v for v in values}
    for yes, no in _OBVIOUS:
        if set(lowered) <= {yes, no}:
            if yes not in lowered:
                raise TableInputError(
                    f"--label: column {label!r} has no positive row ({yes!r}): nothing to learn"
                )
            return str(lowered[yes])
    raise TableInputError(
        f"--positive: say which value of column {label!r} means the loss event "
        f"(values: {_listed(values)})"
    )


def _ids(table: pd.DataFrame, column: str) -> tuple[str, ...]:
    keys = category_keys(table[column].to_numpy(dtype=object))
    empty = sum(k is None for k in keys)
    if empty:
        raise TableInputError(f"--id: column {column!r} is empty in {empty:,} labelled rows")
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise TableInputError(
                f"--id: column {column!r} is not unique ({key!r} is in more than one row)"
            )
        seen.add(key)  # type: ignore[arg-type]
    return tuple(keys)  # type: ignore[arg-type]


def _window(table: pd.DataFrame, column: str) -> tuple[datetime, datetime]:
    try:
        times = pd.to_datetime(table[column], utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise TableInputError(f"--time: column {column!r} cannot be read as dates: {exc}") from None
    present = times.dropna()
    if present.empty:
        raise TableInputError(f"--time: column {column!r} has no date in any labelled row")
    return present.min().to_pydatetime(), present.max().to_pydatetime()
