"""Fraud commands that work on the log's own history: ``banktwin fraud train``,
``banktwin fraud promote`` and ``banktwin rules backtest``.

Each folds the history through the engine's own state with a progress bar
(:func:`~banktwin.fraud.training.fold_history`), so what is measured here is what the live
engine would have computed.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from banktwin.config import Settings, load_settings
from banktwin.errors import BanktwinError
from banktwin.fraud.decision import DecisionPolicy
from banktwin.fraud.rules import RuleSetError, load_rules
from banktwin.fraud.windows import DAY, FeatureConfig
from banktwin.log.port import EventLog
from banktwin.observability.jobs import job_timed
from banktwin.observability.multiprocess import join_metrics_dir
from banktwin.progress import event_progress
from banktwin.registry.port import FRAUD_MODEL as FRAUD_MODEL_NAME
from banktwin.registry.port import RegisteredVersion
from banktwin.stop_signals import stop_on_signals

if TYPE_CHECKING:  # numpy and LightGBM load when a command runs, not with `banktwin --help`
    from banktwin.fraud.rules_backtest import RulesBacktest
    from banktwin.fraud.training import History

console = Console()
err_console = Console(stderr=True)

rules_app = typer.Typer(help="Fraud rules: judge a rule file on history.", no_args_is_help=True)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Where embedded data lives [BANKTWIN_DATA_DIR].")
]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON.")]


def feature_config(settings: Settings) -> FeatureConfig:
    """The features' configuration the settings give (the label delay)."""
    return FeatureConfig(label_delay=round(settings.fraud_label_delay_days * DAY))


def fold_with_progress(log: EventLog, config: FeatureConfig) -> History:
    """:func:`fold_history` with a progress bar over the log's events."""
    from banktwin.fraud.training import fold_history

    total = sum(log.end_offsets().values())
    with event_progress() as progress:
        task = progress.add_task("folding the log's history", total=total)
        return fold_history(log, config, lambda n: progress.advance(task, n))


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/] {message}")
    return typer.Exit(2)


def _settings(data_dir: Path | None, alias: str | None = None) -> Settings:
    """The settings, and ``alias`` checked; a bad one exits 2 naming the option."""
    from banktwin.registry import CHALLENGER, CHAMPION

    if alias is not None and alias not in (CHAMPION, CHALLENGER):
        raise _fail(f"--alias: {alias!r}; use {CHAMPION} or {CHALLENGER}")
    try:
        return load_settings(data_dir=data_dir)
    except BanktwinError as exc:
        raise _fail(str(exc)) from None


