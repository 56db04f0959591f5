"""Read a labelled transaction table (CSV or Parquet) for a backtest, streamed in batches.

``--columns`` maps the roles a backtest needs to the table's own column names
(``id=TRANSACTION_ID,customer=CUSTOMER_ID,...``). The reader keeps only those columns and
turns them into compact numpy arrays: times in microseconds (UTC), amounts in cents, entity
keys as integer codes (the table's ids may be anything: the engine's events get ids made from
the codes, which are always valid identifiers). The original ids are kept as they are, for the
scores file.

Every problem with the input is a :class:`BacktestInputError` whose message names the option
or the column, so the CLI can print it and exit 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from banktwin.domain.payloads.account import Channel
from banktwin.errors import BanktwinError

REQUIRED_ROLES: Final = ("id", "customer", "terminal", "amount", "timestamp", "label")
OPTIONAL_ROLES: Final = ("card", "merchant", "category", "channel", "label_time")
KEY_ROLES: Final = ("customer", "card", "terminal", "merchant", "category")
CHANNELS: Final = tuple(Channel)
"""Channel codes index this tuple."""
_TRUE = ("1", "true", "t", "yes", "y", "1.0")
_FALSE = ("0", "false", "f", "no", "n", "0.0")
_BATCH_ROWS = 256_000
_CSV_BLOCK = 16 << 20

Progress = Callable[[int, int | None], None]
"""``progress(done, total)``: units read so far (bytes of a CSV, rows of a Parquet file)."""


class BacktestInputError(BanktwinError):
    """The backtest's input cannot be used; the message names the option or column."""


@dataclass(frozen=True, slots=True)
class TransactionTable:
    """The columns a backtest uses, one entry per row of the file, in file order."""

    ids: pa.ChunkedArray
    """The table's transaction ids, untouched."""
    times: np.ndarray
    """int64 microseconds since the epoch, UTC."""
    customers: np.ndarray
    """int64 codes (0..n-1) of the customers; the other key columns likewise, -1 for none."""
    cards: np.ndarray | None
    terminals: np.ndarray
    merchants: np.ndarray | None
    categories: np.ndarray | None
    channels: np.ndarray | None
    """int8 indexes into :data:`CHANNELS`."""
    cents: np.ndarray
    """int64 amounts in cents (all positive)."""
    labels: np.ndarray
    """bool: the transaction is fraud."""
    label_times: np.ndarray | None
    """int64 microseconds when the fraud was reported, -1 where unknown or not a fraud."""

    def __len__(self) -> int:
        return int(self.times.size)


def parse_columns(text: str) -> dict[str, str]:
    """``role=COLUMN,...`` as a mapping; every required role must be there."""
    mapping: dict[str, str] = {}
    known = REQUIRED_ROLES + OPTIONAL_ROLES
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, column = (s.strip() for s in part.partition("="))
        if not sep or not role or not column:
            raise BacktestInputError(f"--columns: {part!r} is not role=COLUMN")
        if role not in known:
            raise BacktestInputError(
                f"--columns: unknown role {role!r}; the roles are {', '.join(known)}"
            )
        if role in mapping:
            raise BacktestInputError(f"--columns: {role} is given twice")
        mapping[role] = column
    missing = [role for role in REQUIRED_ROLES if role not in mapping]
    if missing:
        raise BacktestInputError(
            f"--columns: missing {', '.join(missing)} (required: "
            f"{', '.join(f'{r}=COLUMN' for r in REQUIRED_ROLES)}; optional: "
            f"{', '.join(OPTIONAL_ROLES)})"
        )
    return mapping


def read_table(
    path: Path, columns: Mapping[str, str], progress: Progress | None = None
) -> TransactionTable:
    """Read the mapped columns of a CSV (``.csv``, ``.csv.gz``) or Parquet file in batches.

    Raises:
        BacktestInputError: the file cannot be read, a column is missing, or a value cannot
            be used (named with its column and row).
    """
    batches = _batches(path, columns)
    chunks: dict[str, list[pa.Array]] = {role: [] for role in columns}
    times: list[np.ndarray] = []
    label_times: list[np.ndarray] = []
    row = 0
    for batch, done, total in batches:
        for role, column in columns.items():
            values = batch.column(column)
            if role == "timestamp":
                times.append(_micros(values, role, column, row, nullable=False))
            elif role == "label_time":
                label_times.append(_micros(values, role, column, row, nullable=True))
            else:
                chunks[role].append(values)
        row += batch.num_rows
        if progress is not None:
            progress(done, total)
    if row == 0:
        raise BacktestInputError(f"--transactions: {path} has no rows")
    codes = {role: _codes(pa.chunked_array(chunks[role])) for role in KEY_ROLES if role in columns}
    labels = _labels(pa.chunked_array(chunks["label"]), columns["label"])
    reported = np.concatenate(label_times) if label_times else None
    if reported is not None:
        reported[~labels] = -1
    return TransactionTable(
        ids=pa.chunked_array(chunks["id"]),
        times=np.concatenate(times),
        customers=_required(codes["customer"], "customer", columns),
        cards=codes.get("card"),
        terminals=codes["terminal"],
        merchants=codes.get("merchant"),
        categories=codes.get("category"),
        channels=_channels(pa.chunked_array(chunks["channel"]), columns["channel"])
        if "channel" in columns
        else None,
        cents=_cents(pa.chunked_array(chunks["amount"]), columns["amount"]),
        labels=labels,
        label_times=reported,
    )


