"""``banktwin ingest …`` (the connectors) and ``banktwin dead-letters …`` (what they refused:
list, show, replay, discard). Sub-apps of the ``banktwin`` command.

Errors name the option or the record's field and exit non-zero, without a traceback.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from banktwin.config import Settings, load_settings

if TYPE_CHECKING:  # the intake (pydantic models of every event) loads when a command runs
    from banktwin.ingest.dead_letters import DeadLetter, DeadLetterStore
    from banktwin.ingest.stream_intake import IntakeTally
    from banktwin.intake import EventIntake

console = Console()
err_console = Console(stderr=True)

ingest_app = typer.Typer(
    help="Connectors: read events from a stream into the log.",
    no_args_is_help=True,
    add_completion=False,
)
dead_letters_app = typer.Typer(
    help="Records the connectors refused: list, show, fix and replay, or discard them.",
    no_args_is_help=True,
    add_completion=False,
)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Where embedded data lives [BANKTWIN_DATA_DIR].")
]
SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
"""A connector's name: a metric label and the source of its events, so short and plain."""


class StatusChoice(StrEnum):
    PENDING = "pending"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def _settings(data_dir: Path | None) -> Settings:
    from banktwin.json_logs import configure_logging

    settings = load_settings(data_dir=data_dir)
    configure_logging(settings.log_format or "text")
    return settings


def _intake(settings: Settings) -> EventIntake:
    """The API's intake (no paths to send events elsewhere: a stream names none)."""
    from banktwin.intake import EventIntake

    return EventIntake(_utc_now, timedelta(seconds=settings.max_future_skew_s))


@contextmanager
def _dead_letters(settings: Settings) -> Iterator[DeadLetterStore]:
    from banktwin.adapters import open_dead_letter_store

    store = open_dead_letter_store(settings.state_store_url)
    try:
        yield store
    finally:
        store.close()


