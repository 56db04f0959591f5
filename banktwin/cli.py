"""The ``banktwin`` command: serve, demo, worker, replay, projections, simulate, fraud, rules.

Options override ``BANKTWIN_*`` variables; errors name the setting and the fix and exit 2.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from banktwin.config import LogFormat, Settings, load_settings
from banktwin.errors import BanktwinError
from banktwin.json_logs import configure_logging
from banktwin.stop_signals import stop_on_signals
from banktwin.store.port import TWIN_CONSUMER

app = typer.Typer(
    help="banktwin — an event-sourced, real-time digital twin of a bank.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

HostOpt = Annotated[str | None, typer.Option(help="Interface to listen on [BANKTWIN_HOST].")]
PortOpt = Annotated[int | None, typer.Option(help="Port to listen on [BANKTWIN_PORT].")]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Where embedded data lives [BANKTWIN_DATA_DIR].")
]
CustomersOpt = Annotated[int, typer.Option(min=1, help="Customers in the synthetic bank.")]
BranchesOpt = Annotated[int, typer.Option(min=1, help="Branches in the synthetic bank.")]
RateOpt = Annotated[float, typer.Option(min=0.1, help="Live events per second.")]
SeedOpt = Annotated[int, typer.Option(help="Seed: the same seed gives the same bank.")]
HistoryOpt = Annotated[int, typer.Option(min=0, help="Days of history to backfill first.")]
DurationOpt = Annotated[
    float | None, typer.Option(min=0, help="Seconds of live activity (default: until Ctrl+C).")
]
ConsumersOpt = Annotated[
    str | None,
    typer.Option(
        "--consumers",
        help="Consumers of the log to run, e.g. twin,kpis (default: all) [BANKTWIN_CONSUMERS].",
    ),
]


def _settings(log_format: LogFormat = "text", **overrides: object) -> Settings:
    """The settings, and logging set up as ``BANKTWIN_LOG_FORMAT`` says (else ``log_format``,
    the command's default)."""
    settings = load_settings(**overrides)
    chosen = settings.log_format or log_format
    # The processes this one starts (the consumers of serve and demo) log as it does.
    os.environ["BANKTWIN_LOG_FORMAT"] = chosen
    configure_logging(chosen)
    # One line per request would bury the progress bar: a client's errors are still shown.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return settings


@app.command()
def serve(
    host: HostOpt = None,
    port: PortOpt = None,
    data_dir: DataDirOpt = None,
    run_consumers: Annotated[
        bool | None,
        typer.Option(
            "--run-consumers/--no-consumers",
            help="Run the consumers of the log (the projector, KPIs) beside the API, in "
            "processes of their own [BANKTWIN_RUN_CONSUMERS].",
            show_default=False,
        ),
    ] = None,
    consumers: ConsumersOpt = None,
) -> None:
    """Serve the REST API (and run the consumers of the log, unless --no-consumers)."""
    from banktwin.api.app import create_app
    from banktwin.api.routers.streams import GRACEFUL_SHUTDOWN_S
    from banktwin.observability.multiprocess import prepare_metrics_dir

    settings = _settings(
        "json",
        host=host,
        port=port,
        data_dir=data_dir,
        run_consumers=run_consumers,
        consumers=consumers,
    )
    prepare_metrics_dir(settings.data_dir)  # before any metric: its consumer processes inherit it
    # log_config=None: uvicorn's records go through ours. Its access log is replaced by
    # banktwin.access (request id, route template), as it would log query strings.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,  # open dashboard streams never end
    )


@app.command()
def demo(
    host: HostOpt = None,
    port: PortOpt = None,
    data_dir: DataDirOpt = None,
    customers: CustomersOpt = 2000,
    branches: BranchesOpt = 20,
    rate: RateOpt = 50.0,
    seed: SeedOpt = 42,
    history_days: HistoryOpt = 30,
    duration: DurationOpt = None,
) -> None:
    """Run the twin with a synthetic bank: backfill history, then serve with live activity."""
    from banktwin.demo import run_demo
    from banktwin.observability.multiprocess import prepare_metrics_dir
    from banktwin.sim import SimConfig

    settings = _settings(profile="demo", host=host, port=port, data_dir=data_dir)
    prepare_metrics_dir(settings.data_dir)
    # The demo's console is for a person: no line per request (its uvicorn logs warnings only).
    logging.getLogger("banktwin.access").setLevel(logging.WARNING)
    config = SimConfig(customers=customers, branches=branches, seed=seed, history_days=history_days)
    run_demo(settings, config, rate=rate, duration=duration, console=console)


