"""The staged fraud engine's first stage: customer and card features, and the re-keying.

It runs over the partitions its process owns (customers, like the twin) and keeps, per
partition, each customer's feature state and a :class:`RouteBook` of its transactions. For each
``transaction.posted`` it folds the customer state and, once per distinct route of the
transaction, sends it on to its entities (:mod:`banktwin.fraud.entity_hops`): a debit to score
travels the chain of its entities with its customer features (computed as of the transaction,
before it is folded), any other transaction goes to each entity to be counted. A debit without
any entity is decided here. A ``fraud.reported`` becomes a label for each entity of its
transaction (the book holds a report that arrives first until its transaction does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import msgspec

from banktwin.domain.events import Event
from banktwin.fraud.engine import FOLDED_TYPES, is_scored, scored_debit
from banktwin.fraud.entities import EntityBook, Route
from banktwin.fraud.entity_hops import entities_of, hop_event, label_event
from banktwin.fraud.features import CustomerState, Features, features_at
from banktwin.fraud.stage_engine import Outbox, StageEngine
from banktwin.fraud.state_codec import (
    decode_book,
    decode_customers,
    encode_book,
    encode_customers,
)

FRAUD_CUSTOMER_STAGE: Final = "fraud-customers"

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(tuple[bytes, bytes])


@dataclass(slots=True)
class RouteBook(EntityBook):
    """An :class:`EntityBook` that keeps no entity state: its routes and reports join a report
    to its transaction's route in either order, and what the joins conclude is recorded for
    the stage to send on (``added``: new routes; ``frauds``: routes whose transaction became
    known fraud, and since when)."""

    added: list[tuple[str, Route]] = field(default_factory=list)
    frauds: list[tuple[str, Route, int]] = field(default_factory=list)

    def _route_added(self, transaction_id: str, route: Route) -> None:
        self.added.append((transaction_id, route))

    def _fold_fraud(self, transaction_id: str, route: Route, known: int) -> None:
        self.frauds.append((transaction_id, route, known))


@dataclass(slots=True)
class CustomerPartition:
    """What the stage keeps about one partition."""

    customers: dict[str, CustomerState]
    routes: RouteBook


class CustomerStage(StageEngine[CustomerPartition]):
    """The first stage (see the module)."""

    @property
    def event_types(self) -> frozenset[str]:
        return FOLDED_TYPES

    def new_state(self) -> CustomerPartition:
        return CustomerPartition({}, RouteBook(self.config))

    def encode(self, state: CustomerPartition) -> bytes:
        return _ENCODER.encode((encode_customers(state.customers), encode_book(state.routes)))

    def decode(self, data: bytes) -> CustomerPartition | None:
        raw_customers, raw_routes = _DECODER.decode(data)
        customers = decode_customers(raw_customers, self.config)
        book = decode_book(raw_routes, self.config)
        if customers is None or book is None:
            return None
        routes = RouteBook(self.config)
        routes.routes, routes.reports = book.routes, book.reports
        routes.newest, routes.swept = book.newest, book.swept
        return CustomerPartition(customers, routes)

    def apply(self, state: CustomerPartition, event: Event, out: Outbox | None) -> None:
        if event.type not in FOLDED_TYPES:
            return
        customer = state.customers.get(event.subject_id)
        if customer is None:
            customer = state.customers[event.subject_id] = CustomerState(self.config)
        scoring = out is not None and out.scoring and is_scored(event)
        features = features_at(customer, event) if scoring else None
        customer.fold(event)
        book = state.routes
        if event.type not in ("transaction.posted", "fraud.reported"):
            return
        book.fold(event)
        added, frauds = book.added, book.frauds
        if out is not None:
            for transaction_id, route in added:
                self._send(out, event, transaction_id, route, features)
            for transaction_id, route, known in frauds:
                out.events.extend(
                    label_event(transaction_id, route, entity, known)
                    for entity in entities_of(route)
                )
        added.clear()
        frauds.clear()

    def _send(
        self,
        out: Outbox,
        event: Event,
        transaction_id: str,
        route: Route,
        features: Features | None,
    ) -> None:
        """Send a transaction's new route on: a debit to score along its chain (or decided
        here without entities), anything else to each entity to be counted."""
        entities = entities_of(route)
        customer_id = event.subject_id
        if features is None:
            out.events.extend(
                hop_event(transaction_id, customer_id, route, entity, None) for entity in entities
            )
        elif entities:
            out.events.append(hop_event(transaction_id, customer_id, route, entities[0], features))
        else:
            out.debits.append(scored_debit(event, features))
