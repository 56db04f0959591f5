"""The fraud engine's state as bytes: customers' feature state and the entity book.

The engine snapshots its state into its store (:mod:`banktwin.fraud.engine`); these codecs
turn :class:`~banktwin.fraud.features.CustomerState` and
:class:`~banktwin.fraud.entities.EntityBook` into MessagePack and back, field by field (never
pickle: a snapshot is data, not code). Each object is a list of its fields in the order of
the ``*_FIELDS`` tuples below; a test fails if a class gains a field these do not carry.
The feature configuration is not stored: it is the engine's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from banktwin.fraud.entities import EntityBook, EntityRisk
from banktwin.fraud.features import CardState, CustomerState
from banktwin.fraud.windows import DEFAULT_CONFIG, FeatureConfig

FORMAT: Final = 1
"""Bumped when the encoding changes: a snapshot of another format is not read (the engine
rebuilds from the log instead)."""

CUSTOMER_FIELDS: Final = (
    "debit_times",
    "debit_cents",
    "debit_squares",
    "debit_flags",
    "login_times",
    "login_devices",
    "failed_login_times",
    "contact_change_times",
    "devices",
    "channels",
    "countries",
    "reports",
    "cards",
    "newest",
)
"""Every field of :class:`CustomerState` but ``config``, in encoding order."""
CARD_FIELDS: Final = (
    "times",
    "cents",
    "countries",
    "place_times",
    "place_lat",
    "place_lon",
    "newest",
)
ENTITY_FIELDS: Final = ("times", "fraud_times", "fraud_known", "fraud_ids", "newest")
BOOK_FIELDS: Final = (
    "terminals",
    "merchants",
    "categories",
    "routes",
    "reports",
    "newest",
    "swept",
)
"""Every field of :class:`EntityBook` but ``config``, in encoding order."""

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


def _card(card: CardState) -> list[Any]:
    return [getattr(card, name) for name in CARD_FIELDS]


def _customer(state: CustomerState) -> list[Any]:
    fields: list[Any] = [getattr(state, name) for name in CUSTOMER_FIELDS]
    fields[CUSTOMER_FIELDS.index("cards")] = {k: _card(c) for k, c in state.cards.items()}
    return fields


def encode_customers(states: Mapping[str, CustomerState]) -> bytes:
    """Customers' states, by customer id."""
    return _encoder.encode([FORMAT, {k: _customer(s) for k, s in states.items()}])


def decode_customers(
    data: bytes, config: FeatureConfig = DEFAULT_CONFIG
) -> dict[str, CustomerState] | None:
    """What :func:`encode_customers` wrote (``None``: another format)."""
    version, raw = _decoder.decode(data)
    if version != FORMAT:
        return None
    states = {}
    for customer_id, fields in raw.items():
        state = CustomerState(config)
        raw_cards: dict[str, list[Any]] = {}
        for name, value in zip(CUSTOMER_FIELDS, fields, strict=True):
            if name == "cards":
                raw_cards = value
            else:
                setattr(state, name, value)
        for token, card_fields in raw_cards.items():
            card = CardState()
            for name, value in zip(CARD_FIELDS, card_fields, strict=True):
                setattr(card, name, value)
            state.cards[token] = card
        states[customer_id] = state
    return states


def _entities(entities: Mapping[str, EntityRisk]) -> dict[str, list[Any]]:
    return {k: [getattr(e, name) for name in ENTITY_FIELDS] for k, e in entities.items()}


def _decode_entities(raw: Mapping[str, list[Any]]) -> dict[str, EntityRisk]:
    out = {}
    for key, fields in raw.items():
        entity = EntityRisk()
        for name, value in zip(ENTITY_FIELDS, fields, strict=True):
            setattr(entity, name, value)
        out[key] = entity
    return out


def encode_book(book: EntityBook) -> bytes:
    """The entity book: terminals, merchants, categories, routes and reports."""
    return _encoder.encode(
        [
            FORMAT,
            _entities(book.terminals),
            _entities(book.merchants),
            _entities(book.categories),
            book.routes,
            book.reports,
            book.newest,
            book.swept,
        ]
    )


def decode_book(data: bytes, config: FeatureConfig = DEFAULT_CONFIG) -> EntityBook | None:
    """What :func:`encode_book` wrote (``None``: another format)."""
    version, terminals, merchants, categories, routes, reports, newest, swept = _decoder.decode(
        data
    )
    if version != FORMAT:
        return None
    return EntityBook(
        config,
        terminals=_decode_entities(terminals),
        merchants=_decode_entities(merchants),
        categories=_decode_entities(categories),
        # A route is a tuple: the book compares routes for equality.
        routes=OrderedDict((k, [tuple(route) for route in v]) for k, v in routes.items()),
        reports=reports,
        newest=newest,
        swept=swept,
    )
