"""Consuming with several processes: the log's partitions split between them.

A subject's events all sit in one partition, so processes with disjoint partitions never write
the same twin (or any other engine's key); each commits its own partitions' positions. Python
runs one thread at a time per process, so this is how ``banktwin worker`` and ``serve`` use
more than one core.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from banktwin.config import Settings
from banktwin.observability.multiprocess import forget_process

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0
PARENT_ENV = "BANKTWIN_WORKER_PARENT"
"""Set for the processes a worker starts: the worker's pid (see :func:`stop_if_orphaned`)."""
ORPHAN_CHECK_S = 0.5


def default_processes(partitions: int) -> int:
    """One process per core, at most one per partition."""
    return max(1, min(os.cpu_count() or 1, partitions))


def split_partitions(partitions: Sequence[int], processes: int) -> list[list[int]]:
    """``partitions`` dealt round-robin to ``processes`` groups (none empty)."""
    groups = [list(partitions[i::processes]) for i in range(processes)]
    return [g for g in groups if g]


WHOLE_LOG_CONSUMERS = frozenset({"fraud", "risk"})
"""Consumers that read every partition, whatever partitions their process is given (their
state spans subjects: the fraud engine's terminals and merchants, the risk engine's loan
applications). When the partitions are
split between processes, only the first process runs them."""


def consumers_of_group(consumers: Sequence[str], index: int) -> list[str]:
    """The consumers the ``index``-th of the processes the partitions are split between runs."""
    return [c for c in consumers if index == 0 or c not in WHOLE_LOG_CONSUMERS]


RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
HEALTHY_RUN_S = 60.0
"""Processes that ran this long before one ended are restarted after the shortest wait."""


def worker_environment(settings: Settings, consumers: Sequence[str]) -> dict[str, str]:
    """The environment of a worker process: this one's, with the settings that locate the data
    made explicit (they may have come from options, not variables)."""
    return {
        **os.environ,
        PARENT_ENV: str(os.getpid()),
        "BANKTWIN_DATA_DIR": str(settings.data_dir),
        "BANKTWIN_LOG_URL": settings.event_log_url,
        "BANKTWIN_STORE_URL": settings.state_store_url,
        "BANKTWIN_CONSUMERS": ",".join(consumers),
    }


def run_worker_processes(
    groups: list[list[int]],
    settings: Settings,
    consumers: Sequence[str],
    stop: threading.Event,
    *,
    quiet: bool = False,
) -> int | None:
    """Run ``banktwin worker --partitions …`` (the given consumers) once per group until
    ``stop`` is set or one of them exits; then stop the others. ``quiet``: their standard
    output is dropped (what they log goes to standard error, as before).

    Returns:
        ``None`` after a requested stop, else the exit code of the process that ended first
        (a supervisor such as systemd restarts the whole worker).
    """
    base = [sys.executable, "-m", "banktwin", "worker", "--processes", "1"]
    children = [
        subprocess.Popen(
            [*base, "--partitions", ",".join(map(str, g))],
            env=worker_environment(settings, consumers_of_group(consumers, i)),
            stdout=subprocess.DEVNULL if quiet else None,
        )
        for i, g in enumerate(groups)
    ]
    ended: int | None = None
    try:
        while not stop.wait(0.5):
            codes = [c.poll() for c in children]
            if any(code is not None for code in codes):
                ended = next(code for code in codes if code is not None)
                break
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            forget_process(child.pid)
    return ended


def stop_if_orphaned(stop: threading.Event) -> None:
    """In a process a worker started (``PARENT_ENV`` set): set ``stop`` as soon as that worker
    is gone. A worker killed with SIGKILL cannot stop its processes, and they would go on
    projecting, unsupervised, next to the ones its restart starts."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or not parent.isdigit():
        return

    def watch() -> None:
        while not stop.wait(ORPHAN_CHECK_S):
            if os.getppid() != int(parent):
                stop.set()

    threading.Thread(target=watch, name="orphan-check", daemon=True).start()


def supervise_worker_processes(
    groups: list[list[int]], settings: Settings, consumers: Sequence[str], stop: threading.Event
) -> None:
    """:func:`run_worker_processes` until ``stop`` is set, starting them again (with back-off)
    when one ends: what ``serve`` does with its consumers, so a failing consumer never takes
    the API down with it."""
    failures = 0
    while not stop.is_set():
        started = time.monotonic()
        ended = run_worker_processes(groups, settings, consumers, stop, quiet=True)
        if ended is None:
            return
        if time.monotonic() - started > HEALTHY_RUN_S:
            failures = 0
        wait = RESTART_BACKOFF_S[min(failures, len(RESTART_BACKOFF_S) - 1)]
        failures += 1
        log.error("a consumer process ended (exit code %s); restarting in %.0f s", ended, wait)
        stop.wait(wait)
