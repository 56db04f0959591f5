"""Payloads of the staged fraud engine's re-keyed record: transactions and labels by entity.

A terminal's, merchant's or merchant category's transactions come from many customers, so from
many partitions of the log. The staged fraud engine (``docs/fraud.md``, "Scaling out") re-keys
them through the log, as Kafka Streams' repartition topics do: the customer stage appends, per
transaction, a hop keyed by its first entity (``<kind>:<key>``, so the hop lands in that
entity's partition); the entity stage that owns the partition folds it, adds the entity's
features to a debit being scored and passes the hop on to the transaction's next entity; the
last one scores. A fraud report reaches each entity of its transaction as a label.

These events have no twin (:attr:`~banktwin.domain.events.SubjectKind.ENTITY`) and only the
fraud engine appends them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from banktwin.domain.payloads.common import Identifier, Payload, ShortText


class EntityKind(StrEnum):
    """What an entity subject names, in the order a transaction's hops visit them: the fewest
    keys first, so the last stage (the one that scores) is spread over the most keys."""

    CATEGORY = "category"
    MERCHANT = "merchant"
    TERMINAL = "terminal"


class EntityHop(Payload):
    """A transaction reaching one of its entities (the event's subject is that entity)."""

    transaction_id: Identifier
    customer_id: Identifier
    """The transaction's customer: an alert is raised on them."""
    entity: EntityKind
    """Which of the transaction's entities this hop is for."""
    terminal_id: Identifier | None = None
    merchant: ShortText | None = None
    merchant_category: ShortText | None = None
    features: dict[str, int | float | bool] | None = Field(None, max_length=200)
    """A debit being scored: its features so far (the customer's, and the entities' already
    visited); ``None`` for a transaction that is only counted (a credit, or a debit scored
    before)."""


class EntityLabel(Payload):
    """A reported fraud reaching one entity of its transaction (the event's subject)."""

    transaction_id: Identifier
    entity: EntityKind
    transaction_at: datetime
    """When the fraudulent transaction happened (the event's ``occurredAt`` is when the bank
    learned it, as for ``fraud.reported``)."""