@rules_app.command("backtest")
def rules_backtest(
    rules_file: Annotated[Path, typer.Argument(help="The rule file (YAML) to judge.")],
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """Replay the log's history through RULES_FILE: per rule (whatever its mode) hits,
    precision, recall and alerts per day, against the fraud reports known."""
    from banktwin.adapters import open_event_log
    from banktwin.fraud.rules_backtest import backtest_rules

    try:
        settings = load_settings(data_dir=data_dir)
        rules = load_rules(rules_file)
        log = open_event_log(settings.event_log_url)
    except FileNotFoundError:
        raise _fail(f"RULES_FILE: no file {rules_file}") from None
    except (RuleSetError, BanktwinError) as exc:
        raise _fail(str(exc)) from None
    try:
        history = fold_with_progress(log, feature_config(settings))
    finally:
        log.close()
    floors = tuple(float(f) for f in settings.fraud_severity_floors.split(","))
    policy = DecisionPolicy(settings.fraud_alert_threshold, floors)  # type: ignore[arg-type]
    report = backtest_rules(rules, history, policy)
    _print_rules_report(report, rules_file)
    if json_out is not None:
        json_out.write_text(json.dumps(_rules_json(report, rules_file, rules.version), indent=2))


def _print_rules_report(report: RulesBacktest, rules_file: Path) -> None:
    table = Table(
        title=f"{rules_file.name} on {report.transactions:,} debits over {report.days:.1f} days "
        f"({report.frauds:,} reported as fraud)"
    )
    table.add_column("rule", overflow="fold")
    table.add_column("mode", no_wrap=True)
    for column in ("hits", "fraud hits", "precision", "recall", "alerts/day"):
        table.add_column(column, justify="right", no_wrap=True)
    for r in report.rules:
        table.add_row(
            r.rule_id if r.rule_id != "*" else "[bold]rule set[/]",
            r.mode,
            f"{r.hits:,}",
            f"{r.fraud_hits:,}",
            f"{r.precision:.3f}",
            f"{r.recall:.3f}",
            f"{r.alerts_per_day:,.1f}",
        )
    console.print(table)
    console.print(
        "Recall counts the frauds reported by the end of the history: recent ones may not be "
        "reported yet."
    )


def _rules_json(report: RulesBacktest, rules_file: Path, version: int | str) -> dict[str, object]:
    return {
        "rules_file": str(rules_file),
        "rules_version": version,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "transactions": report.transactions,
        "frauds": report.frauds,
        "days": round(report.days, 3),
        "rules": [asdict(r) for r in report.rules],
    }


KindOpt = Annotated[
    str, typer.Option("--kind", help="lightgbm (gradient boosting) or logistic (the baseline).")
]
AliasOpt = Annotated[
    str, typer.Option("--alias", help="Alias to point at the new version: challenger or champion.")
]


def train(
    data_dir: DataDirOpt = None,
    kind: KindOpt = "lightgbm",
    alias: AliasOpt = "challenger",
    seed: Annotated[int, typer.Option(help="Seed of the model's training.")] = 0,
    every: Annotated[
        float | None,
        typer.Option(
            "--every",
            min=0.01,
            help="Retrain on this schedule, in hours, until stopped (SIGTERM/Ctrl+C).",
        ),
    ] = None,
    promote_if_better: Annotated[
        bool,
        typer.Option(
            "--promote-if-better",
            help="Make the new version champion when, on debits neither model learned from, "
            "its recipe's average precision is at least the champion's.",
        ),
    ] = False,
) -> None:
    """Train the fraud model on the log's history (leak-free: labels as known, the last
    label delay left out) and register it as a new FraudScore version under --alias (also as
    champion when there is none yet); with --every, again on that schedule."""
    if kind not in ("lightgbm", "logistic"):
        raise _fail(f"--kind: {kind!r} is not a model kind; use lightgbm or logistic")
    settings = _settings(data_dir, alias)
    join_metrics_dir(settings.data_dir)  # its durations go to a serve's /metrics, if one runs
    if every is None:
        _train_once(settings, kind, alias, seed, promote_if_better)
        return
    stop = threading.Event()
    stop_on_signals(stop)
    while not stop.is_set():
        # Not enough history yet, say: the message is printed, and the next round tries again.
        with contextlib.suppress(typer.Exit):
            _train_once(settings, kind, alias, seed, promote_if_better)
        console.print(f"next training in {every:g} h")
        stop.wait(every * 3600)


@job_timed("fraud_train")
def _train_once(
    settings: Settings, kind: str, alias: str, seed: int, promote_if_better: bool
) -> None:
    from banktwin.adapters import open_event_log
    from banktwin.fraud.training import NotEnoughHistoryError

    try:
        log = open_event_log(settings.event_log_url)
    except BanktwinError as exc:
        raise _fail(str(exc)) from None
    try:
        history = fold_with_progress(log, feature_config(settings))
    finally:
        log.close()
    try:
        trained = train_and_register(
            settings,
            history,
            kind=kind,
            alias=alias,
            seed=seed,
            promote_if_better=promote_if_better,
        )
    except NotEnoughHistoryError as exc:
        raise _fail(f"not enough history to train on: {exc}") from None
    version = trained.version
    table = Table(title=f"{version.name} version {version.version} ({kind})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in sorted(trained.metrics.items()):
        table.add_row(name, f"{value:,.4f}" if not value.is_integer() else f"{value:,.0f}")
    console.print(table)
    console.print(
        f"registered {version.name}/{version.version} as {alias}{trained.verdict}; "
        f"the champion is version {trained.champion}"
    )


@dataclass(frozen=True)
class RegisteredTraining:
    """What :func:`train_and_register` trained and registered."""

    version: RegisteredVersion
    """The new version, as registered (its card holds the window it was trained on)."""
    alias: str
    metrics: dict[str, float]
    """Measured at training time (validation average precision, ROC AUC, rows …)."""
    verdict: str
    """With ``promote_if_better`` and a champion before: ``"; promoted (…)"`` or
    ``"; not promoted (…)"``, with the comparison; else empty."""
    champion: int | None
    """The champion's version afterwards."""

    @property
    def is_champion(self) -> bool:
        """Whether the new version serves now."""
        return self.champion == self.version.version


def train_and_register(
    settings: Settings,
    history: History,
    *,
    kind: str,
    alias: str,
    seed: int,
    promote_if_better: bool,
    window: tuple[datetime | None, datetime | None] = (None, None),
    status: Callable[[str], AbstractContextManager[object]] = console.status,
) -> RegisteredTraining:
    """Train a ``kind`` model on a folded history and register it as a new FraudScore version
    under ``alias`` (also as champion when there is none yet): ``banktwin fraud train`` and the
    retraining jobs of ``POST /v1/admin/retrain`` both train this way.

    Args:
        settings: the registry, the alert threshold.
        history: the log folded (:func:`fold_with_progress` or
            :func:`~banktwin.fraud.training.fold_history`).
        kind: ``lightgbm`` or ``logistic``.
        alias: the alias to point at the new version (``challenger`` or ``champion``).
        seed: the seed of the model's training.
        promote_if_better: make it champion when, on debits neither model learned from, its
            recipe's average precision is at least the champion's.
        window: ``(start, end)``: learn only from debits that occurred at or after ``start``,
            with the labels known at ``end`` (the last label delay before it left out, as
            always); ``None`` for the history's beginning and end.
        status: called with what is being done (training, registering) around each step.

    Raises:
        NotEnoughHistoryError: too few known frauds in the window to train on.
        BanktwinError: the registry cannot be reached or written.
    """
    from banktwin.fraud.model import FraudModel
    from banktwin.fraud.model_release import register_model
    from banktwin.fraud.training import compare_with_champion, train_on_history
    from banktwin.fraud.windows import to_micros
    from banktwin.registry import CHAMPION, open_model_registry

    history, cutoff = _within(history, window)
    with status(f"training a {kind} model on {len(history.rows):,} transactions…"):
        result = train_on_history(
            history,
            cutoff=cutoff,
            kind=kind,
            seed=seed,
            threshold=settings.fraud_alert_threshold,
        )
    with status(f"registering it as a new {FRAUD_MODEL_NAME} version…"):
        registry = open_model_registry(settings)
        try:
            champion_before = registry.version_for(FRAUD_MODEL_NAME, CHAMPION)
            version = register_model(registry, result, aliases=(alias,))
            verdict = ""
            if promote_if_better and champion_before is not None:
                champion = FraudModel.from_bytes(
                    registry.load(champion_before.name, champion_before.version)
                )
                until = to_micros(champion_before.card.training_window[1])
                compared = compare_with_champion(history, result, champion, until, cutoff)
                if compared is None or not compared.challenger_wins:
                    verdict = "; not promoted"
                else:
                    registry.set_alias(version.name, CHAMPION, version.version)
                    verdict = "; promoted"
                if compared is not None and compared.frauds:
                    verdict += (
                        f" (average precision {compared.challenger:.3f} against the champion's "
                        f"{compared.champion:.3f} on {compared.debits:,} debits, "
                        f"{compared.frauds} frauds, neither had learned from)"
                    )
                elif compared is not None:
                    verdict += " (no fraud among the debits neither model learned from)"
            registered = registry.version_for(version.name, CHAMPION)
        finally:
            registry.close()
    champion_now = registered.version if registered is not None else None
    return RegisteredTraining(version, alias, result.metrics, verdict, champion_now)


def _within(
    history: History, window: tuple[datetime | None, datetime | None]
) -> tuple[History, int | None]:
    """The history's debits from the window's start on, and the cutoff its end makes (the
    newest event when it is later, or not given)."""
    from banktwin.fraud.training import History
    from banktwin.fraud.windows import to_micros

    start, end = window
    cutoff = None if end is None else min(to_micros(end), history.newest)
    if start is None:
        return history, cutoff
    since = to_micros(start)
    keep = [i for i, at in enumerate(history.times) if at >= since]
    return (
        History(
            history.state,
            history.end,
            [history.transaction_ids[i] for i in keep],
            [history.times[i] for i in keep],
            history.rows[keep],
            [history.cards[i] for i in keep],
            history.reports,
            history.newest,
        ),
        cutoff,
    )


def promote(
    version: Annotated[int, typer.Argument(help="The FraudScore version to promote.", min=1)],
    data_dir: DataDirOpt = None,
    alias: AliasOpt = "champion",
) -> None:
    """Point --alias (default champion) at VERSION: a running engine picks it up within
    BANKTWIN_FRAUD_MODEL_REFRESH_S, without a restart."""
    from banktwin.registry import FRAUD_MODEL, open_model_registry

    settings = _settings(data_dir, alias)
    registry = open_model_registry(settings)
    try:
        known = {v.version for v in registry.versions(FRAUD_MODEL)}
        if version not in known:
            listed = ", ".join(map(str, sorted(known))) or "none yet"
            raise _fail(f"VERSION: {FRAUD_MODEL} has no version {version} (versions: {listed})")
        registry.set_alias(FRAUD_MODEL, alias, version)
    finally:
        registry.close()
    console.print(f"{FRAUD_MODEL}@{alias} is now version {version}")


def models(data_dir: DataDirOpt = None) -> None:
    """List the FraudScore versions: aliases, kind, training window and validation metrics."""
    from banktwin.registry import FRAUD_MODEL, open_model_registry

    settings = _settings(data_dir)
    registry = open_model_registry(settings)
    try:
        versions = registry.versions(FRAUD_MODEL)
    finally:
        registry.close()
    table = Table(title=FRAUD_MODEL)
    for column in ("version", "aliases", "kind", "trained on", "AP", "ROC AUC", "registered"):
        table.add_column(column)
    for v in versions:
        start, end = v.card.training_window
        metrics = v.card.metrics
        table.add_row(
            str(v.version),
            ", ".join(v.aliases),
            v.card.flavor,
            f"{start:%Y-%m-%d} to {end:%m-%d}",
            f"{metrics.get('validation_average_precision', float('nan')):.3f}",
            f"{metrics.get('validation_roc_auc', float('nan')):.3f}",
            f"{v.created_at:%Y-%m-%d}",
        )
    console.print(table)
