"""``banktwin fraud``: the fraud engine's commands (a sub-app of the ``banktwin`` command).

Errors in the input name the option or the column and exit 2, without a traceback.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from banktwin.fraud.backtest import BacktestResult, BacktestSpec
    from banktwin.fraud.backtest_table import TransactionTable

fraud_app = typer.Typer(
    help="The fraud engine: backtest a model on a labelled transaction table.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


class ModelKind(StrEnum):
    LIGHTGBM = "lightgbm"
    LOGISTIC = "logistic"


@fraud_app.callback()
def fraud() -> None:
    """The fraud engine's tools."""


@fraud_app.command()
def backtest(
    transactions: Annotated[
        Path,
        typer.Option(
            "--transactions",
            help="The labelled table: .csv, .csv.gz or .parquet (read by extension).",
        ),
    ],
    columns: Annotated[
        str,
        typer.Option(
            "--columns",
            help="Its columns by role: id=COL,customer=COL,terminal=COL,amount=COL,"
            "timestamp=COL,label=COL; optional card, merchant, category, channel, label_time "
            "(when the fraud was reported).",
        ),
    ],
    train: Annotated[
        str,
        typer.Option(
            "--train", help="Train window START..END (ISO dates or times, UTC; END included)."
        ),
    ],
    test: Annotated[
        str, typer.Option("--test", help="Test window START..END, after the train window.")
    ],
    delay_days: Annotated[
        int,
        typer.Option(
            "--delay-days",
            min=1,
            help="Days after its report before a label may be used (features, training).",
        ),
    ] = 7,
    model: Annotated[
        ModelKind, typer.Option("--model", help="The model under test (logistic is the baseline).")
    ] = ModelKind.LIGHTGBM,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="Alert when P(fraud) is at or above it (precision, recall, alerts a day).",
        ),
    ] = 0.5,
    top_k: Annotated[
        int, typer.Option("--top-k", min=1, help="Cards investigators check a day (CP@k).")
    ] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Training seed.")] = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the metrics as JSON here.")
    ] = None,
    scores_out: Annotated[
        Path | None,
        typer.Option(
            "--scores",
            help="Write id,score,known_compromised for every test transaction here (CSV).",
        ),
    ] = None,
) -> None:
    """Train on --train, score --test, and compare the model with the logistic baseline."""
    from banktwin.fraud.backtest import BacktestSpec, Window
    from banktwin.fraud.backtest_table import BacktestInputError, parse_columns

    try:
        spec = BacktestSpec(
            train=Window.parse(train, "--train"),
            test=Window.parse(test, "--test"),
            delay_days=delay_days,
            model=model.value,
            threshold=threshold,
            top_k=top_k,
            seed=seed,
        )
        spec.check()
        mapping = parse_columns(columns)
        for option, path in (("--json", json_out), ("--scores", scores_out)):
            if path is not None and not path.parent.is_dir():
                raise BacktestInputError(f"{option}: no such directory: {path.parent}")
        _run(transactions, mapping, spec, json_out, scores_out)
    except BacktestInputError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None


def _run(
    transactions: Path,
    mapping: dict[str, str],
    spec: BacktestSpec,
    json_out: Path | None,
    scores_out: Path | None,
) -> None:
    from banktwin.fraud.backtest import run_backtest
    from banktwin.fraud.backtest_table import read_table
    from banktwin.progress import event_progress

    began = time.perf_counter()
    with event_progress() as progress:
        reading = progress.add_task(f"reading {transactions.name}", total=None)

        def on_read(done: int, total: int | None) -> None:
            progress.update(reading, completed=done, total=total)

        table = read_table(transactions, mapping, on_read)
        read_s = time.perf_counter() - began

        def on_replay(total: int) -> Callable[[int], None]:
            task = progress.add_task("replaying features", total=total)
            return lambda rows: progress.advance(task, rows)

        result = run_backtest(table, spec, on_replay=on_replay)
    result.timings = {"read": read_s, **result.timings, "total": time.perf_counter() - began}
    _print(result, transactions)
    if json_out is not None:
        document = {"transactions": str(transactions), **result.to_json()}
        _write("--json", json_out, lambda path: path.write_text(json.dumps(document, indent=2)))
    if scores_out is not None:
        _write("--scores", scores_out, lambda path: _write_scores(path, table, result))


def _write(option: str, path: Path, write: Callable[[Path], object]) -> None:
    from banktwin.fraud.backtest_table import BacktestInputError

    try:
        write(path)
    except OSError as exc:
        raise BacktestInputError(f"{option}: cannot write {path}: {exc.strerror or exc}") from None


def _write_scores(path: Path, table: TransactionTable, result: BacktestResult) -> None:
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

    scores = pa.table(
        {
            "id": table.ids.take(pa.array(result.test_rows)),
            "score": pa.array(result.scores),
            "known_compromised": pa.array(result.known_compromised.astype(np.int8)),
        }
    )
    pa_csv.write_csv(scores, path)


def _print(result: BacktestResult, transactions: Path) -> None:
    kinds = list(result.models)
    table = Table(title=f"backtest of {transactions.name}")
    table.add_column("metric")
    for kind in kinds:
        table.add_column(kind + (" (baseline)" if kind == "logistic" and len(kinds) > 1 else ""))
    for name in result.models[kinds[0]]:
        table.add_row(name, *(_shown(result.models[kind][name]) for kind in kinds))
    console.print(table)
    rows = result.counts
    console.print(
        f"train {rows['train']:,} transactions ({rows['train_frauds']:,} frauds); test "
        f"{rows['test']:,}, of which {rows['evaluated']:,} evaluated "
        f"({rows['evaluated_frauds']:,} frauds; {rows['known_compromised']:,} on cards "
        f"already known compromised left out) over {rows['test_days']} days",
        highlight=False,
    )
    console.print(
        "seconds: " + ", ".join(f"{name} {value:,.1f}" for name, value in result.timings.items()),
        highlight=False,
    )


def _shown(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.4f}"