def _parse_options(options: list[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise _fail(f"-X {option!r}: write KEY=VALUE, e.g. -X security.protocol=SASL_SSL")
        parsed[key.strip()] = value
    return parsed


def _status_line(topic: str, source: str, totals: IntakeTally, committed: dict[int, int]) -> Text:
    line = Text()
    line.append("⇢ ", style="bold cyan")
    line.append(f"{topic} as {source}: ", style="bold")
    line.append(f"{totals.records:,} messages · ")
    line.append(f"{totals.appended:,} appended", style="green")
    line.append(f" · {totals.duplicates:,} already logged · ")
    line.append(
        f"{totals.dead_lettered:,} dead-lettered", style="red" if totals.dead_lettered else ""
    )
    if committed:
        offsets = ", ".join(f"{p}:{o:,}" for p, o in sorted(committed.items()))
        line.append(f" · committed {offsets}", style="dim")
    return line


@ingest_app.command("kafka")
def ingest_kafka(
    bootstrap: Annotated[
        str, typer.Option("--bootstrap", help="The brokers, HOST:PORT[,HOST:PORT…].")
    ],
    topic: Annotated[str, typer.Option("--topic", help="The topic of producers' JSON events.")],
    group: Annotated[
        str | None,
        typer.Option("--group", help="The consumer group (default: banktwin-ingest-SOURCE)."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="This connector's name: its dead letters' and metric's source, and the source "
            "of events that name none (default: the topic). Keep it across restarts.",
        ),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, max=100_000, help="Most messages per append."),
    ] = 1000,
    options: Annotated[
        list[str] | None,
        typer.Option(
            "-X",
            "--option",
            help="A librdkafka consumer setting KEY=VALUE (security, timeouts); repeat it.",
        ),
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Consume a Kafka topic into the log until stopped (SIGTERM/Ctrl+C).

    Each message is one event as POST /v1/events takes it (or a JSON array of them, all or
    nothing). Valid events are appended; an invalid message goes to the dead-letter table with
    the reason. Offsets are committed only once both are durable."""
    from banktwin.adapters import open_event_log
    from banktwin.ingest.kafka_source import KafkaSource, consumer_config
    from banktwin.ingest.stream_intake import IntakeTally, StreamIntake
    from banktwin.observability.multiprocess import join_metrics_dir
    from banktwin.stop_signals import stop_on_signals

    name = source or topic
    if not SOURCE_NAME.match(name):
        raise _fail(
            f"--source {name!r}: use 1 to 100 letters, digits, '.', '_' or '-' "
            "(the topic is the default; name the connector with --source)"
        )
    settings = _settings(data_dir)
    config = consumer_config(
        bootstrap, group or f"banktwin-ingest-{name}", _parse_options(options or [])
    )
    join_metrics_dir(settings.data_dir)
    log = open_event_log(settings.event_log_url)
    stop = threading.Event()
    stop_on_signals(stop)
    try:
        with _dead_letters(settings) as dead_letters:
            intake = StreamIntake(
                log,
                dead_letters,
                _intake(settings),
                source=name,
                clock=_utc_now,
                max_future_skew=timedelta(seconds=settings.max_future_skew_s),
                max_record_bytes=settings.max_batch_bytes,
            )
            kafka = KafkaSource(config, topic, intake, batch_size=batch_size)
            console.print(
                f"consuming {escape(topic)} at {escape(bootstrap)} (group {config['group.id']}) "
                f"→ {escape(settings.event_log_url)}; dead letters as {escape(name)}",
                highlight=False,
            )
            with Live(
                _status_line(topic, name, IntakeTally(), {}), console=console, transient=False
            ) as live:
                totals = kafka.run(
                    stop,
                    lambda t: live.update(_status_line(topic, name, t, kafka.committed)),
                )
                live.update(_status_line(topic, name, totals, kafka.committed))
    finally:
        log.close()
    if not console.is_terminal:
        console.line()  # the status line was printed once, without its end
    console.print("stopped; offsets committed up to the last durable batch")


@dead_letters_app.command("list")
def list_dead_letters(
    source: Annotated[str | None, typer.Option("--source", help="Only this source's.")] = None,
    status: Annotated[
        StatusChoice | None, typer.Option("--status", help="Only letters in this status.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """The dead letters, in the order they were kept (all statuses unless --status)."""
    from banktwin.ingest.dead_letters import Status, dead_letter_to_json

    settings = _settings(data_dir)
    with _dead_letters(settings) as store:
        letters, total = store.page(
            source=source,
            status=None if status is None else Status(status.value),
            limit=limit,
            offset=offset,
        )
    if as_json:
        body = {"total": total, "items": [dead_letter_to_json(letter) for letter in letters]}
        typer.echo(json.dumps(body, indent=2))
        return
    shown_from = offset + 1 if letters else 0
    table = Table(title=f"dead letters {shown_from} to {offset + len(letters)} of {total}")
    table.add_column("id", no_wrap=True)
    for column in ("source", "origin", "received", "status"):
        table.add_column(column, overflow="fold")
    table.add_column("reason", overflow="fold", ratio=1)
    for letter in letters:
        first = letter.errors[0] if letter.errors else None
        reason = "" if first is None else f"{first.field}: {first.message}"
        if len(letter.errors) > 1:
            reason += f" (and {len(letter.errors) - 1} more)"
        table.add_row(
            letter.letter_id,
            letter.source,
            letter.origin.describe(),
            f"{letter.received_at:%Y-%m-%d %H:%M:%S}",
            letter.status.value,
            reason,
        )
    console.print(table)


def _show(letter: DeadLetter) -> None:
    console.print(f"[bold]dead letter {letter.letter_id}[/] ({letter.status.value})")
    console.print(f"source:   {escape(letter.source)}", highlight=False)
    console.print(f"origin:   {escape(letter.origin.describe())}", highlight=False)
    console.print(f"received: {letter.received_at.isoformat()}", highlight=False)
    if letter.resolved_at is not None:
        console.print(f"resolved: {letter.resolved_at.isoformat()}: {escape(letter.note or '')}")
    console.print("errors:")
    for error in letter.errors:
        console.print(f"  {escape(error.field)}: {escape(error.message)}", highlight=False)
    console.print("record as received:")
    console.print(letter.raw.decode(errors="backslashreplace"), markup=False, highlight=False)


@dead_letters_app.command("show")
def show_dead_letter(
    letter_id: Annotated[str, typer.Argument(help="The dead letter's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """One dead letter: where it came from, why it was refused, the record as received."""
    from banktwin.ingest.dead_letters import dead_letter_to_json

    settings = _settings(data_dir)
    with _dead_letters(settings) as store:
        letter = store.get(letter_id)
    if letter is None:
        raise _fail(f"no dead letter {letter_id}: see `banktwin dead-letters list`")
    if as_json:
        typer.echo(json.dumps(dead_letter_to_json(letter), indent=2))
    else:
        _show(letter)


@dead_letters_app.command("replay")
def replay_dead_letter_command(
    letter_id: Annotated[str, typer.Argument(help="The dead letter's id.")],
    fixed: Annotated[
        Path | None,
        typer.Option(
            "--file",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The fixed record (JSON): replayed instead of the record as received.",
        ),
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Validate the record again (or the fixed one in --file), append it, mark it replayed.

    A record still invalid is not appended: its field errors are printed (exit 1)."""
    from banktwin.adapters import open_event_log
    from banktwin.ingest.replay import replay_dead_letter
    from banktwin.intake import IntakeError

    settings = _settings(data_dir)
    body = None if fixed is None else fixed.read_bytes()
    log = open_event_log(settings.event_log_url)
    try:
        with _dead_letters(settings) as store:
            replayed = replay_dead_letter(
                letter_id,
                log=log,
                dead_letters=store,
                intake=_intake(settings),
                now=_utc_now(),
                max_bytes=settings.max_batch_bytes,
                fixed=body,
            )
    except IntakeError as error:
        where = f"{fixed}" if fixed is not None else f"dead letter {letter_id}"
        err_console.print(f"[bold red]still invalid:[/] {escape(where)}; nothing appended")
        for field_error in error.errors:
            err_console.print(
                f"  {escape(field_error.field)}: {escape(field_error.message)}", highlight=False
            )
        raise typer.Exit(1) from None
    finally:
        log.close()
    for result in replayed.results:
        state = "already logged" if result.duplicate else "appended"
        console.print(
            f"event {result.event_id} {state} (partition {result.partition}, offset "
            f"{result.offset})",
            highlight=False,
        )
    console.print(f"dead letter {letter_id} marked replayed")


@dead_letters_app.command("discard")
def discard_dead_letter(
    letter_id: Annotated[str, typer.Argument(help="The dead letter's id.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why it is dropped (kept with the letter).")
    ],
    data_dir: DataDirOpt = None,
) -> None:
    """Settle a dead letter without appending anything, saying why."""
    from banktwin.ingest.dead_letters import Status

    if not reason.strip():
        raise _fail("--reason: say why the record is dropped")
    settings = _settings(data_dir)
    with _dead_letters(settings) as store:
        store.resolve(letter_id, Status.DISCARDED, reason.strip(), _utc_now())
    console.print(f"dead letter {letter_id} discarded: {escape(reason.strip())}", highlight=False)
