import signal
import threading
from collections.abc import Iterator

import pytest

from banktwin.stop_signals import STOP_SIGNALS, stop_on_signals


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    event = threading.Event()
    stop_on_signals(event)
    yield event
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", STOP_SIGNALS)
def test_a_stop_signal_sets_the_event(stop: threading.Event, signum: int) -> None:
    signal.raise_signal(signum)
    assert stop.wait(5)


def test_a_signal_arriving_while_the_event_is_locked_does_not_deadlock(
    stop: threading.Event,
) -> None:
    # The handler runs wherever the main thread is: inside stop.set() or stop.wait() it finds
    # the event's (non-reentrant) lock held by its own thread.
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler)

    def signalled_inside_set() -> None:
        with stop._cond:  # type: ignore[attr-defined]
            handler(signal.SIGTERM, None)

    interrupted = threading.Thread(target=signalled_inside_set, daemon=True)
    interrupted.start()
    interrupted.join(5)
    assert not interrupted.is_alive(), "the handler waited on the lock its own thread holds"
    assert stop.wait(5)


def test_signals_after_the_first_change_nothing(stop: threading.Event) -> None:
    signal.raise_signal(signal.SIGINT)
    signal.raise_signal(signal.SIGTERM)
    assert stop.wait(5)
    assert stop.is_set()
