"""The fast path of a batch: all its events validated in one call of pydantic-core.

Read one by one (:class:`~banktwin.intake.event_reader.EventReader`), each event of a batch
costs an envelope model and a payload model validated from Python, and most of that time is
spent crossing into pydantic-core and back. Here one ``TypeAdapter`` validates the whole
parsed batch: a list of envelopes (typed dicts), each with its type's payload model, chosen
by the ``type`` tag; the rules that are not a schema (the version, the clock) are then
checked in Python.

It only ever speeds up: it reads the same parsed values (exact decimals) with the same
payload models and envelope field types, and whatever it does not take exactly as the
reference reading would (any error, an older version, an id not in canonical form, a time
too far ahead), it declines, and the batch is read event by event, which also words the
errors. ``tests/unit/intake/test_whole_batch.py`` checks on a whole simulated bank that both
give identical events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Generic, Literal, NamedTuple, Required, TypeVar, Union

from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from banktwin.domain.events import EVENT_TYPES, Event, EventSpec
from banktwin.domain.ids import new_event_id

CANONICAL_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
CanonicalUuid = Annotated[str, Field(pattern=CANONICAL_UUID)]
"""A UUID already in the form the reference reading would turn it into (other spellings of a
UUID are declined, and read there)."""

TypeTag = TypeVar("TypeTag")
PayloadModel = TypeVar("PayloadModel")


class BatchEnvelope(TypedDict, Generic[TypeTag, PayloadModel], total=False):
    """:class:`~banktwin.intake.envelope.EventIn`, field for field, for one event type. A typed
    dict: no model instance per event."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    eventId: CanonicalUuid | None
    type: Required[TypeTag]
    version: int | None
    subjectId: Required[CanonicalUuid]  # a batch names each event's subject
    occurredAt: AwareDatetime | None
    source: Annotated[str, Field(min_length=1, max_length=100)] | None
    expectedVersion: Annotated[int, Field(ge=0)] | None
    payload: Required[PayloadModel]


def _envelope_of(spec: EventSpec) -> Any:
    tag: Any = Literal[spec.type]
    payload: Any = spec.payload
    return BatchEnvelope[tag, payload]


_POSTABLE = tuple(_envelope_of(spec) for spec in EVENT_TYPES.values() if not spec.projector_only)
_BATCH: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(
    list[Annotated[Union[_POSTABLE], Field(discriminator="type")]]  # type: ignore[valid-type]  # noqa: UP007
)


class WholeBatch(NamedTuple):
    """A batch's events, and the ``expectedVersion`` of those that carry one, by index."""

    events: list[Event]
    expectations: dict[int, int]


def read_whole_batch(
    items: Sequence[Any], *, source: str, now: datetime, max_future_skew: timedelta
) -> WholeBatch | None:
    """The events of a parsed batch, validated in one pass; ``None`` if any event needs the
    reference reading (an error to word, an older version to upcast …).

    Args:
        items: the batch's parsed JSON values (numbers with a fraction as ``Decimal``).
        source: the source of events that name none.
        now: the time of receipt.
        max_future_skew: how far ahead of ``now`` an ``occurredAt`` may be.
    """
    try:
        envelopes = _BATCH.validate_python(items)
    except ValidationError:
        return None
    latest = now + max_future_skew
    events: list[Event] = []
    expectations: dict[int, int] = {}
    specs = EVENT_TYPES
    for index, envelope in enumerate(envelopes):
        spec = specs[envelope["type"]]
        version = envelope.get("version")
        if version is not None and version != spec.version:
            return None
        occurred = envelope.get("occurredAt")
        if occurred is None:
            occurred = now
        elif occurred > latest:
            return None
        event_id = envelope.get("eventId")
        events.append(
            Event(
                event_id=new_event_id() if event_id is None else event_id,
                type=spec.type,
                subject_id=envelope["subjectId"],
                occurred_at=occurred,
                payload=envelope["payload"],
                source=envelope.get("source") or source,
                version=spec.version,
            )
        )
        expected = envelope.get("expectedVersion")
        if expected is not None:
            expectations[index] = expected
    return WholeBatch(events, expectations)
