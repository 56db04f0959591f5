"""Wake-ups between processes sharing a SQLite file: Unix datagram sockets in one directory.

Each watch binds a socket in a directory named after the file and the channel (not in the
file's directory: an AF_UNIX path is limited to about 107 bytes, and the file's own directory
may be long or read-only). The log's appends have a channel (``appends``) and the consumers'
commits another (``commits``, :mod:`banktwin.consumers.sqlite_announcements`), so news of one
kind never wakes the watchers of the other. A sender, after each commit, sends a datagram
(empty for an append; a short payload for a commit announcement) to every socket there,
without blocking; a receiver thread drains its socket and hands what it read to its watcher
once per burst. Nothing is sent when nobody watches, and a sender pays one non-blocking
``send`` per watching socket and a directory listing at most every ``LISTING_TTL_S``.

Processes must share the temporary directory (``TMPDIR``) and be able to write to it (the
same user). Where AF_UNIX datagram sockets do not exist (Windows), :func:`wake_supported`
is false and a watch sees only its own log object's appends.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import functools
import hashlib
import itertools
import logging
import os
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from banktwin.log.local_watches import LocalWatch, LocalWatches, call_back
from banktwin.log.port import LogWatch

_log = logging.getLogger(__name__)

LISTING_TTL_S = 0.5
"""How long an appender trusts its list of watching sockets: a new watch is woken at most
this much later than it could be (its consumer still polls the log on its own)."""

APPENDS = "appends"
"""The channel of the log's appends (:class:`SqliteLogWatches`)."""

RECEIVE_TIMEOUT_S = 1.0
"""A receiver looks at its stop flag at least this often (close() also wakes it at once)."""

_SUFFIX = ".sock"
_counter = itertools.count()
_bound: weakref.WeakSet[DatagramReceiver] = weakref.WeakSet()


@atexit.register
def _unlink_at_exit() -> None:
    # A process ending without closing its log leaves no socket file behind (one killed does:
    # the next appender to that log removes it).
    for receiver in list(_bound):
        receiver.unlink_if_mine()


@functools.cache
def wake_supported() -> bool:
    """Whether this platform has AF_UNIX datagram sockets."""
    family = getattr(socket, "AF_UNIX", None)
    if family is None:
        return False
    try:
        socket.socket(family, socket.SOCK_DGRAM).close()
    except OSError:
        return False
    return True


@functools.cache
def datagram_queue_limit() -> int:
    """How many datagrams a socket holds unread before a sender is refused (Linux:
    ``net.unix.max_dgram_qlen``; 10, its old default, where it cannot be read). A burst this
    long may have lost some."""
    try:
        return max(int(Path("/proc/sys/net/unix/max_dgram_qlen").read_text()), 1)
    except (OSError, ValueError):
        return 10


