"""Projecting with several processes: the log's partitions split between them.

A subject's events all sit in one partition, so processes with disjoint partitions never write
the same twin; each commits its own partitions' positions. Python runs one thread at a time
per process, so this is how a worker uses more than one core.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

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


def run_worker_processes(
    groups: list[list[int]], data_dir: Path | None, stop: threading.Event
) -> int | None:
    """Run ``banktwin worker --partitions …`` once per group until ``stop`` is set or one of
    them exits; then stop the others.

    Returns:
        ``None`` after a requested stop, else the exit code of the process that ended first
        (a supervisor such as systemd restarts the whole worker).
    """
    base = [sys.executable, "-m", "banktwin", "worker", "--processes", "1"]
    if data_dir is not None:
        base += ["--data-dir", str(data_dir)]
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    children = [
        subprocess.Popen([*base, "--partitions", ",".join(map(str, g))], env=env) for g in groups
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
