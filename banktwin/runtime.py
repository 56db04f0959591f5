"""The running twin: the adapters the settings name and the projector thread."""

from __future__ import annotations

import threading

from banktwin.adapters import open_event_log, open_state_store
from banktwin.config import Settings
from banktwin.errors import ConfigurationError
from banktwin.log.port import EventLog
from banktwin.projector.projector import Projector
from banktwin.store.port import StateStore


class Runtime:
    """Owns the event log, the state store and the projector of one process."""

    def __init__(
        self, settings: Settings, *, log: EventLog | None = None, store: StateStore | None = None
    ) -> None:
        self.settings = settings
        self.log = log or open_event_log(settings.event_log_url)
        self.store = store or open_state_store(settings.state_store_url)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self.projector = Projector(
                self.log,
                self.store,
                batch_size=settings.projector_batch_size,
                partitions=settings.owned_partitions,
                commit_interval_s=settings.projector_commit_interval_s,
            )
        except ValueError as exc:
            self.close()
            raise ConfigurationError(f"BANKTWIN_PARTITIONS (--partitions): {exc}") from None

    def start_projector(self) -> None:
        """Run the projector in a background thread until :meth:`stop_projector`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.projector.run_forever, args=(self._stop,), name="projector", daemon=True
        )
        self._thread.start()

    def stop_projector(self, timeout: float = 30.0) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self.projector.notify()
        self._thread.join(timeout)
        self._thread = None

    def close(self) -> None:
        self.stop_projector()
        self.log.close()
        self.store.close()
