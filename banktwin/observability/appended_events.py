"""``banktwin_events_appended_total``: events the API's intake appended, by type and source.

The source label is the OAuth client that posted the events, not the envelope's ``source``
field: a client may write anything there (up to 100 characters), while the clients are a small
set an operator configured, so the label stays a closed set and holds nothing personal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from banktwin.domain.events import Event
from banktwin.log.port import AppendResult
from banktwin.observability.instruments import instruments


def count_appended(events: Sequence[Event], results: Sequence[AppendResult], source: str) -> None:
    """Count the events of one append that were new to the log (duplicates are not appended
    again). One increment per event type, whatever the batch's size: batches of thousands are
    the intake's busiest path."""
    if any(r.duplicate for r in results):
        types = Counter(e.type for e, r in zip(events, results, strict=False) if not r.duplicate)
    else:
        types = Counter(e.type for e in events)
    counter = instruments().events_appended
    for type_, n in types.items():
        counter.labels(type_, source).inc(n)
