"""``banktwin demo``: the twin on embedded defaults, a synthetic bank, live activity, the API.

Everything goes through the same log as production traffic: the backfilled history is
appended in bulk, projected, and then the simulator keeps streaming while the API serves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial

import uvicorn
from rich.console import Console

from banktwin.api.app import create_app
from banktwin.api.auth import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SCOPES, Authority
from banktwin.api.routers.streams import GRACEFUL_SHUTDOWN_S
from banktwin.config import Settings
from banktwin.domain.events import Event
from banktwin.errors import BanktwinError
from banktwin.fraud.customer_stage import FRAUD_CUSTOMER_STAGE, CustomerStage
from banktwin.fraud.engine import FRAUD_CONSUMER, FraudEngine
from banktwin.fraud.log_commands import feature_config, fold_with_progress
from banktwin.fraud.model_release import register_model
from banktwin.fraud.training import NotEnoughHistoryError, train_on_history
from banktwin.log.port import EventLog
from banktwin.progress import event_progress, table_stage, task_bars, training_stage
from banktwin.projector.replay import catch_up_consumers
from banktwin.registry import CHAMPION, open_model_registry
from banktwin.registry.port import RISK_MODEL
from banktwin.risk.names import RISK_CONSUMER
from banktwin.runtime import Runtime
from banktwin.sim import GroundTruthStore, SimConfig, Simulation, run_backfill, run_live
from banktwin.sim.backfill_estimate import estimate_backfill_events


class LogSink:
    """The simulator's events straight into the log (durably), then a nudge to the consumers."""

    def __init__(self, log: EventLog, on_appended: Callable[[], None]) -> None:
        self._log = log
        self._on_appended = on_appended

    def send(self, events: Sequence[Event]) -> None:
        self._log.append(events)
        self._on_appended()


def project_backlog(runtime: Runtime, console: Console) -> None:
    """Apply what the log holds and the consumers have not seen yet, with a progress bar, on
    every core as ``replay`` does (the log's partitions split between processes)."""
    processes = runtime.consumer_processes() or 1
    if processes == 1:
        runtime.keep_cycle_collector_on()  # consumed here, in the API's own process
    with event_progress() as progress:
        task = progress.add_task(
            f"projecting {', '.join(runtime.selected)} ({processes} processes)", total=None
        )

        def start(lag: int) -> None:
            progress.update(task, total=lag)

        def advance(applied: int) -> None:
            # Derived events (SLA breaches) join the log while it is projected.
            done = progress.tasks[task].completed + applied
            progress.update(task, completed=done, total=max(done, progress.tasks[task].total or 0))

        catch_up_consumers(runtime, processes=processes, on_start=start, on_progress=advance)


def prepare_fraud_engine(runtime: Runtime, console: Console) -> None:
    """Fold the backfilled history through the fraud engine's state, train a first model on
    it and make it the champion, and start the engine from that state at the log's end: it
    scores with rules and a model from the first live transaction, and never scores history
    with a model trained on it. The staged engine (``fraud-customers`` and ``fraud-entities``)
    starts scoring there too; it counts the history's transactions as it projects it."""
    staged = FRAUD_CUSTOMER_STAGE in runtime.selected
    if FRAUD_CONSUMER not in runtime.selected and not staged:
        return
    settings = runtime.settings
    history = fold_with_progress(runtime.log, feature_config(settings))
    try:
        with console.status(f"training the fraud model on {len(history.rows):,} transactions…"):
            result = train_on_history(history, threshold=settings.fraud_alert_threshold)
        registry = open_model_registry(settings)
        try:
            version = register_model(registry, result, aliases=(CHAMPION,))
        finally:
            registry.close()
        ap = result.metrics.get("validation_average_precision")
        console.print(
            f"fraud model {version.name}/{version.version} is the champion"
            + (f" (validation average precision {ap:.3f})" if ap is not None else "")
        )
    except NotEnoughHistoryError as exc:
        console.print(f"[yellow]no fraud model yet[/] ({exc}): the engine scores with its rules")
    except BanktwinError as exc:  # the registry cannot be reached or written
        console.print(
            f"[yellow]the fraud model could not be registered[/] ({exc}): the engine scores "
            "with its rules until `banktwin fraud train` registers one"
        )
    if staged:
        stage = runtime.consumers[FRAUD_CUSTOMER_STAGE].engine
        assert isinstance(stage, CustomerStage)
        stage.score_from(history.end)
        return
    engine = runtime.consumers[FRAUD_CONSUMER].engine
    assert isinstance(engine, FraudEngine)
    engine.adopt(history.state)
    engine.snapshot_now(history.end)


