"""How a log places subjects in partitions.

A new log uses Kafka's default partitioner of a keyed record (murmur2 of the key's bytes), so
a Kafka-protocol log, or any Kafka producer writing the same subject ids as keys, puts every
subject in the partition banktwin's own adapters put it in. A log created before that keeps
``crc32(subject) mod n`` for its lifetime: moving a subject's events between partitions would
break the order readers rely on. Each log records which one it uses (``log_meta``).
"""

from __future__ import annotations

import functools
import struct
import zlib
from collections.abc import Callable

from banktwin.errors import ConfigurationError

MURMUR2 = "murmur2"
CRC32 = "crc32"
PARTITIONERS = (MURMUR2, CRC32)

CACHE_SUBJECTS = 1 << 16
"""Subjects whose partition a log keeps at hand (least recently used go first). murmur2 in
Python costs about 4 µs for a UUID key, and subjects repeat heavily (a customer's every
transaction), so a cache hit (under 0.1 µs) replaces it; the bound keeps a log of millions of
subjects from growing without end (full, it holds about 11 MiB besides the ids)."""

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2``: 32-bit MurmurHash2 with Kafka's seed, as a signed int.

    Java's 32-bit signed arithmetic is reproduced with unsigned values masked to 32 bits (the
    same bits; Java's ``>>>`` is the unsigned shift), converted to signed at the end.
    """
    length = len(data)
    h = (_SEED ^ length) & _MASK
    blocks = length >> 2
    for k in struct.unpack_from(f"<{blocks}I", data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:  # Java's switch falls through: 3 takes in bytes 2, 1 and 0, then multiplies
        rest = blocks << 2
        if tail == 3:
            h ^= data[rest + 2] << 16
        if tail >= 2:
            h ^= data[rest + 1] << 8
        h ^= data[rest]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a record with ``key``:
    ``toPositive(murmur2(key)) % partitions``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def murmur2_partition(subject_id: str, partitions: int) -> int:
    """The partition of a subject in a log created by this build (the key is the subject id's
    UTF-8 bytes)."""
    return kafka_partition(subject_id.encode(), partitions)


def crc32_partition(subject_id: str, partitions: int) -> int:
    """The partition of a subject in a log created before murmur2 was the default."""
    return zlib.crc32(subject_id.encode()) % partitions


_BY_NAME: dict[str, Callable[[str, int], int]] = {
    MURMUR2: murmur2_partition,
    CRC32: crc32_partition,
}


def check_partitioner(name: str) -> str:
    """``name`` if this build knows it; raise naming the log's record otherwise."""
    if name not in _BY_NAME:
        raise ConfigurationError(
            f"the event log records partitioner {name!r}, which this build does not know "
            f"(it knows {', '.join(PARTITIONERS)}): open it with the banktwin build that made it"
        )
    return name


def partition_function(name: str) -> Callable[[str, int], int]:
    """``(subject_id, partitions) -> partition`` of a partitioner, uncached."""
    return _BY_NAME[check_partitioner(name)]


def subject_partitioner(
    name: str, partitions: int, cache_subjects: int = CACHE_SUBJECTS
) -> Callable[[str], int]:
    """``subject_id -> partition`` for a log's partitioner and partition count, remembering
    the last ``cache_subjects`` subjects (least recently used go first; safe across threads).
    """
    place = partition_function(name)

    @functools.lru_cache(maxsize=cache_subjects)
    def partition_of(subject_id: str) -> int:
        return place(subject_id, partitions)

    return partition_of
