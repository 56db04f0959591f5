"""The staged fraud engine's second stage: terminals, merchants and categories, and deciding.

It runs over the partitions its process owns, which hold the entities' hops and labels
(``<kind>:<key>`` subjects: :mod:`banktwin.fraud.entity_hops`), and keeps, per partition, an
:class:`~banktwin.fraud.entities.EntityBook` of those entities only. A hop is counted by its
entity; a hop carrying a debit's features gets the entity's features as of the transaction
(leak-free as in the single engine: only transactions before it, only labels known by its time
less the label delay) and goes on to the transaction's next entity, or, at the last one, is
decided (rules, champion model, policy: :class:`~banktwin.fraud.scorer.Scorer`). A label tells
its entity the transaction was fraud, and since when.
"""

from __future__ import annotations

from typing import Final

from banktwin.domain.events import Event
from banktwin.domain.payloads.fraud_routing import EntityHop, EntityKind, EntityLabel
from banktwin.fraud.entities import EntityBook, EntityRisk
from banktwin.fraud.entity_hops import entities_of, hop_event, route_of
from banktwin.fraud.scorer import ScoredDebit
from banktwin.fraud.stage_engine import Outbox, StageEngine
from banktwin.fraud.state_codec import decode_book, encode_book
from banktwin.fraud.windows import to_micros

FRAUD_ENTITY_STAGE: Final = "fraud-entities"
ENTITY_TYPES: Final = frozenset({"fraud.entity_hop", "fraud.entity_label"})


class EntityStage(StageEngine[EntityBook]):
    """The second stage (see the module)."""

    @property
    def event_types(self) -> frozenset[str]:
        return ENTITY_TYPES

    def new_state(self) -> EntityBook:
        return EntityBook(self.config)

    def encode(self, state: EntityBook) -> bytes:
        return encode_book(state)

    def decode(self, data: bytes) -> EntityBook | None:
        return decode_book(data, self.config)

    def apply(self, state: EntityBook, event: Event, out: Outbox | None) -> None:
        payload = event.payload
        if isinstance(payload, EntityHop):
            self._hop(state, event, payload, out)
        elif isinstance(payload, EntityLabel):
            at = to_micros(payload.transaction_at)
            entity = _entity(state, payload.entity, _key(event))
            entity.fold_fraud(
                payload.transaction_id, at, to_micros(event.occurred_at), state.retention
            )

    def _hop(self, book: EntityBook, event: Event, hop: EntityHop, out: Outbox | None) -> None:
        at = to_micros(event.occurred_at)
        key = _key(event)
        if out is not None and out.scoring and hop.features is not None:
            features = {**hop.features, **book.features_of(hop.entity, key, at)}
            route = route_of(hop, at)
            entities = entities_of(route)
            following = entities.index((hop.entity, key)) + 1
            if following < len(entities):
                out.events.append(
                    hop_event(
                        hop.transaction_id, hop.customer_id, route, entities[following], features
                    )
                )
            else:
                out.debits.append(
                    ScoredDebit(hop.transaction_id, hop.customer_id, event.occurred_at, features)
                )
        _entity(book, hop.entity, key).fold_transaction(at, book.retention)


def _key(event: Event) -> str:
    """The entity's key: its subject id after ``<kind>:``."""
    return event.subject_id.split(":", 1)[1]


def _entity(book: EntityBook, kind: EntityKind, key: str) -> EntityRisk:
    entities = book.of_kind(kind)
    found = entities.get(key)
    if found is None:
        found = entities[key] = EntityRisk()
    return found
