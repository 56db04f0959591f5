"""Stopping a long-running command on SIGTERM and SIGINT without deadlocking it."""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_on_signals(stop: threading.Event, signals: tuple[int, ...] = STOP_SIGNALS) -> None:
    """Set ``stop`` when one of ``signals`` arrives (call from the main thread).

    A Python signal handler runs in the main thread between two bytecodes, possibly while that
    thread is inside ``stop.set()`` or ``stop.wait()`` holding the event's lock, which is not
    reentrant: setting the event right there would wait on that lock forever. This happens:
    Ctrl+C in a terminal signals a worker and its processes at once, and the worker then
    signals its processes again. So the handler hands the ``set`` to a short-lived thread,
    which takes the lock once the main thread lets it go.
    """

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            threading.Thread(target=stop.set, name="stop-signal", daemon=True).start()

    for signum in signals:
        signal.signal(signum, on_signal)
