"""Event ids are UUIDv7: time first, so the log's id index grows at its end."""

from __future__ import annotations

import time
import uuid

from banktwin.domain.ids import new_event_id, uuid7_text


def test_uuid7_layout_keeps_time_version_and_variant() -> None:
    text = uuid7_text(0x0123_4567_89AB, bytes(range(0xF0, 0xFA)))
    parsed = uuid.UUID(text)
    assert str(parsed) == text
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == 0x0123_4567_89AB
    assert text.startswith("01234567-89ab-70f1-b2f3-")  # rand_a 0x0f1: 4 bits dropped


def test_fresh_ids_are_unique_and_ordered_by_the_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_event_id() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 1000
    stamps = [uuid.UUID(i).int >> 80 for i in ids]
    assert stamps == sorted(stamps)
    assert before <= stamps[0] and stamps[-1] <= after
