"""``banktwin_job_duration_seconds``: how long a batch job took (``banktwin replay``, each
training of ``banktwin fraud train``), observed when it completes; a job that fails is not.

A job runs in a process of its own: it joins the multiprocess directory of a ``serve`` on the
same data directory first (:func:`~banktwin.observability.multiprocess.join_metrics_dir`), if
there is one, where the observation outlives the process and that ``serve`` exposes it."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from banktwin.observability.instruments import instruments

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def timed_job(job: str) -> Iterator[None]:
    """Observe the block's duration as job ``job``, if it completes without raising."""
    started = time.monotonic()
    yield
    instruments().job_duration.labels(job).observe(time.monotonic() - started)


def job_timed(job: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A function whose completed calls are observed as job ``job``."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            with timed_job(job):
                return function(*args, **kwargs)

        return timed

    return decorate
