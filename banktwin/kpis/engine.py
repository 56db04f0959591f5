"""The KPI engine: bank-wide figures kept by a consumer of the log.

Its state is the aggregates of :mod:`banktwin.kpis.aggregates`, one set per log partition, in
the key-value state store, committed with the consumer's positions. Counters (events per
minute, transactions and alerts raised per hour) are counted from zero in memory and added to
what is stored when the work is committed; totals, customers' facts and alerts are read before
the events that change them are folded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from banktwin.consumers.engine import Checkpoint
from banktwin.domain.events import Event
from banktwin.kpis import documents as docs
from banktwin.kpis.aggregates import PartitionKpis, TransactionSums, keys_needed
from banktwin.log.port import LoggedEvent
from banktwin.store.kv import KeyValueStore

KPI_CONSUMER = "kpis"


@dataclass
class KpiWork:
    """What the KPI engine applied since its last commit, per partition."""

    partitions: dict[int, PartitionKpis] = field(default_factory=dict)
    events: int = 0


class KpiEngine:
    """Bank-wide KPIs: data completeness, events per type and source, transactions per
    channel, open and raised alerts by severity, the alerts' outcomes and the customers' risk
    scores, kept over time."""

    def __init__(self, store: KeyValueStore, *, name: str = KPI_CONSUMER) -> None:
        self._store = store
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def positions(self) -> dict[int, int]:
        return self._store.positions(self._name)

    def begin(self) -> KpiWork:
        return KpiWork()

    def process(self, work: KpiWork, batch: Sequence[LoggedEvent]) -> list[Event]:
        self._load(work, batch)
        partitions = work.partitions
        for logged in batch:
            partitions[logged.partition].count(logged.event)
        for kpis in partitions.values():
            kpis.close_batch()
        work.events += len(batch)
        return []

    def _load(self, work: KpiWork, batch: Sequence[LoggedEvent]) -> None:
        """Read the totals of partitions new to ``work`` and the customers' facts and alerts
        the batch names that ``work`` does not hold yet, in one store read."""
        wanted: dict[str, tuple[int, str, str]] = {}
        for logged in batch:
            partition = logged.partition
            kpis = work.partitions.get(partition)
            if kpis is None:
                wanted[docs.key(partition, docs.TOTALS)] = (partition, "totals", "")
            customer, alert, risk = keys_needed(logged.event)
            if customer is not None and (kpis is None or customer not in kpis.customers):
                wanted[docs.key(partition, docs.CUSTOMER + customer)] = (
                    partition,
                    "customer",
                    customer,
                )
            if alert is not None and (kpis is None or alert not in kpis.alerts):
                wanted[docs.key(partition, docs.ALERT + alert)] = (partition, "alert", alert)
            if risk is not None and (kpis is None or risk not in kpis.risk):
                wanted[docs.key(partition, docs.RISK + risk)] = (partition, "risk", risk)
        if not wanted:
            return
        found = self._store.get_many(self._name, list(wanted))
        for stored_key, (partition, kind, _) in wanted.items():
            if kind == "totals":
                work.partitions[partition] = PartitionKpis(
                    docs.decode_totals(found.get(stored_key))
                )
        for stored_key, (partition, kind, ident) in wanted.items():
            raw = found.get(stored_key)
            kpis = work.partitions[partition]
            if kind == "customer":
                kpis.customers[ident] = None if raw is None else docs.decode_facts(raw)
            elif kind == "alert":
                kpis.alerts[ident] = None if raw is None else docs.decode_alert(raw)
            elif kind == "risk":
                kpis.risk[ident] = None if raw is None else docs.decode_risk(raw)

    def commit(self, work: KpiWork, checkpoint: Checkpoint) -> None:
        self._store.commit(checkpoint, self._documents(work))

    def _documents(self, work: KpiWork) -> dict[str, bytes | None]:
        """Every key the work changes, with its new document (counters added to the stored
        ones)."""
        puts: dict[str, bytes | None] = {}
        counter_keys = [
            docs.key(p, name)
            for p, kpis in work.partitions.items()
            for name in (
                *(docs.EVENTS + minute for minute in kpis.events_per_minute),
                *(docs.TRANSACTIONS + hour for hour in kpis.transactions_per_hour),
                *(docs.RAISED + hour for hour in kpis.alerts_raised_per_hour),
            )
        ]
        stored = self._store.get_many(self._name, counter_keys) if counter_keys else {}
        for p, kpis in work.partitions.items():
            puts[docs.key(p, docs.TOTALS)] = docs.encode_totals(kpis.totals)
            for minute, counts in kpis.events_per_minute.items():
                k = docs.key(p, docs.EVENTS + minute)
                merged = docs.decode_event_counts(stored.get(k))
                for type_source, n in counts.items():
                    merged[type_source] = merged.get(type_source, 0) + n
                puts[k] = docs.encode_event_counts(merged)
            for hour, sums in kpis.transactions_per_hour.items():
                k = docs.key(p, docs.TRANSACTIONS + hour)
                totals = docs.decode_transaction_sums(stored.get(k))
                for channel_key, counted in sums.items():
                    totals.setdefault(channel_key, TransactionSums()).add(counted)
                puts[k] = docs.encode_transaction_sums(totals)
            for hour, raised in kpis.alerts_raised_per_hour.items():
                k = docs.key(p, docs.RAISED + hour)
                by_severity = docs.decode_raised_counts(stored.get(k))
                for severity, n in raised.items():
                    by_severity[severity] = by_severity.get(severity, 0) + n
                by_severity = {severity: n for severity, n in by_severity.items() if n}
                if by_severity:
                    puts[k] = docs.encode_raised_counts(by_severity)
                elif k in stored:  # its only alert moved to an earlier hour
                    puts[k] = None
            for hour, snapshot in kpis.history.items():
                puts[docs.key(p, docs.HISTORY + hour)] = docs.encode_snapshot(snapshot)
            for changed in kpis.changed:
                kind, _, ident = changed.partition("/")
                if kind == "customer":
                    facts = kpis.customers[ident]
                    assert facts is not None
                    puts[docs.key(p, changed)] = docs.encode_facts(facts)
                elif kind == "risk":
                    mark = kpis.risk[ident]
                    assert mark is not None
                    puts[docs.key(p, changed)] = docs.encode_risk(mark)
                else:
                    alert = kpis.alerts[ident]
                    assert alert is not None
                    puts[docs.key(p, changed)] = docs.encode_alert(alert)
        return puts

    def reset(self) -> None:
        self._store.reset(self._name)
