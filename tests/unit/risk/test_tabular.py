"""Reading a bank's labelled table: formats by extension, the label's positive value, ids,
the time window, and errors that name the option and the column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from banktwin.risk.tabular import TableInputError, read_table, split_table


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "loan_id": ["L1", "L2", "L3", "L4"],
            "status": ["bad", "good", None, "good"],
            "snapshot": ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"],
            "balance": [100.0, np.nan, 30.0, 12.5],
            "region": ["n", "s", "n", None],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_csv_and_parquet_read_alike(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"loans{suffix}"
    if suffix == ".parquet":
        frame().to_parquet(path)
    else:
        frame().to_csv(path, index=False)
    table = split_table(
        read_table(path),
        label="status",
        id_column="loan_id",
        positive="bad",
        time_column="snapshot",
    )
    assert table.ids == ("L1", "L2", "L4")  # the unlabelled row is left out, and counted
    assert table.unlabelled == 1
    assert table.labels.tolist() == [True, False, False]
    assert list(table.features.columns) == ["balance", "region"]
    assert table.window == (datetime(2025, 1, 31, tzinfo=UTC), datetime(2025, 4, 30, tzinfo=UTC))


def test_obvious_labels_need_no_positive_and_rows_are_numbered_without_an_id() -> None:
    for values, positives in (
        ([0, 1, 1, 0], [False, True, True, False]),
        ([True, False, False, True], [True, False, False, True]),
        (["Yes", "no", "no", "Yes"], [True, False, False, True]),
        ([1.0, np.nan, 0.0, 1.0], [True, False, True]),
    ):
        table = split_table(pd.DataFrame({"y": values, "x": range(4)}), label="y")
        assert table.labels.tolist() == positives
    assert table.ids == ("0", "2", "3")  # row numbers in the file, gaps where unlabelled


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"label": "nope"}, "--label: no column 'nope' in the table (columns: loan_id, status"),
        ({"label": "status"}, "--positive: say which value of column 'status' means the loss"),
        ({"label": "status", "positive": "ugly"}, "--positive: 'ugly' is not a value of column"),
        ({"label": "region", "positive": "n", "id_column": "region"}, "must name different"),
        (
            {"label": "status", "positive": "bad", "id_column": "region"},
            "--id: column 'region' is empty",
        ),
        (
            {"label": "status", "positive": "bad", "time_column": "region"},
            "--time: column 'region'",
        ),
        ({"label": "balance"}, "--label: column 'balance' has 3 values"),
    ],
)
def test_errors_name_the_option_and_the_column(options: dict[str, str], message: str) -> None:
    with pytest.raises(TableInputError) as caught:
        split_table(frame(), **options)
    assert message in str(caught.value)


def test_duplicate_ids_are_refused() -> None:
    table = frame().assign(loan_id=["L1", "L1", "L2", "L3"])
    with pytest.raises(TableInputError, match="--id: column 'loan_id' is not unique"):
        split_table(table, label="status", positive="bad", id_column="loan_id")


def test_files_that_cannot_be_read_are_named(tmp_path: Path) -> None:
    with pytest.raises(TableInputError, match="--data: no file"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(TableInputError, match=r"--data: .*use a \.csv, \.csv\.gz or \.parquet"):
        read_table(tmp_path / "table.xlsx")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(TableInputError, match="--data: cannot read"):
        read_table(broken)
