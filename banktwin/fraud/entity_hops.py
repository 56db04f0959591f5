"""How the staged fraud engine re-keys transactions and labels by entity through the log.

A transaction's entities are its merchant category, merchant and terminal, visited in
:class:`~banktwin.domain.payloads.fraud_routing.EntityKind` order, skipping the ones it lacks.
An entity's subject id is ``<kind>:<key>``, so its hops and labels land in its partition and
the entity stage owning that partition keeps its state.

- A debit being scored travels the chain: the customer stage sends it, with the customer's
  features, to its first entity; each entity stage adds its entity's features and passes it on;
  the last one decides.
- Any other transaction (a credit, or a debit before the ``scored-until`` mark) only has to be
  counted: the customer stage sends it to each of its entities at once.
- A fraud report reaches each entity of its transaction as a label.

Every id is fixed by its cause (the transaction, its route, the entity and, for a label, when
the fraud was learned), so a hop or label emitted again after a crash appends nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from banktwin.domain.events import Event, new_event
from banktwin.domain.payloads.fraud_routing import EntityHop, EntityKind, EntityLabel
from banktwin.fraud.entities import Route
from banktwin.fraud.features import Features
from banktwin.fraud.windows import EPOCH, MICROSECOND

HOP_NAMESPACE: Final = uuid.UUID("8f1d3c52-7b0e-4a51-b0a4-3c9e2f6d7a10")
SOURCE: Final = "fraud-engine"


def entities_of(route: Route) -> list[tuple[EntityKind, str]]:
    """A route's entities in the order hops visit them."""
    _, terminal, merchant, category = route
    found = []
    if category is not None:
        found.append((EntityKind.CATEGORY, category))
    if merchant is not None:
        found.append((EntityKind.MERCHANT, merchant))
    if terminal is not None:
        found.append((EntityKind.TERMINAL, terminal))
    return found


def entity_subject(kind: EntityKind, key: str) -> str:
    """The subject id of an entity: ``<kind>:<key>``."""
    return f"{kind.value}:{key}"


def from_micros(at: int) -> datetime:
    """The time of integer microseconds since the epoch."""
    return EPOCH + at * MICROSECOND


def route_of(hop: EntityHop, at: int) -> Route:
    """The route a hop carries (``at``: its transaction's time)."""
    return (at, hop.terminal_id, hop.merchant, hop.merchant_category)


def hop_event(
    transaction_id: str,
    customer_id: str,
    route: Route,
    entity: tuple[EntityKind, str],
    features: Features | None,
) -> Event:
    """The hop of a transaction to one of its entities (``features``: a debit being scored,
    with its features so far)."""
    at, terminal, merchant, category = route
    kind, key = entity
    cause = f"hop|{transaction_id}|{at}|{terminal}|{merchant}|{category}|{kind.value}"
    # Built without validation (``model_construct``): every value comes from a validated
    # transaction or from the features; a hop is made per entity of every transaction, and
    # validating its features was a third of its cost. A test validates hops as made.
    return new_event(
        EntityHop.model_construct(
            transaction_id=transaction_id,
            customer_id=customer_id,
            entity=kind,
            terminal_id=terminal,
            merchant=merchant,
            merchant_category=category,
            features=None if features is None else dict(features),
        ),
        subject_id=entity_subject(kind, key),
        occurred_at=from_micros(at),
        source=SOURCE,
        event_id=str(uuid.uuid5(HOP_NAMESPACE, cause)),
    )


def label_event(
    transaction_id: str, route: Route, entity: tuple[EntityKind, str], known: int
) -> Event:
    """The label a fraud report gives one entity of its transaction, known since ``known``."""
    kind, key = entity
    cause = f"label|{transaction_id}|{route[0]}|{kind.value}|{key}|{known}"
    return new_event(
        EntityLabel(
            transaction_id=transaction_id, entity=kind, transaction_at=from_micros(route[0])
        ),
        subject_id=entity_subject(kind, key),
        occurred_at=from_micros(known),
        source=SOURCE,
        event_id=str(uuid.uuid5(HOP_NAMESPACE, cause)),
    )
