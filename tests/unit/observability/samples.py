"""Reading what this test process's metrics hold (they count across tests: compare before and
after)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from banktwin.observability.instruments import instruments


def sample(name: str, **labels: str) -> float:
    """The value of a sample of this process's metrics (0 when it has none yet)."""
    return instruments().registry.get_sample_value(name, labels) or 0.0


def parsed(exposition: bytes | str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """An exposition, parsed by prometheus_client's own parser: per sample name, the value of
    each label set (a malformed exposition raises)."""
    text = exposition.decode() if isinstance(exposition, bytes) else exposition
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        found.setdefault(family.name, {})
        for s in family.samples:
            found.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return found
