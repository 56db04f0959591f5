"""One contract, every dead-letter table adapter: memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from banktwin.adapters import open_dead_letter_store, open_kv_store
from banktwin.errors import ConflictError, NotFoundError
from banktwin.ingest.dead_letters import (
    DeadLetter,
    DeadLetterStore,
    Origin,
    SourceCounts,
    Status,
    dead_letter_id,
    new_dead_letter,
)
from banktwin.intake import FieldError
from tests.contract.state_stores import BACKENDS, DURABLE_BACKENDS, backend_url, reopening

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
StoreFactory = Callable[[], DeadLetterStore]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return backend_url(request.param, request, tmp_path)


@pytest.fixture
def factory(store_url: str) -> Iterator[StoreFactory]:
    """Opens the same table again each call (memory: the same object)."""
    yield from reopening(open_dead_letter_store, store_url)


@pytest.fixture
def store(factory: StoreFactory) -> DeadLetterStore:
    return factory()


def letter(
    offset: int,
    *,
    source: str = "payments",
    topic: str = "payments",
    partition: int | None = 0,
    raw: bytes = b'{"type": "transaction.posted"}',
    at: datetime = T0,
) -> DeadLetter:
    errors = [FieldError("subjectId", "is required: the customer id (a UUID)")]
    return new_dead_letter(source, Origin(topic, partition, offset), raw, errors, at)


class TestDeadLetterStoreContract:
    def test_a_letter_is_kept_as_received_with_its_reason(self, factory: StoreFactory) -> None:
        raw = b'{"type": "nope", "amount": 1.10}\xff\x00'
        errors = [FieldError("type", "unknown event type 'nope'"), FieldError("body", "bad")]
        kept = new_dead_letter("payments", Origin("payments", 3, 1500), raw, errors, T0)
        assert factory().add([kept]) == 1
        again = factory().get(kept.letter_id)  # as another process sees it
        assert again == kept
        assert again.status is Status.PENDING and again.resolved_at is None
        assert again.received_at == T0 and again.raw == raw
        assert again.origin.describe() == "payments[3]@1500"

    def test_the_id_is_fixed_by_the_origin_and_a_letter_read_again_is_kept_once(
        self, store: DeadLetterStore
    ) -> None:
        first = letter(7)
        assert first.letter_id == dead_letter_id("payments", Origin("payments", 0, 7))
        assert store.add([first, letter(8)]) == 2
        assert store.add([letter(7, at=T0 + timedelta(minutes=5)), letter(9)]) == 1
        letters, total = store.page()
        assert total == 3
        assert [d.origin.position for d in letters] == [7, 8, 9]
        assert letters[0].received_at == T0  # the first reading is the one kept
        assert letter(7, source="other").letter_id != first.letter_id
        assert letter(7, partition=1).letter_id != first.letter_id

    def test_a_file_origin_has_no_partition(self, store: DeadLetterStore) -> None:
        kept = letter(17, source="loads", topic="loads/day1.ndjson", partition=None)
        store.add([kept])
        found = store.get(kept.letter_id)
        assert found is not None and found.origin == Origin("loads/day1.ndjson", None, 17)
        assert found.origin.describe() == "loads/day1.ndjson:17"

    def test_pages_are_stable_and_filtered_by_source_and_status(
        self, store: DeadLetterStore
    ) -> None:
        store.add([letter(n, source="payments" if n % 2 else "customers") for n in range(10)])
        store.resolve(letter(3).letter_id, Status.DISCARDED, "test data", T0)
        everything, total = store.page(limit=4)
        assert total == 10 and [d.origin.position for d in everything] == [0, 1, 2, 3]
        rest, _ = store.page(limit=100, offset=4)
        assert [d.origin.position for d in rest] == [4, 5, 6, 7, 8, 9]
        payments, total = store.page(source="payments", status=Status.PENDING, limit=2, offset=1)
        assert total == 4 and [d.origin.position for d in payments] == [5, 7]
        discarded, total = store.page(status=Status.DISCARDED)
        assert total == 1 and discarded[0].note == "test data"
        assert store.page(source="nobody") == ([], 0)

    def test_counts_per_source_total_pending_and_since(self, store: DeadLetterStore) -> None:
        assert store.counts(T0) == {}
        store.add(
            [
                letter(1, at=T0 - timedelta(minutes=20)),
                letter(2, at=T0 - timedelta(minutes=1)),
                letter(3, at=T0),
                letter(4, source="customers", at=T0 - timedelta(hours=2)),
            ]
        )
        store.resolve(letter(1).letter_id, Status.REPLAYED, "fixed", T0)
        since = T0 - timedelta(minutes=15)
        assert store.counts(since) == {
            "customers": SourceCounts(total=1, pending=1, since=0),
            "payments": SourceCounts(total=3, pending=2, since=2),
        }

    def test_a_letter_is_resolved_once(self, factory: StoreFactory) -> None:
        store = factory()
        kept = letter(1)
        store.add([kept])
        at = T0 + timedelta(hours=1)
        resolved = store.resolve(kept.letter_id, Status.REPLAYED, "1 event appended", at)
        assert resolved.status is Status.REPLAYED and resolved.resolved_at == at
        assert factory().get(kept.letter_id) == resolved
        with pytest.raises(ConflictError, match="already replayed"):
            store.resolve(kept.letter_id, Status.DISCARDED, "no", at)
        with pytest.raises(NotFoundError):
            store.resolve(letter(2).letter_id, Status.DISCARDED, "no", at)
        with pytest.raises(ValueError, match="not pending"):
            store.resolve(kept.letter_id, Status.PENDING, "no", at)
        assert store.add([kept]) == 0  # read again: the settled letter stays settled
        again = store.get(kept.letter_id)
        assert again is not None and again.status is Status.REPLAYED

    def test_an_unknown_id_is_none_and_an_empty_add_writes_nothing(
        self, store: DeadLetterStore
    ) -> None:
        assert store.get("no-such-letter") is None
        assert store.add([]) == 0
        store.ping()


@pytest.mark.parametrize("backend", DURABLE_BACKENDS)
def test_it_shares_the_state_stores_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = backend_url(backend, request, tmp_path)
    kv = open_kv_store(url)  # both migrated in one file / schema
    table = open_dead_letter_store(url)
    try:
        table.add([letter(1)])
        kv.ping()
        assert table.page()[1] == 1
    finally:
        table.close()
        kv.close()