def prepare_risk_engine(runtime: Runtime, console: Console) -> None:
    """Train a first risk model on the backfilled history (the twin's leak-free table), make
    it the champion, and score every customer once as of the history's end: the engine folded
    the history without a model, so without this no one would have a score until their next
    event."""
    if RISK_CONSUMER not in runtime.selected:
        return
    from banktwin.risk.engine import RiskEngine
    from banktwin.risk.twin_training import NotEnoughLossesError, train_and_release

    settings = runtime.settings
    try:
        with event_progress() as progress:
            training, release = train_and_release(
                runtime.log,
                partial(open_model_registry, settings),
                table_progress=task_bars(progress, lambda task: f"risk: {table_stage(task)}"),
                progress=task_bars(progress, lambda task: f"risk: {training_stage(task)}"),
            )
        figures = training.trained.metrics
        console.print(
            f"risk model {RISK_MODEL}/{release.version.version} ({training.trained.kind}) is the "
            f"champion: cross-validated ROC AUC {figures['cv_roc_auc_mean']:.3f} on "
            f"{len(training.twin.labels):,} customer-weeks ({training.twin.positives:,} losses)"
        )
    except NotEnoughLossesError as exc:
        console.print(f"[yellow]no risk model yet[/] ({exc})")
        return
    except BanktwinError as exc:  # the registry cannot be reached or written
        console.print(f"[yellow]the risk model could not be registered[/] ({exc})")
        return
    engine = runtime.consumers[RISK_CONSUMER].engine
    assert isinstance(engine, RiskEngine)
    with console.status("scoring every customer's risk…"):
        scored = engine.score_everyone()
    console.print(f"scored {scored:,} customers' risk")


def run_demo(
    settings: Settings,
    sim_config: SimConfig,
    *,
    rate: float,
    duration: float | None,
    console: Console,
) -> None:
    """Backfill (first run only), project, then serve while streaming live activity."""
    runtime = Runtime(settings)
    truth = GroundTruthStore(settings.data_dir / "sim_ground_truth.db")
    try:
        sim = Simulation(sim_config, truth)
        sink = LogSink(runtime.log, runtime.notify_consumers)
        first_run = sum(runtime.log.end_offsets().values()) == 0
        if first_run:
            console.print(
                f"Generating a bank of {sim_config.customers:,} customers and "
                f"{sim_config.history_days} days of history (seed {sim_config.seed})…"
            )
            run_backfill(sim, sink, end=datetime.now(UTC), progress=True)
            prepare_fraud_engine(runtime, console)
        else:
            console.print(f"Continuing the bank already in {settings.data_dir}.")
            sim.resume(datetime.now(UTC))
        project_backlog(runtime, console)
        if first_run:
            prepare_risk_engine(runtime, console)
        _serve_with_live_activity(settings, runtime, sim, sink, rate, duration, console)
    finally:
        runtime.close()
        truth.close()


def _serve_with_live_activity(
    settings: Settings,
    runtime: Runtime,
    sim: Simulation,
    sink: LogSink,
    rate: float,
    duration: float | None,
    console: Console,
) -> None:
    authority = Authority.from_settings(settings)
    app = create_app(settings, runtime=runtime, authority=authority)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,  # open dashboard streams never end
        )
    )
    stop = threading.Event()

    def live() -> None:
        try:
            run_live(sim, sink, rate=rate, duration=duration, stop=stop)
        finally:
            if duration is not None:
                server.should_exit = True

    streamer = threading.Thread(target=live, name="simulator", daemon=True)
    token = authority.issue(authority.client(DEMO_CLIENT_ID), frozenset(SCOPES))
    _print_banner(settings, sim, rate, token, console)
    streamer.start()
    try:
        server.run()
    finally:
        stop.set()
        streamer.join(timeout=10)


def _print_banner(
    settings: Settings, sim: Simulation, rate: float, token: str, console: Console
) -> None:
    base = f"http://{settings.host}:{settings.port}"
    customer = sim.sample_customer_id()
    days = max(sim.config.history_days, 1)
    natural = estimate_backfill_events(sim.bank, days) / (days * 86_400)
    lines = [
        f"[bold green]banktwin demo is running[/] with live activity at about {rate:g} events/s",
        f"  pace      about {rate / natural:,.0f}x this bank's natural pace ({natural:.2f} "
        "events/s): velocity features, and the fraud alerts they drive, run hot "
        "(docs/fraud.md)",
        f"  dashboard {base}/  (sign in: client {DEMO_CLIENT_ID}, secret {DEMO_CLIENT_SECRET})",
        f"  API       {base}/v1",
        f"  OpenAPI   {base}/docs  (Authorize: client {DEMO_CLIENT_ID}, secret "
        f"{DEMO_CLIENT_SECRET})",
        f"  data      {settings.data_dir.resolve()}",
        "",
        "Try it (the token is valid for an hour; get another from POST /oauth/token):",
        f"  export TOKEN={token}",
        f'  curl -H "Authorization: Bearer $TOKEN" {base}/v1/customers/{customer}',
        f'  curl -H "Authorization: Bearer $TOKEN" "{base}/v1/customers/{customer}/transactions'
        '?limit=5"',
    ]
    branch = sim.sample_branch_id()
    if branch is not None:
        lines.append(f'  curl -H "Authorization: Bearer $TOKEN" {base}/v1/branches/{branch}/state')
    lines.append(
        f'  curl -H "Authorization: Bearer $TOKEN" "{base}/v1/kpis?minutes=15&hours=72"'
        "   # bank-wide KPIs"
    )
    lines += [
        "",
        "Stop with Ctrl+C.",
    ]
    console.print("\n".join(lines), soft_wrap=True, highlight=False)