def _batches(
    path: Path, columns: Mapping[str, str]
) -> Iterator[tuple[pa.RecordBatch, int, int | None]]:
    if not path.is_file():
        raise BacktestInputError(f"--transactions: no such file: {path}")
    name = path.name.lower()
    wanted = sorted(set(columns.values()))
    try:
        if name.endswith((".parquet", ".pq")):
            return _parquet_batches(path, columns, wanted)
        if name.endswith((".csv", ".csv.gz")):
            return _csv_batches(path, columns, wanted)
    except (pa.ArrowException, OSError) as exc:
        raise BacktestInputError(
            f"--transactions: cannot read {path}: {_first_line(exc)}"
        ) from None
    raise BacktestInputError(
        f"--transactions: {path}: give a .csv, .csv.gz or .parquet file (read by extension)"
    )


def _check_present(path: Path, present: list[str], columns: Mapping[str, str]) -> None:
    for role, column in columns.items():
        if column not in present:
            shown = ", ".join(present[:30]) + (", ..." if len(present) > 30 else "")
            raise BacktestInputError(
                f"--columns: {role}={column}: {path.name} has no column {column!r} "
                f"(its columns: {shown})"
            )


def _parquet_batches(
    path: Path, columns: Mapping[str, str], wanted: list[str]
) -> Iterator[tuple[pa.RecordBatch, int, int | None]]:
    source = pq.ParquetFile(path)
    _check_present(path, source.schema_arrow.names, columns)
    total = source.metadata.num_rows
    return _guarded(path, _parquet_iter(source, wanted, total))


def _parquet_iter(
    source: pq.ParquetFile, wanted: list[str], total: int
) -> Iterator[tuple[pa.RecordBatch, int, int | None]]:
    done = 0
    for batch in source.iter_batches(batch_size=_BATCH_ROWS, columns=wanted):
        done += batch.num_rows
        yield batch, done, total


def _csv_batches(
    path: Path, columns: Mapping[str, str], wanted: list[str]
) -> Iterator[tuple[pa.RecordBatch, int, int | None]]:
    with _open_csv(path, None, {}) as (probe, _):
        _check_present(path, probe.schema.names, columns)
    # Keys and times are read as text and converted here, the same way in every batch
    # (type inference looks at the first block only: a later block could fail to convert).
    types = {
        column: (pa.float64() if role == "amount" else pa.string())
        for role, column in columns.items()
    }
    return _guarded(path, _csv_iter(path, wanted, types))


@contextmanager
def _open_csv(
    path: Path, wanted: list[str] | None, types: dict[str, pa.DataType]
) -> Iterator[tuple[pa_csv.CSVStreamingReader, pa.NativeFile]]:
    """A streaming reader, and the file under it (whose position tells the progress)."""
    with pa.OSFile(str(path)) as raw:
        gzipped = path.name.lower().endswith(".gz")
        stream = pa.CompressedInputStream(raw, "gzip") if gzipped else raw
        convert = pa_csv.ConvertOptions(
            include_columns=wanted, column_types=types, strings_can_be_null=True
        )
        reader = pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(block_size=_CSV_BLOCK),
            convert_options=convert,
        )
        yield reader, raw


def _csv_iter(
    path: Path, wanted: list[str], types: dict[str, pa.DataType]
) -> Iterator[tuple[pa.RecordBatch, int, int | None]]:
    size = path.stat().st_size
    with _open_csv(path, wanted, types) as (reader, raw):
        for batch in reader:
            yield batch, min(size, raw.tell()), size


def _guarded(
    path: Path, batches: Iterator[tuple[pa.RecordBatch, int, int | None]]
) -> Iterator[tuple[pa.RecordBatch, int, int | None]]:
    try:
        yield from batches
    except (pa.ArrowException, OSError) as exc:
        raise BacktestInputError(
            f"--transactions: cannot read {path}: {_first_line(exc)}"
        ) from None


