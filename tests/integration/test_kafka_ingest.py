"""The Kafka source connector against a real Kafka-protocol broker (tansu): valid messages land
in the log, invalid ones in the dead-letter table with their reasons, the group's offsets move
past both, a connector killed (SIGKILL) while consuming loses and duplicates nothing when it
starts again, and a fixed dead letter is replayed into the log from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from banktwin.adapters import open_dead_letter_store, open_event_log
from banktwin.ingest.dead_letters import DeadLetterStore, Origin, Status, streamed_event_id
from banktwin.ingest.kafka_source import KafkaSource, consumer_config
from banktwin.ingest.stream_intake import IntakeTally, StreamIntake
from banktwin.intake import EventIntake, FieldError
from banktwin.log.port import EventLog
from tests.factories import new_id, opened, posted, registered
from tests.kafka_broker import GROUP_TIMEOUTS, KafkaBroker
from tests.unit.ingest.records import record, wire

pytestmark = pytest.mark.slow

PARTITIONS = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Twin:
    """A SQLite log and dead-letter table in a data directory of its own."""

    data_dir: Path

    @property
    def log_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'twin.db'}"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'twin-state.db'}"

    @contextmanager
    def opened(self) -> Iterator[tuple[EventLog, DeadLetterStore]]:
        log = open_event_log(self.log_url)
        dead_letters = open_dead_letter_store(self.store_url)
        try:
            yield log, dead_letters
        finally:
            dead_letters.close()
            log.close()

    def logged_ids(self) -> list[str]:
        with self.opened() as (log, _):
            return [
                logged.event.event_id
                for partition in range(log.partitions)
                for logged in log.read(partition, 0, 1_000_000)
            ]

    def dead_lettered(self) -> int:
        with self.opened() as (_, dead_letters):
            return dead_letters.page(limit=1)[1]


@pytest.fixture
def twin(tmp_path: Path) -> Twin:
    return Twin(tmp_path / "data")


def wait_for(condition: Callable[[], bool], what: str, within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextmanager
def connector(
    broker: KafkaBroker, twin: Twin, topic: str, group: str
) -> Iterator[Callable[[], IntakeTally]]:
    """The connector in a thread of this process, stopped (cleanly) when the block ends;
    yields a function giving its running totals."""
    latest = [IntakeTally()]
    stop = threading.Event()
    failures: list[BaseException] = []
    with twin.opened() as (log, dead_letters):
        skew = timedelta(minutes=5)
        intake = StreamIntake(
            log,
            dead_letters,
            EventIntake(utc_now, skew),
            source=topic,
            clock=utc_now,
            max_future_skew=skew,
            max_record_bytes=1 << 20,
        )
        source = KafkaSource(
            consumer_config(broker.bootstrap, group, GROUP_TIMEOUTS), topic, intake, batch_size=200
        )

        def run() -> None:
            try:
                source.run(stop, lambda totals: latest.__setitem__(0, totals))
            except BaseException as exc:
                failures.append(exc)

        thread = threading.Thread(target=run, name="kafka-source", daemon=True)
        thread.start()
        try:
            yield lambda: latest[0]
        finally:
            stop.set()
            thread.join(30)
    assert not thread.is_alive(), "the connector did not stop"
    assert failures == []


def test_valid_messages_are_logged_and_invalid_ones_dead_lettered_with_their_reasons(
    kafka_broker: KafkaBroker, twin: Twin
) -> None:
    topic, group = kafka_broker.create_topic(PARTITIONS), f"g-{uuid.uuid4().hex[:8]}"
    customers = [new_id() for _ in range(5)]
    values: list[bytes | None] = []
    keys: list[str] = []
    for customer in customers:
        events = [registered(customer), opened(customer), posted(customer), posted(customer)]
        values += [record(wire(e, with_id=False)) for e in events]
        keys += [customer] * len(events)
    bad_amount = wire(posted(customers[0]))
    bad_amount["payload"]["amount"] = "lots"
    invalid = [
        b"{not json",
        record({**wire(posted(customers[1])), "type": "transaction.reversed.twice"}),
        record(bad_amount),
        record([wire(posted(customers[2])), {**wire(posted(customers[2])), "subjectId": "x"}]),
    ]
    values += [*invalid, None]
    keys += [customers[0]] * (len(invalid) + 1)
    kafka_broker.produce(topic, values, keys)

    with connector(kafka_broker, twin, topic, group) as totals:
        wait_for(lambda: totals().records == len(values), "every message taken")
    assert totals().appended == 20 and totals().dead_lettered == 5

    logged = twin.logged_ids()
    assert len(logged) == 20 and len(set(logged)) == 20
    with twin.opened() as (_, dead_letters):
        letters, total = dead_letters.page(source=topic, status=Status.PENDING)
    assert total == 5
    by_raw = {letter.raw: letter for letter in letters}
    assert by_raw[b"{not json"].errors[0].field == "body"
    assert by_raw[record(bad_amount)].errors[0].field == "payload.amount"
    assert by_raw[invalid[1]].errors == (
        FieldError(
            "type", "unknown event type 'transaction.reversed.twice'; see GET /v1/event-types"
        ),
    )
    assert by_raw[invalid[3]].errors == (FieldError("[1].subjectId", "must be a UUID"),)
    assert "empty" in by_raw[b""].errors[0].message
    origin = by_raw[b"{not json"].origin
    assert origin.stream == topic and origin.partition is not None
    # The offsets moved past every message, the dead-lettered ones included.
    committed = kafka_broker.committed(topic, group, PARTITIONS)
    assert sum(committed.values()) == len(values)

    # Every message delivered again (a group that starts over, as after a crash before the
    # commit): the log and the table already hold all of it.
    with connector(kafka_broker, twin, topic, f"{group}-again") as again:
        wait_for(lambda: again().records == len(values), "every message taken again")
    assert (again().appended, again().duplicates, again().dead_lettered) == (0, 20, 0)
    assert len(twin.logged_ids()) == 20 and twin.dead_lettered() == 5


@contextmanager
def connector_process(
    broker: KafkaBroker, twin: Twin, topic: str, group: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``banktwin ingest kafka`` in a process of its own (killed if still running at the end)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKTWIN_")}
    args = [sys.executable, "-m", "banktwin", "ingest", "kafka"]
    args += ["--bootstrap", broker.bootstrap, "--topic", topic, "--group", group]
    args += ["--source", "payments", "--batch-size", "20", "--data-dir", str(twin.data_dir)]
    for key, value in GROUP_TIMEOUTS.items():
        args += ["-X", f"{key}={value}"]
    log_file = twin.data_dir.parent / f"connector-{time.monotonic_ns()}.log"
    with log_file.open("wb") as output:
        process = subprocess.Popen(args, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        print(log_file.read_text(errors="replace"))  # shown when the test fails


def logged_count(twin: Twin) -> int:
    if not (twin.data_dir / "twin.db").exists():
        return 0
    with twin.opened() as (log, _):
        return sum(log.end_offsets().values())


def test_a_connector_killed_while_consuming_loses_and_duplicates_nothing(
    kafka_broker: KafkaBroker, twin: Twin
) -> None:
    topic, group = kafka_broker.create_topic(PARTITIONS), f"g-{uuid.uuid4().hex[:8]}"
    values: list[bytes | None] = []
    keys: list[str] = []
    named: set[str] = set()
    for n in range(1000):
        customer = new_id()
        events = [registered(customer), opened(customer), posted(customer)]
        for i, event in enumerate(events):
            with_id = (n + i) % 2 == 0  # half of them name no id: theirs is fixed by offset
            if with_id:
                named.add(event.event_id)
            values.append(record(wire(event, with_id=with_id)))
            keys.append(customer)
        if n % 50 == 0:
            values.append(record({**wire(posted(customer)), "type": "nope"}))
            keys.append(customer)
    valid, invalid = 3000, 20
    assert len(values) == valid + invalid
    kafka_broker.produce(topic, values, keys)

    with connector_process(kafka_broker, twin, topic, group) as first:
        wait_for(lambda: logged_count(twin) > 0, "the first events logged", within_s=60)
        first.send_signal(signal.SIGKILL)  # mid-batch, between a write and a commit, or anywhere
        first.wait()
        at_kill = logged_count(twin)
    print(f"killed with {at_kill} of {valid} events logged")
    assert 0 < at_kill < valid, "the connector was not killed while consuming"

    with connector_process(kafka_broker, twin, topic, group) as second:
        wait_for(
            lambda: logged_count(twin) >= valid and twin.dead_lettered() >= invalid,
            "every message taken after the restart",
            within_s=120,
        )
        wait_for(
            lambda: sum(kafka_broker.committed(topic, group, PARTITIONS).values()) == len(values),
            "the offsets committed past every message",
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0  # a stop signal stops it cleanly

    logged = twin.logged_ids()
    assert len(logged) == valid and len(set(logged)) == valid  # nothing lost, nothing twice
    assert named <= set(logged)
    assert twin.dead_lettered() == invalid


def banktwin(twin: Twin, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKTWIN_")}
    return subprocess.run(
        [sys.executable, "-m", "banktwin", *args, "--data-dir", str(twin.data_dir)],
        env={**env, "COLUMNS": "200"},
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_a_fixed_dead_letter_is_replayed_into_the_log_from_the_command_line(
    kafka_broker: KafkaBroker, twin: Twin, tmp_path: Path
) -> None:
    topic, group = kafka_broker.create_topic(1), f"g-{uuid.uuid4().hex[:8]}"
    customer = new_id()
    broken = wire(registered(customer), with_id=False)
    broken["payload"]["email"] = "not an email"
    kafka_broker.produce(topic, [record(wire(opened(customer))), record(broken)])
    with connector(kafka_broker, twin, topic, group) as totals:
        wait_for(lambda: totals().records == 2, "both messages taken")

    listed = banktwin(twin, "dead-letters", "list", "--source", topic, "--json")
    assert listed.returncode == 0, listed.stderr
    [letter] = json.loads(listed.stdout)["items"]
    assert letter["status"] == "pending" and letter["origin"]["position"] == 1
    assert letter["errors"][0]["field"] == "payload.email"
    assert json.loads(letter["raw"]) == json.loads(record(broken))

    as_received = banktwin(twin, "dead-letters", "replay", letter["id"])
    assert as_received.returncode == 1
    assert "payload.email" in as_received.stderr and "nothing appended" in as_received.stderr

    fixed = tmp_path / "fixed.json"
    fixed.write_bytes(record(wire(registered(customer), with_id=False)))
    replayed = banktwin(twin, "dead-letters", "replay", letter["id"], "--file", str(fixed))
    assert replayed.returncode == 0, replayed.stderr
    expected_id = streamed_event_id(topic, Origin(topic, 0, 1), 0)
    assert f"event {expected_id} appended" in replayed.stdout
    assert expected_id in twin.logged_ids() and len(twin.logged_ids()) == 2

    shown = banktwin(twin, "dead-letters", "show", letter["id"], "--json")
    assert json.loads(shown.stdout)["status"] == "replayed"
    again = banktwin(twin, "dead-letters", "discard", letter["id"], "--reason", "late")
    assert again.returncode == 2 and "already replayed" in again.stderr
    table = banktwin(twin, "dead-letters", "list")
    assert table.returncode == 0 and "replayed" in table.stdout


def test_a_dead_letter_is_discarded_with_a_reason(twin: Twin) -> None:
    with twin.opened() as (_, dead_letters):
        from banktwin.ingest.dead_letters import new_dead_letter

        kept = new_dead_letter(
            "payments", Origin("payments", 0, 4), b"{}", [FieldError("type", "x")], utc_now()
        )
        dead_letters.add([kept])
    missing_reason = banktwin(twin, "dead-letters", "discard", kept.letter_id, "--reason", " ")
    assert missing_reason.returncode == 2 and "--reason" in missing_reason.stderr
    discarded = banktwin(twin, "dead-letters", "discard", kept.letter_id, "--reason", "test data")
    assert discarded.returncode == 0, discarded.stderr
    shown: dict[str, Any] = json.loads(
        banktwin(twin, "dead-letters", "show", kept.letter_id, "--json").stdout
    )
    assert shown["status"] == "discarded" and shown["note"] == "test data"
    unknown = banktwin(twin, "dead-letters", "show", "no-such-letter")
    assert unknown.returncode == 2 and "no dead letter no-such-letter" in unknown.stderr
