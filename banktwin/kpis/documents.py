"""How the KPI aggregates are kept in the key-value state store: keys and JSON documents.

Every key starts with its partition (``0003/…``), so one partition's consumer is the only
writer of its keys and a reader scans each partition's range and adds them up.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from banktwin.kpis.aggregates import (
    AlertState,
    Snapshot,
    Totals,
    TransactionKey,
    TransactionSums,
)

_encoder = msgspec.json.Encoder(decimal_format="string")
_decode = msgspec.json.decode

TOTALS = "totals"
CUSTOMER = "customer/"
ALERT = "alert/"
EVENTS = "events/"
TRANSACTIONS = "transactions/"
HISTORY = "history/"


def key(partition: int, name: str) -> str:
    """``name`` (``totals``, ``events/2026-11-30T09:41`` …) under its partition."""
    return f"{partition:04d}/{name}"


def split_key(stored: str) -> tuple[int, str]:
    """The partition and the name of a stored key."""
    partition, _, name = stored.partition("/")
    return int(partition), name


def encode_totals(t: Totals) -> bytes:
    return _encoder.encode(
        {
            "customers": t.customers,
            "facts": t.facts,
            "complete": t.complete_customers,
            "events": t.events,
            "transactions": t.transactions,
            "openAlerts": t.open_alerts,
            "watermark": t.watermark,
        }
    )


def decode_totals(raw: bytes | None) -> Totals:
    if raw is None:
        return Totals()
    doc = _decode(raw)
    mark = doc["watermark"]
    return Totals(
        doc["customers"],
        doc["facts"],
        doc["complete"],
        doc["events"],
        doc["transactions"],
        doc["openAlerts"],
        None if mark is None else datetime.fromisoformat(mark),
    )


def encode_snapshot(s: Snapshot) -> bytes:
    return _encoder.encode(
        {
            "customers": s.customers,
            "facts": s.facts,
            "complete": s.complete_customers,
            "openAlerts": s.open_alerts,
        }
    )


def decode_snapshot(raw: bytes) -> Snapshot:
    doc = _decode(raw)
    return Snapshot(doc["customers"], doc["facts"], doc["complete"], doc["openAlerts"])


def encode_facts(mask: int) -> bytes:
    return str(mask).encode()


def decode_facts(raw: bytes) -> int:
    return int(raw)


def encode_alert(a: AlertState) -> bytes:
    return _encoder.encode([a.severity, a.open])


def decode_alert(raw: bytes) -> AlertState:
    severity, is_open = _decode(raw)
    return AlertState(severity, is_open)


def encode_event_counts(counts: dict[tuple[str, str], int]) -> bytes:
    return _encoder.encode(sorted([t, s, n] for (t, s), n in counts.items()))


def decode_event_counts(raw: bytes | None) -> dict[tuple[str, str], int]:
    return {} if raw is None else {(t, s): n for t, s, n in _decode(raw)}


def encode_transaction_sums(sums: dict[TransactionKey, TransactionSums]) -> bytes:
    return _encoder.encode(sorted([*k, s.count, s.amount] for k, s in sums.items()))


def decode_transaction_sums(raw: bytes | None) -> dict[TransactionKey, TransactionSums]:
    if raw is None:
        return {}
    return {
        (c, d, cur): TransactionSums(n, Decimal(amount)) for c, d, cur, n, amount in _decode(raw)
    }