def _unreadable(path: Path, exc: BaseException) -> BacktestInputError:
    return BacktestInputError(f"--transactions: cannot read {path}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _where(mask: np.ndarray, first_row: int) -> str:
    bad = np.flatnonzero(mask)
    return f"{bad.size} rows (the first is data row {first_row + int(bad[0]) + 1})"


def _micros(
    values: pa.Array, role: str, column: str, first_row: int, *, nullable: bool
) -> np.ndarray:
    """Times as int64 µs UTC, -1 for none (where ``nullable``)."""
    try:
        stamps = _timestamps(values)
    except (pa.ArrowException, ValueError) as exc:
        sample = next((v for v in values.to_pylist() if v is not None), None)
        raise BacktestInputError(
            f"--columns: {role}={column}: cannot read {sample!r} as a time "
            f"({_first_line(exc)}); give ISO 8601 (2018-04-01 10:00:00, optionally with Z or "
            "+02:00), a timestamp column or seconds since the epoch"
        ) from None
    missing = np.asarray(stamps.is_null())
    if missing.any() and not nullable:
        raise BacktestInputError(
            f"--columns: {role}={column}: no time in {_where(missing, first_row)}"
        )
    return np.asarray(pc.fill_null(pc.cast(stamps, pa.int64()), -1), dtype=np.int64)


def _timestamps(values: pa.Array) -> pa.Array:
    """Timestamps in µs: a timestamp column (without a zone: UTC), dates, ISO 8601 text (with
    or without an offset), or numbers of seconds since the epoch."""
    kind = values.type
    if pa.types.is_timestamp(kind):
        return pc.cast(values, pa.timestamp("us", tz=kind.tz), safe=False)
    if pa.types.is_date(kind):
        return pc.cast(values, pa.timestamp("us"))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return _seconds(values)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise ValueError(f"a {kind} column is not a time")
    text = pc.utf8_trim_whitespace(values)
    for target in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:
            return pc.cast(text, target)
        except pa.ArrowInvalid:
            continue
    try:
        return _seconds(pc.cast(text, pa.float64()))
    except pa.ArrowInvalid:
        return pc.cast(text, pa.timestamp("us"))  # raises, with Arrow's reason


def _seconds(values: pa.Array) -> pa.Array:
    micros = pc.multiply(pc.cast(values, pa.float64()), 1e6)
    return pc.cast(pc.cast(micros, pa.int64(), safe=False), pa.timestamp("us"))


def _codes(values: pa.ChunkedArray) -> np.ndarray:
    """Integer codes of the distinct values (in order of first appearance), -1 for null."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = pc.cast(values, pa.string())
    encoded = pc.dictionary_encode(values.combine_chunks())
    return np.asarray(pc.fill_null(encoded.indices, -1).cast(pa.int64()), dtype=np.int64)


def _required(codes: np.ndarray, role: str, columns: Mapping[str, str]) -> np.ndarray:
    missing = codes < 0
    if missing.any():
        raise BacktestInputError(
            f"--columns: {role}={columns[role]}: empty in {_where(missing, 0)}"
        )
    return codes


def _cents(values: pa.ChunkedArray, column: str) -> np.ndarray:
    try:
        amounts = pc.cast(values, pa.float64())
    except pa.ArrowInvalid as exc:
        raise BacktestInputError(
            f"--columns: amount={column}: not a number ({_first_line(exc)})"
        ) from None
    numbers = np.asarray(pc.fill_null(amounts, np.nan), dtype=np.float64)
    bad = ~(numbers > 0) | ~np.isfinite(numbers)
    if bad.any():
        raise BacktestInputError(
            f"--columns: amount={column}: missing, zero or negative amount in "
            f"{_where(bad, 0)}; a backtest scores debits of a positive amount (filter the "
            "others out first)"
        )
    return np.rint(numbers * 100).astype(np.int64)


def _labels(values: pa.ChunkedArray, column: str) -> np.ndarray:
    kind = values.type
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        if values.null_count:
            missing = np.asarray(values.is_null())
            raise BacktestInputError(f"--columns: label={column}: empty in {_where(missing, 0)}")
        flags: np.ndarray = np.asarray(pc.cast(values, pa.float64()), dtype=np.float64) != 0
        return flags
    text = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(values, pa.string())))
    true = np.asarray(pc.fill_null(pc.is_in(text, pa.array(_TRUE)), False))
    false = np.asarray(pc.fill_null(pc.is_in(text, pa.array(_FALSE)), False))
    bad = ~(true | false)
    if bad.any():
        first = text[int(np.flatnonzero(bad)[0])].as_py()
        raise BacktestInputError(
            f"--columns: label={column}: {first!r} is not a label in {_where(bad, 0)}; "
            "give 1/0 or true/false"
        )
    return true


def _channels(values: pa.ChunkedArray, column: str) -> np.ndarray:
    text = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(values, pa.string())))
    index = pc.index_in(text, pa.array([c.value for c in CHANNELS]))
    missing = np.asarray(index.is_null())
    if missing.any():
        first = text[int(np.flatnonzero(missing)[0])].as_py()
        raise BacktestInputError(
            f"--columns: channel={column}: {first!r} is not a channel in {_where(missing, 0)}; "
            f"the channels are {', '.join(c.value for c in CHANNELS)}"
        )
    return np.asarray(index, dtype=np.int8)
