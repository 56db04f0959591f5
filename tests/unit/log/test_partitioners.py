"""Partitioners: Kafka's murmur2 bit for bit, the legacy crc32, and the bounded cache."""

from __future__ import annotations

import random
import uuid

import pytest

from banktwin.errors import ConfigurationError
from banktwin.log.partitioners import (
    CRC32,
    MURMUR2,
    crc32_partition,
    kafka_partition,
    murmur2,
    murmur2_partition,
    partition_function,
    subject_partitioner,
)
from banktwin.log.port import partition_for

# Apache Kafka's clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java (testMurmur2),
# and five more its implementation gives (as quoted by Akka's Murmur2Spec).
KAFKA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
    b"1": -1993445489,
    b"12": 126087238,
    b"123": -267702483,
    b"1234": -1614185708,
    b"12345": -1188365604,
}


@pytest.mark.parametrize(("key", "expected"), KAFKA_VECTORS.items())
def test_murmur2_matches_kafkas_utils_murmur2(key: bytes, expected: int) -> None:
    assert murmur2(key) == expected


def test_murmur2_is_a_signed_32_bit_int_for_every_tail_length() -> None:
    rng = random.Random(7)
    for length in range(40):
        h = murmur2(rng.randbytes(length))
        assert -(2**31) <= h < 2**31


def test_kafka_partition_is_the_positive_hash_modulo_the_partitions() -> None:
    for key, h in KAFKA_VECTORS.items():
        for partitions in (1, 3, 8, 1024):
            assert kafka_partition(key, partitions) == (h & 0x7FFFFFFF) % partitions
    # a negative hash is made positive by masking the sign bit (Kafka's toPositive), not abs()
    assert kafka_partition(b"21", 7) == (-973932308 & 0x7FFFFFFF) % 7 != abs(-973932308) % 7


def test_a_subjects_key_is_its_ids_utf8_bytes() -> None:
    subject = "kundin-Übersee-ø"
    assert murmur2_partition(subject, 12) == kafka_partition(subject.encode("utf-8"), 12)


def test_crc32_is_the_placement_logs_made_before_kept() -> None:
    for _ in range(200):
        subject = str(uuid.uuid4())
        assert crc32_partition(subject, 5) == partition_for(subject, 5)


def test_the_cached_partition_is_the_computed_one_for_many_subjects() -> None:
    rng = random.Random(11)
    subjects = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(3000)]
    subjects += ["", "a", "ab", "abc", "é", "C-000042", "x" * 1000]
    for name in (MURMUR2, CRC32):
        cached = subject_partitioner(name, 7, cache_subjects=500)
        place = partition_function(name)
        for subject in subjects * 2 + rng.sample(subjects, 1000):  # misses, hits, evicted
            assert cached(subject) == place(subject, 7)


def test_the_cache_stays_bounded() -> None:
    cached = subject_partitioner(MURMUR2, 4, cache_subjects=100)
    for i in range(10_000):
        cached(f"subject-{i}")
    info = cached.cache_info()  # type: ignore[attr-defined]
    assert info.currsize == info.maxsize == 100
    cached("subject-9999")
    assert cached.cache_info().hits == 1  # type: ignore[attr-defined]


def test_an_unknown_partitioner_is_refused_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="'fnv1a'"):
        subject_partitioner("fnv1a", 4)