ProcessesOpt = Annotated[
    int | None,
    typer.Option(
        min=1, help="Processes to project with (default: one per core, ≤ one per partition)."
    ),
]


@app.command()
def worker(
    data_dir: DataDirOpt = None,
    partitions: Annotated[
        str | None,
        typer.Option(
            help="Log partitions to consume, e.g. 0,2 (default: all) [BANKTWIN_PARTITIONS]."
        ),
    ] = None,
    processes: ProcessesOpt = None,
    consumers: ConsumersOpt = None,
) -> None:
    """Run only the consumers of the log (the projector, KPIs) until stopped (SIGTERM/Ctrl+C).

    Their partitions are split between --processes processes; workers given disjoint
    --partitions also consume in parallel."""
    from banktwin.observability.multiprocess import join_metrics_dir
    from banktwin.runtime import Runtime
    from banktwin.worker_processes import (
        default_processes,
        run_worker_processes,
        split_partitions,
        stop_if_orphaned,
    )

    settings = _settings("json", data_dir=data_dir, partitions=partitions, consumers=consumers)
    join_metrics_dir(settings.data_dir)
    runtime = Runtime(settings)
    stop = threading.Event()
    stop_on_signals(stop)
    stop_if_orphaned(stop)
    owned = settings.owned_partitions or list(range(runtime.log.partitions))
    shareable = not settings.event_log_url.startswith("memory:")
    count = min(processes or default_processes(len(owned)), len(owned)) if shareable else 1
    if count > 1:
        runtime.close()
        groups = split_partitions(owned, count)
        console.print(
            f"consuming ({', '.join(runtime.selected)}) with {count} processes, partitions {groups}"
        )
        ended = run_worker_processes(groups, settings, runtime.selected, stop)
        if ended is not None:
            console.print(f"[red]a worker process ended (exit code {ended}); stopping[/red]")
            raise typer.Exit(1)
        return
    shown = settings.partitions or "all partitions"
    console.print(
        f"consuming {settings.event_log_url} ({shown}) → {settings.state_store_url}: "
        f"{', '.join(runtime.selected)}"
    )
    try:
        runtime.run_consumers(stop)
    finally:
        runtime.close()


@app.command()
def replay(
    data_dir: DataDirOpt = None,
    processes: ProcessesOpt = None,
    consumers: ConsumersOpt = None,
) -> None:
    """Rebuild consumers' state from the log: all of them, or --consumers.

    The twin is built beside the one being served, which serve/worker go on serving and
    updating until the new one has caught up. The KPIs are emptied and rebuilt in place
    (stop serve/worker first to have them rebuilt by the replay alone)."""
    from banktwin.observability.jobs import timed_job
    from banktwin.observability.multiprocess import join_metrics_dir
    from banktwin.progress import event_progress
    from banktwin.projector.replay import rebuild_consumers
    from banktwin.runtime import Runtime
    from banktwin.worker_processes import default_processes

    settings = _settings(data_dir=data_dir, consumers=consumers)
    join_metrics_dir(settings.data_dir)
    runtime = Runtime(settings)
    try:
        count = min(processes or default_processes(runtime.log.partitions), runtime.log.partitions)
        if settings.event_log_url.startswith("memory:"):
            count = 1
        with event_progress() as progress:
            task = progress.add_task(
                f"replaying {', '.join(runtime.selected)} ({count} processes)", total=None
            )

            def on_start(total: int) -> None:
                progress.update(task, total=total)

            def on_progress(applied: int) -> None:
                progress.advance(task, applied)

            with timed_job("replay"):
                applied = rebuild_consumers(
                    runtime, processes=count, on_start=on_start, on_progress=on_progress
                )
        console.print(f"replayed {applied:,} events ({', '.join(runtime.selected)})")
        if TWIN_CONSUMER in runtime.selected:
            served = runtime.store.served_generation()
            console.print(f"the twin is served from generation {served.number}")
    finally:
        runtime.close()


