"""The fraud backtest: end to end through the CLI, leak checks, and input errors."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pytest
from typer.testing import CliRunner

from banktwin.fraud.backtest import BacktestSpec, Window, run_backtest, usable_times
from banktwin.fraud.backtest_table import (
    BacktestInputError,
    TransactionTable,
    parse_columns,
    read_table,
)
from banktwin.fraud.cli import fraud_app
from banktwin.fraud.metrics import roc_auc
from bench.fraud_backtest_table import COLUMNS, generate_transactions, write_table

TRAIN = "2018-04-08..2018-04-27"
TEST = "2018-04-28..2018-05-04"  # 7 days: as long as the label delay
WITH_LABEL_TIME = COLUMNS + ",label_time=TX_FRAUD_REPORTED_AT"


@pytest.fixture(scope="module")
def table() -> pa.Table:
    """~12,000 transactions over 35 days, a few % fraudulent (5 times the handbook's
    compromised terminals and customers)."""
    return generate_transactions(customers=200, days=35, seed=3, compromise=5.0)


@pytest.fixture(scope="module")
def files(table: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("backtest")
    paths = {"csv": folder / "transactions.csv", "parquet": folder / "transactions.parquet"}
    for path in paths.values():
        write_table(table, path)
    return paths


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(fraud_app, ["backtest", *args])
    return result.exit_code, result.output


def spec() -> BacktestSpec:
    return BacktestSpec(train=Window.parse(TRAIN, "--train"), test=Window.parse(TEST, "--test"))


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_backtest_end_to_end_writes_metrics_and_one_score_per_test_transaction(
    kind: str, files: dict[str, Path], table: pa.Table, tmp_path: Path
) -> None:
    scores, metrics = tmp_path / "scores.csv", tmp_path / "metrics.json"
    code, output = run_cli(
        *("--transactions", str(files[kind]), "--columns", COLUMNS),
        *("--train", TRAIN, "--test", TEST, "--scores", str(scores), "--json", str(metrics)),
    )
    assert code == 0, output
    assert "average_precision" in output and "logistic (baseline)" in output

    document = json.loads(metrics.read_text())
    assert set(document["models"]) == {"lightgbm", "logistic"}
    rows = document["rows"]
    assert rows["train_frauds"] > 10 and rows["evaluated_frauds"] > 0
    assert rows["evaluated"] + rows["known_compromised"] == rows["test"]
    lightgbm = document["models"]["lightgbm"]
    assert lightgbm["roc_auc"] > 0.7 and 0 < lightgbm["average_precision"] <= 1

    with scores.open() as handle:
        written = list(csv.DictReader(handle))
    times = pc.cast(table["TX_DATETIME"], pa.int64()).to_numpy() // 1_000_000
    start, end = (Window.parse(TEST, "--test").start, Window.parse(TEST, "--test").end)
    in_test = (times * 1_000_000 >= start) & (times * 1_000_000 < end)
    assert len(written) == rows["test"] == int(in_test.sum())
    expected_ids = set(np.asarray(table["TRANSACTION_ID"])[in_test].tolist())
    assert {int(row["id"]) for row in written} == expected_ids
    assert set(written[0]) == {"id", "score", "known_compromised"}

    # The metrics can be recomputed from the scores file and the table's labels.
    label_of = dict(
        zip(table["TRANSACTION_ID"].to_pylist(), table["TX_FRAUD"].to_pylist(), strict=True)
    )
    kept = [row for row in written if row["known_compromised"] == "0"]
    recomputed = roc_auc([label_of[int(r["id"])] for r in kept], [float(r["score"]) for r in kept])
    assert recomputed == pytest.approx(lightgbm["roc_auc"])


@pytest.fixture(scope="module")
def transactions(files: dict[str, Path]) -> TransactionTable:
    return read_table(files["parquet"], parse_columns(WITH_LABEL_TIME))


@pytest.mark.parametrize("label_time", [False, True], ids=["delay", "label_time"])
def test_changing_the_labels_of_the_test_window_does_not_change_its_scores(
    transactions: TransactionTable, label_time: bool
) -> None:
    table = transactions if label_time else dataclasses.replace(transactions, label_times=None)
    window = spec().test
    in_test = (table.times >= window.start) & (table.times < window.end)
    flipped = dataclasses.replace(table, labels=np.where(in_test, ~table.labels, table.labels))
    before = run_backtest(table, spec())
    after = run_backtest(flipped, spec())
    assert np.array_equal(before.test_rows, after.test_rows)
    assert np.array_equal(before.scores, after.scores)
    assert before.models != after.models  # the labels did change what is measured


@pytest.mark.parametrize("label_time", [False, True], ids=["delay", "label_time"])
def test_changing_a_label_known_only_after_the_train_window_does_not_change_the_model(
    transactions: TransactionTable, label_time: bool
) -> None:
    table = transactions if label_time else dataclasses.replace(transactions, label_times=None)
    window = spec().train
    # Frauds of the train window whose label is usable only after it ends, and genuine
    # transactions too young at its end to be taken as genuine yet.
    usable = usable_times(table, spec().delay)
    late_fraud = table.labels & (usable > window.end)
    young = ~table.labels & (table.times + spec().delay > window.end)
    in_train = (table.times >= window.start) & (table.times < window.end)
    change = in_train & (late_fraud | young)
    assert late_fraud[in_train].sum() > 0 and young[in_train].sum() > 0
    flipped = dataclasses.replace(table, labels=np.where(change, ~table.labels, table.labels))
    # A fraud flipped on is reported at once when there is a label time: report it late.
    if table.label_times is not None:
        late = np.where(change & ~table.labels, window.end + 1, table.label_times)
        flipped = dataclasses.replace(flipped, label_times=late)
    before = run_backtest(table, spec())
    after = run_backtest(flipped, spec())
    for kind in ("lightgbm", "logistic"):
        assert before.trained[kind].to_bytes() == after.trained[kind].to_bytes()


def test_cards_known_compromised_are_left_out_of_the_metrics(
    transactions: TransactionTable,
) -> None:
    result = run_backtest(transactions, spec())
    assert result.known_compromised.shape == result.test_rows.shape
    assert result.counts["known_compromised"] == int(result.known_compromised.sum()) > 0


def test_a_train_window_without_a_known_fraud_is_refused(
    transactions: TransactionTable,
) -> None:
    genuine = dataclasses.replace(transactions, labels=np.zeros(len(transactions), dtype=bool))
    with pytest.raises(BacktestInputError, match=r"--train: .* has no fraud among its"):
        run_backtest(genuine, spec())


def test_label_time_is_read_and_only_kept_for_frauds(transactions: TransactionTable) -> None:
    assert transactions.label_times is not None
    assert (transactions.label_times[~transactions.labels] == -1).all()
    reported = transactions.label_times[transactions.labels]
    assert (reported > transactions.times[transactions.labels]).all()


BAD_INPUT = [
    (["--columns", "id=TRANSACTION_ID"], "--columns: missing customer"),
    (["--columns", COLUMNS.replace("label=TX_FRAUD", "label=NOPE")], "label=NOPE"),
    (["--columns", COLUMNS + ",colour=X"], "unknown role 'colour'"),
    (["--train", "2018-04-08"], "--train: '2018-04-08' is not START..END"),
    (["--train", "2018-13-01..2018-04-27"], "--train: '2018-13-01' is not an ISO date"),
    (["--test", "2018-04-20..2018-04-30"], "--test: 2018-04-20..2018-04-30 starts before"),
    (["--test", "2018-04-30..2018-04-28"], "--test: '2018-04-30..2018-04-28' ends before"),
    (["--train", "2017-01-01..2017-02-01"], "--train: no transaction in 2017-01-01..2017-02-01"),
    (["--train", "2018-04-01..2018-04-04"], "none is labelled yet: widen --train"),
    (["--test", "2019-01-01..2019-01-07"], "--test: no transaction in 2019-01-01..2019-01-07"),
    (["--delay-days", "0"], "--delay-days"),
    (["--model", "forest"], "--model"),
    (["--scores", "/no/such/dir/scores.csv"], "--scores: no such directory: /no/such/dir"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUT)
def test_bad_input_names_the_option_and_exits_2(
    change: list[str], message: str, files: dict[str, Path]
) -> None:
    options = {
        "--transactions": str(files["parquet"]),
        "--columns": COLUMNS,
        "--train": TRAIN,
        "--test": TEST,
    }
    options |= dict(zip(change[::2], change[1::2], strict=True))
    code, output = run_cli(*(item for pair in options.items() for item in pair))
    assert code == 2, output
    assert message in " ".join(output.split())
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "--transactions: no such file"),
        ("table.txt", "a,b\n1,2\n", "give a .csv, .csv.gz or .parquet file"),
        ("broken.parquet", "not parquet at all", "--transactions: cannot read"),
        ("empty.csv", "", "--transactions: cannot read"),
    ],
)
def test_an_unreadable_file_names_the_option(
    name: str, content: str | None, message: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    code, output = run_cli(
        *("--transactions", str(path), "--columns", COLUMNS, "--train", TRAIN, "--test", TEST)
    )
    assert code == 2, output
    assert message in " ".join(output.split())


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("TX_AMOUNT", ["12.50", "-3.00"], "amount=TX_AMOUNT: missing, zero or negative amount"),
        ("TX_CHANNEL", ["card_present", "pigeon"], "'pigeon' is not a channel"),
        ("TX_FRAUD", ["0", "maybe"], "'maybe' is not a label"),
        ("TX_DATETIME", ["2018-04-01 10:00:00", "yesterday"], "cannot read"),
        ("CUSTOMER_ID", ["7", ""], "customer=CUSTOMER_ID: empty in 1 rows"),
    ],
)
def test_a_bad_value_names_its_column(
    column: str, values: list[str], message: str, tmp_path: Path
) -> None:
    rows = {
        "TRANSACTION_ID": ["1", "2"],
        "TX_DATETIME": ["2018-04-01 10:00:00", "2018-04-02 11:00:00"],
        "CUSTOMER_ID": ["7", "8"],
        "TERMINAL_ID": ["3", "4"],
        "TX_AMOUNT": ["12.50", "8.00"],
        "TX_CHANNEL": ["card_present", "ecommerce"],
        "TX_FRAUD": ["0", "1"],
    }
    rows[column] = values
    path = tmp_path / "small.csv"
    lines = [",".join(rows)] + [",".join(v[i] for v in rows.values()) for i in range(2)]
    path.write_text("\n".join(lines) + "\n")
    code, output = run_cli(
        *("--transactions", str(path), "--columns", COLUMNS, "--train", TRAIN, "--test", TEST)
    )
    assert code == 2, output
    assert message in " ".join(output.split())
    assert "Traceback" not in output


def test_times_are_read_from_text_with_or_without_an_offset_and_from_numbers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "times.csv"
    path.write_text(
        "id,c,t,a,when,fraud,reported\n"
        "1,c1,t1,1.00,2018-04-01T10:00:00Z,1,2018-04-03 10:00:00+02:00\n"
        "2,c1,t1,2.00,2018-04-01T14:00:00+02:00,0,\n"
    )
    columns = "id=id,customer=c,terminal=t,amount=a,timestamp=when,label=fraud,label_time=reported"
    table = read_table(path, parse_columns(columns))
    assert table.times.tolist() == [1522576800000000, 1522584000000000]
    assert table.label_times is not None
    assert table.label_times.tolist() == [1522742400000000, -1]  # 08:00 UTC; genuine: -1
    assert table.cents.tolist() == [100, 200]
    assert table.labels.tolist() == [True, False]

    numbers = pa.table({"when": pa.array([1522576800.5]), "id": [1], "c": [1], "t": [1]})
    numbers = numbers.append_column("a", pa.array([3.0])).append_column("fraud", [[True]])
    parquet = tmp_path / "times.parquet"
    write_table(numbers, parquet)
    loaded = read_table(parquet, parse_columns(columns.replace(",label_time=reported", "")))
    assert loaded.times.tolist() == [1522576800500000]


def test_a_gzipped_csv_reads_as_the_parquet_file(
    table: pa.Table, transactions: TransactionTable, tmp_path: Path
) -> None:
    import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

    path = tmp_path / "transactions.csv.gz"
    with pa.CompressedOutputStream(str(path), "gzip") as out:
        pa_csv.write_csv(table, out)
    read = read_table(path, parse_columns(WITH_LABEL_TIME))
    for name in ("times", "customers", "terminals", "cents", "labels", "label_times"):
        assert np.array_equal(getattr(read, name), getattr(transactions, name)), name


def test_an_output_that_cannot_be_written_names_its_option(
    files: dict[str, Path], tmp_path: Path
) -> None:
    code, output = run_cli(
        *("--transactions", str(files["parquet"]), "--columns", COLUMNS),
        *("--train", TRAIN, "--test", TEST, "--json", str(tmp_path)),  # a directory
    )
    assert code == 2, output
    assert f"--json: cannot write {tmp_path}" in " ".join(output.split())
