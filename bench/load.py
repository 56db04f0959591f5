"""A small HTTP/1.1 keep-alive load generator on raw asyncio sockets.

Python HTTP clients (httpx, aiohttp) spend more CPU per request than the server under test;
on a 2-core machine that would measure the client. This one writes a prepared request and
reads ``Content-Length`` bytes back, nothing more, so most of the CPU goes to the server.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(int(len(ordered) * p), len(ordered) - 1)] if ordered else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "requests_per_s": round(self.rps, 1),
            "p50_ms": round(self.percentile(0.50), 3),
            "p99_ms": round(self.percentile(0.99), 3),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 3) if self.latencies_ms else 0,
            "requests": self.requests,
            "errors": self.errors,
        }


def _request(host: str, port: int, paths: list[str], token: str | None) -> list[bytes]:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return [
        (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\n").encode() for path in paths
    ]


async def _connection(
    host: str,
    port: int,
    requests: list[bytes],
    stop_at: float,
    record_from: float,
    latencies: list[float],
    errors: list[int],
    offset: int,
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    i = offset
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                break
            writer.write(requests[i % len(requests)])
            i += 1
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if not status_line.startswith(b"HTTP/1.1 200"):
                errors[0] += 1
            if now >= record_from:
                latencies.append((time.perf_counter() - now) * 1000)
                done += 1
    finally:
        writer.close()
    return done


async def _run(
    host: str, port: int, requests: list[bytes], connections: int, seconds: float, warmup: float
) -> LoadResult:
    start = time.perf_counter()
    record_from = start + warmup
    stop_at = record_from + seconds
    latencies: list[float] = []
    errors = [0]
    counts = await asyncio.gather(
        *(
            _connection(host, port, requests, stop_at, record_from, latencies, errors, n * 7919)
            for n in range(connections)
        )
    )
    return LoadResult(sum(counts), errors[0], seconds, latencies)


def generate_load(
    host: str,
    port: int,
    paths: list[str],
    *,
    token: str | None = None,
    connections: int = 16,
    seconds: float = 8.0,
    warmup: float = 2.0,
) -> LoadResult:
    """GET ``paths`` round-robin over ``connections`` keep-alive connections for ``seconds``
    (after ``warmup``), and report throughput and latency."""
    return asyncio.run(
        _run(host, port, _request(host, port, paths, token), connections, seconds, warmup)
    )
