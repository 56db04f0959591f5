"""Events to stored rows and back."""

from __future__ import annotations

import dataclasses

import pytest

from banktwin.log.codec import decode_event, encode_payload
from tests.factories import T0, new_id, posted


def test_a_stored_event_reads_back_equal_and_frozen() -> None:
    original = dataclasses.replace(posted(new_id(), "12.50", "ACC1"), recorded_at=T0)
    read = decode_event(
        original.event_id,
        original.type,
        original.version,
        original.subject_id,
        original.occurred_at,
        T0,
        original.source,
        encode_payload(original.payload),
    )
    assert read == original  # every field set, the payload equal
    assert {f.name: getattr(read, f.name) for f in dataclasses.fields(read)} == {
        f.name: getattr(original, f.name) for f in dataclasses.fields(original)
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.type = "customer.login"  # type: ignore[misc]
