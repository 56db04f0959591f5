"""How the KPI engine stores a customer's facts and an alert's state, and that a store written
before the facts kept their times keeps working without a rebuild."""

from __future__ import annotations

import pytest

from banktwin.consumers.consumer import Consumer
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.completeness import ALL_FACTS, FACT_BITS, NO_FACTS, CustomerFacts
from banktwin.kpis import documents as docs
from banktwin.kpis.aggregates import AlertState
from banktwin.kpis.engine import KPI_CONSUMER, KpiEngine
from banktwin.kpis.reader import KpiReader
from banktwin.log.memory import InMemoryEventLog
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.factories import T0, event, new_id, registered

AT = 1_757_944_800_000_000  # 2025-09-15T14:00Z in epoch microseconds


@pytest.mark.parametrize(
    ("facts", "stored"),
    [
        (NO_FACTS, b"0"),
        (CustomerFacts(FACT_BITS["accounts"]), b"64"),  # no profile fact written yet
        (CustomerFacts(ALL_FACTS, (AT,) * 5), b"[255,%d]" % AT),  # one registration
        (
            CustomerFacts(31, (AT, AT, AT + 1, None, AT)),
            b"[31,%d,%d,%d,null,%d]" % (AT, AT, AT + 1, AT),
        ),
    ],
)
def test_facts_are_stored_compactly_and_read_back(facts: CustomerFacts, stored: bytes) -> None:
    assert docs.encode_facts(facts) == stored
    assert docs.decode_facts(stored) == facts


def test_a_mask_stored_before_times_were_kept_reads_with_unknown_times() -> None:
    assert docs.decode_facts(b"255") == CustomerFacts(ALL_FACTS, (None,) * 5)


def test_an_alert_settled_before_its_raise_is_stored_without_severity() -> None:
    assert docs.decode_alert(docs.encode_alert(AlertState(None, False))) == AlertState(None, False)
    assert docs.decode_alert(b'["high",true]') == AlertState("high", True)  # as stored before


def test_a_store_of_the_older_format_keeps_working() -> None:
    """A customer's facts stored as a bare mask: the first profile write replaces each fact
    whatever its time (the mask's times are unknown), and keeps its own time from then on."""
    log, kv = InMemoryEventLog(partitions=1), InMemoryKeyValueStore()
    cid = new_id()
    log.append([registered(cid, minutes=10)])
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    positions = kv.positions(KPI_CONSUMER)
    key = docs.key(0, docs.CUSTOMER + cid)
    kv.commit(Checkpoint(KPI_CONSUMER, positions, positions), {key: b"63"})  # as stored before

    update = "customer.profile_updated"
    log.append(
        [
            event(update, cid, {"email": None}, minutes=5),  # older than the registration
            event(update, cid, {"email": "jane@example.com"}, minutes=4),  # older still
        ]
    )
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    facts = docs.decode_facts(kv.get_many(KPI_CONSUMER, [key])[key])
    assert facts.mask == 63 & ~FACT_BITS["email"]
    assert facts.times[2] is not None and facts.times[0] is None
    completeness = KpiReader(kv, 1).report(T0).completeness
    assert (completeness.customers, completeness.percent) == (1, 62.5)  # 5 facts of 8
