"""How often the cycle collector runs while the API serves.

CPython runs its young-generation collection every 700 net allocations of tracked containers
by default. Reading a batch of 2,000 events allocates tens of thousands of them (parsed
dicts, validated envelopes, payload models, events), most alive until the batch is appended,
so young collections keep promoting a batch's live objects until a full collection scans the
whole heap. Under ``POST /v1/events`` with batches of 2,000 that cost 20-27 µs of the
server's 78-86 µs per event (CPU, 60,000 transactions over 4 connections; nearly all of it in
about ten full collections of ~110 ms each). With the young generation collected every
10,000 allocations a batch's objects mostly die young, no full collection ran in the same
run, and the server spent 52-60 µs per event (figures and the fence in
``docs/performance.md``).

Reference counting still frees everything acyclic at once; only cyclic garbage waits a
little longer, and the older generations keep their default ratios. The setting is
process-wide, so it is applied while the app is served and put back when it stops.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

SERVING_YOUNG_THRESHOLD = 10_000
"""Net allocations of tracked containers between young-generation collections while serving
(CPython's default: 700)."""


@contextmanager
def serving_collector(young: int = SERVING_YOUNG_THRESHOLD) -> Iterator[None]:
    """Run the young generation every ``young`` allocations (never less often than the
    process already does) until the block ends, then restore the thresholds it found."""
    before = gc.get_threshold()
    gc.set_threshold(max(young, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