@app.command()
def projections(
    data_dir: DataDirOpt = None,
    drop_retired: Annotated[
        bool,
        typer.Option(
            "--drop-retired",
            help="Drop the retired generations' tables (no process of the build that wrote "
            "one may still be running).",
        ),
    ] = False,
) -> None:
    """List the twin's generations in the state store: format, state, events applied, lag."""
    from rich.table import Table

    from banktwin.adapters import open_event_log, open_state_store
    from banktwin.store import codec
    from banktwin.store.generations import DROPPED, TwinNotReadyError

    settings = _settings(data_dir=data_dir)
    log = open_event_log(settings.event_log_url)
    try:
        store = open_state_store(settings.state_store_url)
    except BaseException:
        log.close()
        raise
    try:
        if drop_retired:
            dropped = store.drop_retired()
            console.print(
                f"dropped generation {', '.join(map(str, dropped))}"
                if dropped
                else "no retired generation to drop"
            )
        ends = log.end_offsets()
        table = Table("generation", "format", "state", "created", "active since", "applied", "lag")
        for status in store.generations():
            g, at = status.generation, status.positions
            live = g.state != DROPPED
            table.add_row(
                str(g.number),
                g.twin_format,
                g.state,
                f"{g.created_at:%Y-%m-%d %H:%M:%S}",
                "" if g.completed_at is None else f"{g.completed_at:%Y-%m-%d %H:%M:%S}",
                f"{sum(at.values()):,}" if live else "",
                f"{sum(max(e - at.get(p, 0), 0) for p, e in ends.items()):,}" if live else "",
            )
        console.print(table)
        try:
            served = f"serves generation {store.served_generation().number}"
        except TwinNotReadyError as exc:
            served = f"is not ready: {exc}"
        console.print(f"this build (twin format {codec.TWIN_FORMAT}) {served}")
    finally:
        store.close()
        log.close()


@app.command()
def simulate(
    url: Annotated[str, typer.Option(help="Base URL of a running banktwin.")] = (
        "http://127.0.0.1:8000"
    ),
    client_id: Annotated[
        str, typer.Option(envvar="BANKTWIN_CLIENT_ID", help="OAuth client with digitaltwin.write.")
    ] = "demo",
    client_secret: Annotated[
        str, typer.Option(envvar="BANKTWIN_CLIENT_SECRET", help="Its secret.")
    ] = "demo-secret",
    data_dir: DataDirOpt = None,
    customers: CustomersOpt = 2000,
    branches: BranchesOpt = 20,
    rate: RateOpt = 50.0,
    seed: SeedOpt = 42,
    history_days: HistoryOpt = 30,
    duration: DurationOpt = None,
) -> None:
    """Stream a synthetic bank's history and live activity to a running server over HTTP."""
    from banktwin.sim import (
        GroundTruthStore,
        HttpSink,
        SimConfig,
        Simulation,
        run_backfill,
        run_live,
    )
    from banktwin.sim_client import fetch_token

    settings = _settings(data_dir=data_dir)
    token = fetch_token(url, client_id, client_secret)
    truth = GroundTruthStore(settings.data_dir / "sim_ground_truth.db")
    sink = HttpSink(url, token=token)
    try:
        sim = Simulation(
            SimConfig(customers=customers, branches=branches, seed=seed, history_days=history_days),
            truth,
        )
        sent = run_backfill(sim, sink, end=datetime.now(UTC), progress=True)
        console.print(f"backfilled {sent:,} events; streaming at {rate:g} events/s (Ctrl+C stops)")
        stop = threading.Event()
        stop_on_signals(stop, (signal.SIGTERM,))  # Ctrl+C: KeyboardInterrupt, below
        try:
            run_live(sim, sink, rate=rate, duration=duration, stop=stop)
        except KeyboardInterrupt:
            stop.set()
    finally:
        sink.close()
        truth.close()


def _add_fraud_commands() -> None:
    """``banktwin fraud …`` (train, promote, models, backtest) and ``banktwin rules …``."""
    from banktwin.fraud.cli import fraud_app
    from banktwin.fraud.log_commands import models, promote, rules_app, train

    fraud_app.command("train")(train)
    fraud_app.command("promote")(promote)
    fraud_app.command("models")(models)
    app.add_typer(fraud_app, name="fraud")
    app.add_typer(rules_app, name="rules")


_add_fraud_commands()


def _add_risk_commands() -> None:
    """``banktwin train risk`` and ``banktwin models …`` (list, promote, rollback)."""
    from banktwin.registry.cli import models_app
    from banktwin.risk.cli import train_app

    app.add_typer(train_app, name="train")
    app.add_typer(models_app, name="models")


_add_risk_commands()


def _add_ingest_commands() -> None:
    """``banktwin ingest kafka`` and ``banktwin dead-letters …`` (list, show, replay, discard)."""
    from banktwin.ingest.cli import dead_letters_app, ingest_app

    app.add_typer(ingest_app, name="ingest")
    app.add_typer(dead_letters_app, name="dead-letters")


_add_ingest_commands()


def main() -> None:
    """Entry point: run the command, turning banktwin's errors into a message and exit 2."""
    try:
        app()
    except BanktwinError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True, highlight=False)
        raise SystemExit(2) from exc
