"""The directory where every banktwin process of one data directory writes its metrics, so that
the API's scrape adds up what the consumer processes counted (prometheus-client's multiprocess
mode: one memory-mapped file per process and kind of metric, merged at each scrape).

- ``serve`` and ``demo``, the processes that start the others, call :func:`prepare_metrics_dir`
  first thing: it creates ``<data dir>/prometheus/``, deletes what earlier runs left there and
  names it in ``PROMETHEUS_MULTIPROC_DIR``, which the consumer processes they start inherit.
- Other commands on the same data directory (``worker``, ``replay``, ``fraud train``) call
  :func:`join_metrics_dir`: they write there too if a ``serve`` prepared it, so its scrape shows
  their commits and job durations; else their metrics stay in the process.
- A ``PROMETHEUS_MULTIPROC_DIR`` set before banktwin starts is used as it is and never wiped:
  whoever set it (a start-up script running ``serve`` and ``worker`` side by side) empties it
  before starting them, as the library requires.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from prometheus_client import values
from prometheus_client.multiprocess import mark_process_dead

from banktwin.observability.instruments import instruments

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DIR_NAME = "prometheus"


def metrics_dir() -> str | None:
    """The multiprocess directory this process writes to, if any."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_metrics_dir(data_dir: Path) -> str | None:
    """For the process that starts the others: ``<data_dir>/prometheus/``, created and emptied,
    and used from now on by this process and those it starts (an existing
    ``PROMETHEUS_MULTIPROC_DIR`` is used as given). Returns the directory, or ``None`` when it
    cannot be made (logged: the API then exposes only its own process's metrics)."""
    given = metrics_dir()
    if given is not None:
        _use(given)
        return given
    path = data_dir / DIR_NAME
    try:
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("metrics: cannot prepare %s (%s); /metrics shows this process only", path, exc)
        return None
    _use(str(path))
    return str(path)


def join_metrics_dir(data_dir: Path) -> str | None:
    """For a process started on its own: write metrics where a ``serve`` of the same data
    directory reads them, if it prepared its directory; never wipes it."""
    given = metrics_dir()
    if given is None and (data_dir / DIR_NAME).is_dir():
        given = str(data_dir / DIR_NAME)
    if given is not None:
        _use(given)
    return given


def forget_process(pid: int) -> None:
    """After a process that wrote to the directory ended: remove its files of ``live*`` gauges
    (the other kinds keep counting what it did; today banktwin has no live gauge, so this is
    the bookkeeping the library asks for, ready for one)."""
    directory = metrics_dir()
    if directory is not None:
        mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _use(directory: str) -> None:
    chosen_at_import = getattr(values.ValueClass, "_multiprocess", False)
    if not chosen_at_import and instruments.cache_info().currsize:
        raise RuntimeError(
            "banktwin's metrics were created before the multiprocess directory was chosen"
        )
    os.environ[MULTIPROC_ENV] = directory
    if not chosen_at_import:
        # prometheus_client chooses how values are stored when it is imported, which may have
        # been before the directory was known: choose again (no banktwin metric exists yet).
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
