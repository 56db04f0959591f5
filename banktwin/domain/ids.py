"""Event ids: UUIDv7 (RFC 9562), whose first 48 bits are a Unix time in milliseconds.

An event id is the key of the log's idempotency index. Random (v4) ids land all over that
index, so every batch rewrites most of its pages; time-ordered ids land at its end, as the
offsets do, and a batch touches a handful (what that saves: docs/performance.md, "Shortcuts in
the domain"). Clients may still send any UUID.
"""

from __future__ import annotations

import os
import time

_VERSION_7 = 0x7000
_VARIANT_RFC = 0x8000


def uuid7_text(unix_ms: int, entropy: bytes) -> str:
    """The canonical text of the UUIDv7 with time ``unix_ms`` and 74 bits taken from the
    first ten bytes of ``entropy`` (random for fresh ids, a hash for reproducible ones)."""
    rand_a = int.from_bytes(entropy[:2]) & 0x0FFF
    rand_b = int.from_bytes(entropy[2:10]) & 0x3FFF_FFFF_FFFF_FFFF
    h = (
        f"{unix_ms & 0xFFFF_FFFF_FFFF:012x}{_VERSION_7 | rand_a:04x}"
        f"{(_VARIANT_RFC << 48) | rand_b:016x}"
    )
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_event_id() -> str:
    """A fresh UUIDv7 for an event whose sender gave none (reads the clock and the OS's
    random source: the one impure helper of the domain, kept here beside the format)."""
    return uuid7_text(time.time_ns() // 1_000_000, os.urandom(10))
