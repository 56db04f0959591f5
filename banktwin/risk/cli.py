"""``banktwin train risk``: train the risk model on a labelled table and release it.

Reads the table (CSV or Parquet), keeps a holdout by a hash of the row id, cross-validates the
candidates with progress bars, fits the chosen one, registers it as a new ``RiskScore``
version (champion only if it beats the champion on the holdout, or with ``--force``) and
prints the figures. ``--json`` writes them, ``--oof`` every row's out-of-sample probability.
Errors in the input name the option or the column and exit 2, without a traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from banktwin.errors import BanktwinError

if TYPE_CHECKING:  # numpy, pandas and LightGBM load when the command runs, not with --help
    import numpy as np

    from banktwin.risk.release import RiskRelease
    from banktwin.risk.tabular import LabelledTable
    from banktwin.risk.training import RiskTrainingConfig, RiskTrainingResult
    from banktwin.risk.twin_table import TwinTable

train_app = typer.Typer(
    help="Train models on labelled data and register them.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


@train_app.callback()
def train() -> None:
    """Train models and register them in the model registry."""


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(2)


def _names(option: str, text: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    if text is not None and not names:
        raise _fail(f"{option}: give column names separated by commas")
    return names


def parse_monotone(text: str | None) -> dict[str, int]:
    """``income=-1,days_past_due=+1`` as a mapping; a bad item exits 2 naming --monotone."""
    out: dict[str, int] = {}
    for item in _names("--monotone", text):
        column, sep, sign = item.rpartition("=")
        if not sep or not column or sign.strip() not in ("+1", "1", "-1"):
            raise _fail(f"--monotone: {item!r}: write COLUMN=+1 or COLUMN=-1, comma-separated")
        out[column.strip()] = int(sign.strip())
    return out


@train_app.command("risk")
def risk(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="The labelled table: .csv, .csv.gz or .parquet, one row per customer.",
            show_default=False,
        ),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option("--label", help="The label column: whether the loss event happened."),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id", help="A column that identifies each row (default: row numbers)."),
    ] = None,
    positive: Annotated[
        str | None,
        typer.Option(
            "--positive",
            help="The label value that means the loss event (needed unless 0/1, true/false, "
            "yes/no).",
        ),
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option("--time", help="A date column: the training window (not a feature)."),
    ] = None,
    categorical: Annotated[
        str | None,
        typer.Option("--categorical", help="Columns to read as categories, e.g. region,branch."),
    ] = None,
    exclude: Annotated[
        str | None, typer.Option("--exclude", help="Columns that are not features.")
    ] = None,
    monotone: Annotated[
        str | None,
        typer.Option(
            "--monotone",
            help="Monotone constraints for the trees, e.g. days_past_due=+1,income=-1.",
        ),
    ] = None,
    candidates: Annotated[
        str, typer.Option("--candidates", help="Candidates to compare, in order of preference.")
    ] = "logistic,lightgbm",
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")] = 5,
    seed: Annotated[
        int, typer.Option("--seed", help="The same data and seed, the same model.")
    ] = 0,
    holdout: Annotated[
        float,
        typer.Option(
            "--holdout",
            min=0.0,
            max=0.9,
            help="Share of rows (by a hash of the id) kept out of training to compare the new "
            "version with the champion.",
        ),
    ] = 0.2,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the metrics as JSON here.")
    ] = None,
    oof_out: Annotated[
        Path | None,
        typer.Option(
            "--oof",
            help="Write id,fold,label,probability for every row here (CSV; fold 0: holdout).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Make the new version champion whatever it scores.")
    ] = False,
    register: Annotated[
        bool,
        typer.Option("--register/--no-register", help="Register the model (or only measure it)."),
    ] = True,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Where embedded data lives [BANKTWIN_DATA_DIR]."),
    ] = None,
    horizon_days: Annotated[
        float,
        typer.Option(
            "--horizon-days",
            min=1.0,
            help="Without --data: a row is positive when a loss follows its as-of date within "
            "this many days (a bank's PD horizon is 365; the demo's 30 days of history fit 14).",
        ),
    ] = 14.0,
    export_features: Annotated[
        Path | None,
        typer.Option(
            "--export-features",
            help="Without --data: write the twin's leak-free training table (one row per "
            "customer and as-of date: features, label, customer_id, as_of) as Parquet here, "
            "and stop (train on it in notebooks/risk_training.ipynb).",
        ),
    ] = None,
) -> None:
    """Train the risk model on a labelled table (--data), or on the twin's own history
    (features as of weekly dates, labels from later losses): cross-validate logistic
    regression and LightGBM, keep the better, calibrate, and register it as a RiskScore
    version (champion only if it beats the champion on the holdout, or with --force)."""
    from banktwin.config import load_settings
    from banktwin.risk.training import RiskTrainingConfig
    from banktwin.risk.training_report import print_report, report_document, write_out_of_fold

    if data is None:
        for option, given in (("--label", label), ("--id", id_column), ("--time", time_column)):
            if given is not None:
                raise _fail(f"{option}: only with --data (the twin's table has its own)")
    elif export_features is not None:
        raise _fail("--export-features: writes the twin's table; leave out --data")
    elif label is None:
        raise _fail("--label: name the table's label column (whether the loss event happened)")
    for option, path in (
        ("--json", json_out),
        ("--oof", oof_out),
        ("--export-features", export_features),
    ):
        if path is not None and not path.parent.is_dir():
            raise _fail(f"{option}: no such directory: {path.parent}")
    config = RiskTrainingConfig(
        folds=folds,
        seed=seed,
        candidates=_names("--candidates", candidates),
        categorical=_names("--categorical", categorical),
        exclude=_names("--exclude", exclude),
        monotone=parse_monotone(monotone),
    )
    try:
        config.check()
    except ValueError as exc:
        raise _fail(f"--{exc}") from None
    try:
        settings = load_settings(data_dir=data_dir)
    except BanktwinError as exc:
        raise _fail(str(exc)) from None
    began = time.perf_counter()
    if data is None:
        twin = _twin_table(settings, horizon_days)
        if export_features is not None:
            _write("--export-features", export_features, twin.write_parquet)
            console.print(
                f"wrote {len(twin.labels):,} rows ({twin.positives:,} losses) of "
                f"{twin.frame.shape[1]} features to {export_features}"
            )
            return
        labelled, trained, mask = _train_on_twin(twin, config, holdout)
        source: Path | str = "the twin's history"
    else:
        assert label is not None
        labelled, trained, mask = _train(
            data, label, id_column, positive, time_column, config, holdout
        )
        source = data
    seconds = time.perf_counter() - began
    release = None
    if register:
        release = _release(settings, trained, labelled, mask, force)
    print_report(console, source, labelled, trained, release, mask, seconds)
    if json_out is not None:
        document = report_document(
            source, label or "loss", labelled, trained, release, mask, seconds
        )
        _write("--json", json_out, lambda p: p.write_text(json.dumps(document, indent=2) + "\n"))
    if oof_out is not None:
        _write("--oof", oof_out, lambda p: write_out_of_fold(p, trained, labelled, mask))


def _train(
    data: Path,
    label: str,
    id_column: str | None,
    positive: str | None,
    time_column: str | None,
    config: RiskTrainingConfig,
    holdout: float,
) -> tuple[LabelledTable, RiskTrainingResult, np.ndarray]:
    from banktwin.progress import event_progress, task_bars, training_stage
    from banktwin.risk.holdout import holdout_mask
    from banktwin.risk.tabular import TableInputError, read_table, split_table
    from banktwin.risk.training import train_risk_model

    with event_progress() as progress:
        reading = progress.add_task(f"reading {data.name}", total=None)
        try:
            labelled = split_table(
                read_table(data),
                label=label,
                id_column=id_column,
                positive=positive,
                time_column=time_column,
            )
        except TableInputError as exc:
            progress.stop()
            raise _fail(str(exc)) from None
        progress.update(reading, total=len(labelled.ids), completed=len(labelled.ids))
        mask = holdout_mask(labelled.ids, holdout)
        keep = ~mask
        report = task_bars(progress, training_stage)

        try:
            trained = train_risk_model(
                labelled.features.loc[keep].reset_index(drop=True),
                labelled.labels[keep],
                ids=[i for i, k in zip(labelled.ids, keep, strict=True) if k],
                config=config,
                progress=report,
                window=labelled.window,
            )
        except ValueError as exc:
            progress.stop()
            message = str(exc)
            if message.partition(":")[0] in ("categorical", "exclude", "monotone"):
                raise _fail(f"--{message}") from None  # an option named a column not there
            raise _fail(f"--data: cannot train on {data}: {message}") from None
    return labelled, trained, mask


def _twin_table(settings: Any, horizon_days: float) -> TwinTable:
    """The twin's training table, read from the log with progress bars."""
    from datetime import timedelta

    from banktwin.adapters import open_event_log
    from banktwin.progress import event_progress, table_stage, task_bars
    from banktwin.risk.twin_training import twin_table

    try:
        log = open_event_log(settings.event_log_url)
    except BanktwinError as exc:
        raise _fail(str(exc)) from None
    try:
        with event_progress() as progress:
            bars = task_bars(progress, table_stage)
            return twin_table(log, timedelta(days=horizon_days), bars)
    finally:
        log.close()


