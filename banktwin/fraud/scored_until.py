"""How far a fraud engine has scored: positions kept across a reset of its state.

A rebuild (``banktwin replay``) resets an engine and folds the log again from the start. The
debits before the positions it had committed were scored then, and their alerts are in the
log; scoring them again, perhaps with a model promoted since that learnt from them, would raise
new alerts on old debits. So a reset first raises the engine's ``scored-until`` mark to its
committed positions and keeps the mark, and the rebuild applies every event before it without
scoring. The demo raises the mark to the end of the history it trained its first model on.

Both shapes of the engine keep the mark this way: the single engine
(:mod:`banktwin.fraud.engine`) and each stage of the staged one
(:mod:`banktwin.fraud.stage_engine`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import msgspec

from banktwin.consumers.engine import Checkpoint
from banktwin.store.kv import KeyValueStore

SCORED_UNTIL: Final = "scored-until"
"""The key of the mark in the engine's own store."""

_DECODER = msgspec.msgpack.Decoder(dict[int, int])
_ENCODER = msgspec.msgpack.Encoder()


def load_scored_until(store: KeyValueStore, engine: str) -> dict[int, int]:
    """The engine's mark: per partition, the offset before which nothing is scored."""
    stored = store.get_many(engine, [SCORED_UNTIL]).get(SCORED_UNTIL)
    return {} if stored is None else _DECODER.decode(stored)


def raise_scored_until(
    store: KeyValueStore, engine: str, positions: Mapping[int, int]
) -> dict[int, int]:
    """Raise the engine's mark to at least ``positions`` (it never moves back); the new mark."""
    until = _raised(load_scored_until(store, engine), positions)
    store.commit(Checkpoint(engine, {}, {}), {SCORED_UNTIL: _ENCODER.encode(until)})
    return until


def reset_keeping_mark(store: KeyValueStore, engine: str) -> dict[int, int]:
    """Delete the engine's state and positions, keeping its mark raised to those positions;
    the mark."""
    until = _raised(load_scored_until(store, engine), store.positions(engine))
    store.reset(engine)
    if any(until.values()):
        store.commit(Checkpoint(engine, {}, {}), {SCORED_UNTIL: _ENCODER.encode(until)})
    return until


def _raised(until: dict[int, int], positions: Mapping[int, int]) -> dict[int, int]:
    raised = dict(until)
    for partition, offset in positions.items():
        raised[partition] = max(raised.get(partition, 0), offset)
    return raised
