"""Running one step of alerting work at a fixed interval, in a thread of its own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from banktwin.errors import UnavailableError

log = logging.getLogger(__name__)


def run_periodically(
    step: Callable[[], object], stop: threading.Event, interval_s: float, what: str
) -> None:
    """Call ``step`` every ``interval_s`` until ``stop`` is set. A failure is logged (``what``
    names the work) and the step is tried again at the next tick: its state is in the store,
    so a failed step has changed nothing."""
    while not stop.is_set():
        try:
            step()
        except UnavailableError as exc:
            log.warning("alerting: %s failed, the store or log is unavailable: %s", what, exc)
        except Exception:
            log.exception("alerting: %s failed; trying again", what)
        stop.wait(interval_s)
