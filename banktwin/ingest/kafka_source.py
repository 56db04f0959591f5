"""The Kafka source connector: a topic of producers' JSON events into the log.

Each message is one event as ``POST /v1/events`` takes it (or a JSON array of them, all or
nothing). Messages are consumed in batches and handed to the
:class:`~banktwin.ingest.stream_intake.StreamIntake`; the group's offsets are committed by hand
(``enable.auto.commit=false``) and **only after** the batch's events are in the log and its
refused messages in the dead-letter table. Delivery is at least once and both writes are
idempotent (event ids, dead-letter ids fixed by topic, partition and offset), so each message
takes effect once, whatever crash comes between the writes and the commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from banktwin.errors import ConfigurationError, ConflictError, UnavailableError
from banktwin.ingest.dead_letters import Origin
from banktwin.ingest.record_events import StreamRecord
from banktwin.ingest.stream_intake import IntakeTally, StreamIntake

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
"""Most messages taken in one batch (one append, one commit)."""
POLL_S = 0.5
"""How long one poll waits for a message: also how soon a stop is noticed."""
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Waits before taking a batch again when the log or the table cannot be written; then the
connector stops (its offsets stay where the last durable batch left them)."""
_FIXED = {"enable.auto.commit": False, "enable.auto.offset.store": False}
"""What the delivery guarantee rests on: offsets move only when this connector commits."""


def consumer_config(
    bootstrap: str, group: str, options: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The consumer's librdkafka configuration: the group reads a new topic from its start;
    ``options`` (``-X``) may set anything else (security, timeouts) but the manual commits.

    Raises:
        ConfigurationError: ``options`` tries to turn automatic commits on.
    """
    given = dict(options or {})
    for key in _FIXED:
        if key in given:
            raise ConfigurationError(
                f"-X {key}: the connector commits offsets itself, after each batch is durable"
            )
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "client.id": f"banktwin-{group}",
        **given,
        **_FIXED,
    }


class KafkaSource:
    """Consumes one topic into a :class:`StreamIntake` until stopped."""

    def __init__(
        self,
        config: Mapping[str, Any],
        topic: str,
        intake: StreamIntake,
        *,
        batch_size: int = BATCH_SIZE,
        poll_s: float = POLL_S,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
    ) -> None:
        self._config = dict(config)
        self._topic = topic
        self._intake = intake
        self._batch_size = batch_size
        self._poll_s = poll_s
        self._retry_delays_s = retry_delays_s
        self.committed: dict[int, int] = {}
        """Per partition of the topic, the next offset this connector committed."""
        self._reported: set[str] = set()

    def run(
        self, stop: threading.Event, on_batch: Callable[[IntakeTally], None] | None = None
    ) -> IntakeTally:
        """Consume until ``stop`` is set, then leave the group; returns what was taken.

        ``on_batch`` is told the running totals after each committed batch.

        Raises:
            ConfigurationError: librdkafka refused the configuration.
            UnavailableError: the broker failed fatally, or the log or the dead-letter table
                stayed unwritable; the last batch was not committed and is read again.
        """
        try:
            consumer = Consumer(self._config)
        except KafkaException as exc:
            raise ConfigurationError(
                f"--bootstrap/--group/-X: the Kafka client refused the configuration: {exc}"
            ) from None
        totals = IntakeTally()
        try:
            consumer.subscribe([self._topic])
            while not stop.is_set():
                messages = self._poll(consumer)
                if not messages:
                    continue
                batch = self._take(messages, stop)
                if batch is None:
                    break  # stopped while retrying: nothing committed, read again next time
                self._commit(consumer, messages)
                totals.add(batch)
                if on_batch is not None:
                    on_batch(totals)
        finally:
            consumer.close()
        return totals

    def _poll(self, consumer: Consumer) -> list[Message]:
        """The next batch: waits for a first message (up to ``poll_s``), then takes what else
        is already fetched, up to the batch size. Waiting for a full batch instead would hold
        a trickle of events back for the whole timeout."""
        try:
            first = consumer.poll(self._poll_s)
            polled = [] if first is None else [first]
            if polled and self._batch_size > 1:
                polled += consumer.consume(self._batch_size - 1, 0)
        except KafkaException as exc:
            raise UnavailableError(f"could not consume {self._topic}: {exc}") from exc
        messages = []
        for message in polled:
            error = message.error()
            if error is None:
                messages.append(message)
            elif error.fatal():
                raise UnavailableError(f"could not consume {self._topic}: {error}")
            elif error.code() != KafkaError._PARTITION_EOF:
                self._report(str(error))
        return messages

    def _report(self, error: str) -> None:
        """Log a broker error once (librdkafka retries by itself; a topic that does not exist
        yet is reported on every poll)."""
        if error not in self._reported:
            self._reported.add(error)
            log.warning("kafka %s: %s", self._topic, error)

    def _take(self, messages: list[Message], stop: threading.Event) -> IntakeTally | None:
        """The batch made durable; ``None`` if ``stop`` was set while waiting to retry."""
        records = [StreamRecord(self._origin(message), message.value()) for message in messages]
        for delay in (*self._retry_delays_s, None):
            try:
                return self._intake.take(records)
            except (UnavailableError, ConflictError) as exc:
                if delay is None:
                    raise UnavailableError(
                        f"{self._intake.source}: could not write a batch of {len(records)} "
                        f"messages after {len(self._retry_delays_s)} retries: {exc}"
                    ) from exc
                log.warning("%s: %s; taking the batch again in %s s", self._topic, exc, delay)
                if stop.wait(delay):
                    return None
        return None

    def _origin(self, message: Message) -> Origin:
        """Where a consumed message is (a consumed message always has a partition and an
        offset; the client's types allow none)."""
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None
        return Origin(message.topic() or self._topic, partition, offset)

    def _commit(self, consumer: Consumer, messages: list[Message]) -> None:
        """Commit the offsets after the batch's last message of each partition. A commit
        refused because the group rebalanced meanwhile is dropped: the partition's new owner
        reads those messages again, and they change nothing twice."""
        ends: dict[tuple[str, int], int] = {}
        for message in messages:
            origin = self._origin(message)
            key = (origin.stream, origin.partition or 0)
            ends[key] = max(ends.get(key, 0), origin.position + 1)
        offsets = [TopicPartition(topic, part, end) for (topic, part), end in ends.items()]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("%s: offsets not committed (read again later): %s", self._topic, exc)
            return
        self.committed.update({partition: end for (_, partition), end in ends.items()})