def wake_directory(path: Path, channel: str = APPENDS) -> Path:
    """Where the watches of ``channel`` of the SQLite file at ``path`` bind their sockets: a
    short directory under the temporary directory, one per file (its resolved absolute path)
    and channel."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"banktwin-{channel}-{digest}"


class DatagramReceiver:
    """A bound socket and the daemon thread that hands its datagrams (each cut to
    ``max_bytes``) to ``on_datagrams``, a burst of them in one call."""

    def __init__(
        self,
        directory: Path,
        on_datagrams: Callable[[list[bytes]], None],
        *,
        max_bytes: int = 1,
        thread_name: str = "banktwin-log-watch",
    ) -> None:
        self._on_datagrams = on_datagrams
        self._max_bytes = max_bytes
        self._closed = threading.Event()
        # pid, a counter and a random part: a name a dead process left behind is never
        # reused, so an appender unlinking it cannot remove a live socket.
        name = f"{os.getpid()}-{next(_counter)}-{os.urandom(3).hex()}{_SUFFIX}"
        self.path = str(directory / name)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._bind(directory)
        except OSError:
            self._sock.close()
            raise
        self._pid = os.getpid()
        _bound.add(self)
        self._sock.settimeout(RECEIVE_TIMEOUT_S)
        self._thread = threading.Thread(target=self._receive, name=thread_name, daemon=True)
        self._thread.start()

    def _bind(self, directory: Path) -> None:
        for attempt in range(3):
            directory.mkdir(mode=0o700, exist_ok=True)
            try:
                self._sock.bind(self.path)
                return
            except FileNotFoundError:  # the last watch there removed the directory just now
                if attempt == 2:
                    raise

    def _receive(self) -> None:
        sock, size = self._sock, self._max_bytes
        while not self._closed.is_set():
            try:
                burst = [sock.recv(size)]
            except TimeoutError:
                continue
            except OSError:
                return
            if self._closed.is_set():
                return
            # A burst is one call: take every datagram already queued first.
            # (Not recv(MSG_DONTWAIT): with a timeout set, Python waits before each recv.)
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                while True:
                    burst.append(sock.recv(size))
            sock.settimeout(RECEIVE_TIMEOUT_S)
            try:
                self._on_datagrams(burst)
            except Exception:  # the receiver goes on: the next burst is called back again
                _log.exception("a datagram watcher failed")

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as waker:
            waker.setblocking(False)
            # Failing, it has datagrams pending already (it wakes) or is gone (it times out).
            with contextlib.suppress(OSError):
                waker.sendto(b"", self.path)
        if threading.current_thread() is not self._thread:  # (closed by its own watcher)
            self._thread.join(timeout=RECEIVE_TIMEOUT_S + 1)
        self._sock.close()
        _bound.discard(self)
        self.unlink_if_mine()

    def unlink_if_mine(self) -> None:
        """Remove the socket file (not in a forked child: the parent's socket is live)."""
        if os.getpid() == self._pid:
            _unlink(self.path)
            _remove_if_empty(Path(self.path).parent)


class WakeReceiver(DatagramReceiver):
    """A receiver of the log's appends: calls ``on_append`` once per burst of datagrams."""

    def __init__(self, directory: Path, on_append: Callable[[], None]) -> None:
        super().__init__(directory, lambda _burst: call_back(on_append))


class WakeSender:
    """A sender's side: wakes every socket in ``directory`` but its own log's (or announcer's).

    It keeps a socket connected to each (a send then skips resolving the path), lists the
    directory again at most every ``listing_ttl_s``, or on the next wake after a watch went
    away, and unlinks a socket file nobody is bound to any more (a process killed before it
    could). Not thread-safe: the SQLite log calls it under its write lock.

    A payload must fit the receivers' ``max_bytes`` and stay far below the sockets' buffer
    (about 200 kB on Linux), or it is cut or refused.
    """

    def __init__(self, directory: Path, listing_ttl_s: float = LISTING_TTL_S) -> None:
        self._directory = directory
        self._listing_ttl_s = listing_ttl_s
        self._targets: dict[str, socket.socket] = {}
        self._listed_at = float("-inf")
        self._own: set[str] = set()  # this log object's watches: it calls them back directly

    def skip(self, path: str) -> None:
        """Send nothing to ``path``, a socket of this log object's own watches."""
        self._own.add(path)
        self._drop(path)

    def unskip(self, path: str) -> None:
        self._own.discard(path)

    def wake(self) -> None:
        """Send an empty datagram to every socket (the log's appends)."""
        self.send(b"")

    def send(self, payload: bytes) -> None:
        """Send ``payload`` to every socket, without blocking."""
        now = time.monotonic()
        if now - self._listed_at >= self._listing_ttl_s:
            self._list(now)
        if not self._targets:
            return
        gone: list[str] = []
        for path, sock in self._targets.items():
            try:
                sock.send(payload)
            except BlockingIOError:
                pass  # its queue is full: it already has wake-ups to take
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    gone.append(path)
        for path in gone:  # its socket is closed: a watch went away, another may have come
            self._drop(path)
            self._listed_at = float("-inf")

    def _list(self, now: float) -> None:
        self._listed_at = now
        try:
            names = set(os.listdir(self._directory))
        except OSError:
            names = set()
        paths = {str(self._directory / n) for n in names if n.endswith(_SUFFIX)} - self._own
        for path in self._targets.keys() - paths:
            self._drop(path)
        for path in paths - self._targets.keys():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setblocking(False)
            try:
                sock.connect(path)
            except OSError as exc:
                sock.close()
                if exc.errno == errno.ECONNREFUSED:  # a file nobody is bound to: stale
                    _unlink(path)
                    _remove_if_empty(self._directory)
                continue  # (gone already, or not ours to write to: another user's)
            self._targets[path] = sock

    def _drop(self, path: str) -> None:
        sock = self._targets.pop(path, None)
        if sock is not None:
            sock.close()

    def close(self) -> None:
        for path in list(self._targets):
            self._drop(path)


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _remove_if_empty(directory: Path) -> None:
    # A watch binding there at the same moment makes the directory again (WakeReceiver._bind).
    with contextlib.suppress(OSError):
        directory.rmdir()


class SqliteLogWatches:
    """The watches of one SQLite log object, and the wake-ups its appends send.

    A watch is called back directly for this object's appends, and through a socket of its
    own for every other object's and process's (this object's sender skips it).
    """

    def __init__(self, log_path: Path) -> None:
        self._log_path = log_path
        self._directory = wake_directory(log_path)
        self._local = LocalWatches()
        self._lock = threading.Lock()  # the sender is not thread-safe
        self._sender = WakeSender(self._directory) if wake_supported() else None
        self._open: set[_SqliteWatch] = set()

    def appended(self) -> None:
        """Wake every watcher (after a commit)."""
        if self._sender is not None:
            with self._lock:
                self._sender.wake()
        self._local.notify()

    def watch(self, on_append: Callable[[], None]) -> LogWatch:
        receiver = None
        if self._sender is not None:
            try:
                receiver = WakeReceiver(self._directory, on_append)
            except OSError as exc:
                _log.warning(
                    "watching %s for this log object's appends only: "
                    "cannot bind a socket in %s: %s",
                    self._log_path,
                    self._directory,
                    exc,
                )
        watch = _SqliteWatch(self, self._local.add(on_append), receiver)
        with self._lock:
            self._open.add(watch)
            if receiver is not None and self._sender is not None:
                self._sender.skip(receiver.path)
        return watch

    def _forget(self, watch: _SqliteWatch, receiver: WakeReceiver | None) -> None:
        with self._lock:
            self._open.discard(watch)
            if receiver is not None and self._sender is not None:
                self._sender.unskip(receiver.path)

    def close(self) -> None:
        """Close every watch still open, and the sender."""
        with self._lock:
            still_open = list(self._open)
        for watch in still_open:
            watch.close()
        with self._lock:
            if self._sender is not None:
                self._sender.close()


class _SqliteWatch:
    def __init__(
        self, owner: SqliteLogWatches, local: LocalWatch, receiver: WakeReceiver | None
    ) -> None:
        self._owner = owner
        self._local = local
        self._receiver = receiver

    def close(self) -> None:
        self._local.close()
        if self._receiver is not None:
            self._receiver.close()
        self._owner._forget(self, self._receiver)