def _train_on_twin(
    twin: TwinTable, config: RiskTrainingConfig, holdout: float
) -> tuple[LabelledTable, RiskTrainingResult, np.ndarray]:
    from banktwin.progress import event_progress, task_bars, training_stage
    from banktwin.risk.twin_training import NotEnoughLossesError, train_on_twin

    with event_progress() as progress:
        report = task_bars(progress, training_stage)
        try:
            training = train_on_twin(twin, config=config, holdout_share=holdout, progress=report)
        except NotEnoughLossesError as exc:
            progress.stop()
            raise _fail(f"the twin's history: {exc}; try a shorter --horizon-days") from None
    return training.labelled, training.trained, training.holdout


def _release(
    settings: Any,
    trained: RiskTrainingResult,
    labelled: LabelledTable,
    mask: np.ndarray,
    force: bool,
) -> RiskRelease:
    from banktwin.registry import open_model_registry
    from banktwin.risk.release import release_risk_model

    with console.status("registering the model as a new RiskScore version…"):
        registry = open_model_registry(settings)
        try:
            holdout = (labelled.features.loc[mask].reset_index(drop=True), labelled.labels[mask])
            return release_risk_model(registry, trained, holdout=holdout, force=force)
        finally:
            registry.close()


def _write(option: str, path: Path, write: Callable[[Path], object]) -> None:
    try:
        write(path)
    except OSError as exc:
        raise _fail(f"{option}: cannot write {path}: {exc.strerror or exc}") from None
