"""The fraud engine's snapshots: every field carried, and features unchanged by a round trip."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from banktwin.fraud.entities import EntityBook, EntityRisk
from banktwin.fraud.features import CardState, CustomerState, features_at
from banktwin.fraud.state_codec import (
    BOOK_FIELDS,
    CARD_FIELDS,
    CUSTOMER_FIELDS,
    ENTITY_FIELDS,
    decode_book,
    decode_customers,
    encode_book,
    encode_customers,
)
from tests.unit.fraud.test_features import MONDAY_NOON, login, report, txn


def test_the_codec_carries_every_field_of_the_state_classes() -> None:
    """Fails when a state class gains a field the snapshot would silently drop."""
    assert set(CUSTOMER_FIELDS) == {f.name for f in dataclasses.fields(CustomerState)} - {"config"}
    assert set(BOOK_FIELDS) == {f.name for f in dataclasses.fields(EntityBook)} - {"config"}
    assert set(CARD_FIELDS) == set(CardState.__slots__)
    assert set(ENTITY_FIELDS) == set(EntityRisk.__slots__)


def test_features_are_the_same_after_a_round_trip() -> None:
    history = [
        txn(
            MONDAY_NOON + timedelta(minutes=i),
            f"{10 + i}.00",
            txn_id=f"T{i}",
            lat=52.5,
            lon=13.4,
            device="dev-1",
            channel="card_present" if i % 2 else "ecommerce",
        )
        for i in range(20)
    ]
    history += [
        login(MONDAY_NOON + timedelta(hours=1), "dev-2"),
        report(MONDAY_NOON + timedelta(days=8), "T3"),
    ]
    state, book = CustomerState(), EntityBook()
    for each in history:
        state.fold(each)
        book.fold(each)
    target = txn(MONDAY_NOON + timedelta(days=9), "99.00", txn_id="NEW", lat=40.4, lon=-3.7)
    decoded = decode_customers(encode_customers({"c1": state}))
    decoded_book = decode_book(encode_book(book))
    assert decoded is not None and decoded_book is not None
    assert features_at(decoded["c1"], target, decoded_book) == features_at(state, target, book)
    # Folding goes on the same way after a restore.
    later = txn(MONDAY_NOON + timedelta(days=9, minutes=5), "5.00", txn_id="T-later")
    for s, b in ((state, book), (decoded["c1"], decoded_book)):
        s.fold(later)
        b.fold(later)
    assert features_at(decoded["c1"], target, decoded_book) == features_at(state, target, book)
    # A transaction seen again after a restore still counts once.
    decoded_book.fold(history[0])
    assert features_at(decoded["c1"], target, decoded_book) == features_at(state, target, book)
