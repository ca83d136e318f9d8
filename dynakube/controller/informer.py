"""Informers: a local, always-converging copy of a collection, with change handlers.

client-go's ``SharedIndexInformer`` in Python. A :class:`~dynakube.controller.reflector.Reflector`
thread lists and watches; every change updates the :class:`~dynakube.controller.store.Store` and is
queued as a notification; one dispatcher thread per informer calls the handlers in order.
A handler that raises is logged and never stops the informer. Handlers added late first get
the current contents as adds, then exactly the changes after that moment. After a relist
(``410 Gone``), objects that vanished while the watch was away are reported to
``on_delete`` wrapped in :class:`DeletedFinalStateUnknown`: their last known state, marked.
The same happens when the server's resourceVersions go backwards (restored from a backup,
restarted empty): the informer relists and drops what the server no longer has.

Health, the way liveness probes check it: :attr:`Informer.has_synced`,
:attr:`Informer.last_error`, :attr:`Informer.last_event_time` and :meth:`Informer.healthy`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .._record import Record
from ..errors import DynakubeError, InvalidArgumentError
from ..watch import Backoff, WatchEvent
from .reflector import ListerWatcher, Reflector
from .store import IndexFunc, Store

__all__ = ["DeletedFinalStateUnknown", "Handler", "Informer", "ListerWatcher"]

log = logging.getLogger(__name__)


class DeletedFinalStateUnknown(Record):
    """Given to ``on_delete`` for an object that vanished while the watch was disconnected.

    ``object`` is the last state the informer saw; the deletion itself was never observed.
    """

    key: str
    object: dict[str, Any]


class Handler(Record, frozen=False, eq=False):
    """One registration of callbacks; returned by :meth:`Informer.add_handler`."""

    on_add: Callable[[dict[str, Any]], None] | None = None
    on_update: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
    on_delete: Callable[[Any], None] | None = None


# A queued notification: (handlers at the time, kind, first, second).
_Note = tuple[tuple[Handler, ...], str, Any, Any]


class _Flush:
    """A :meth:`Informer.flush` waiting in the queue; ``reached`` tells it apart from a stop."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reached = False


class Informer:
    """Watch one collection into a :class:`Store` and tell handlers about every change.

    ``lister_watcher`` is a ``dynakube.client.Resource`` (or anything with its ``list`` and
    ``watch``); ``namespace`` is passed to them verbatim. ``resync_period`` (seconds) calls
    ``on_update(obj, obj)`` for every object that often. ``watch_list`` tries a streaming
    watch-list first and falls back to list + watch. ``read_timeout`` is how long a silent
    connection is trusted: the server's bookmark interval (a minute on kube-apiserver) plus a
    margin, so a dead connection is noticed within it.
    """

    def __init__(self, lister_watcher: ListerWatcher, *, namespace: Any = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 resync_period: float | None = None,
                 indexers: dict[str, IndexFunc] | None = None, watch_list: bool = True,
                 page_size: int = 500, backoff: Backoff | None = None, name: str | None = None,
                 read_timeout: float = 75.0):
        if read_timeout <= 0:
            raise InvalidArgumentError(f"read_timeout must be > 0 seconds, got {read_timeout}")
        self.store = Store(indexers=indexers)
        self.resync_period = resync_period
        info = getattr(lister_watcher, "info", None)  # a client Resource names itself
        self.name = name or str(getattr(info, "qualified", "") or "informer")
        self.reflector = Reflector(
            lister_watcher, self, namespace=namespace, label_selector=label_selector,
            field_selector=field_selector, page_size=page_size, watch_list=watch_list,
            backoff=backoff, read_timeout=read_timeout)
        self._lock = threading.Lock()  # store changes + queueing happen atomically
        self._cond = threading.Condition(threading.Lock())
        self._notes: deque[_Note] = deque()
        self._handlers: tuple[Handler, ...] = ()
        self._synced = threading.Event()
        self._started = False
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._dispatcher: threading.Thread | None = None

    # -- handlers -------------------------------------------------------------------------
    def add_handler(self, on_add: Callable[[dict[str, Any]], None] | None = None,
                    on_update: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
                    on_delete: Callable[[Any], None] | None = None) -> Handler:
        """Register callbacks; the current contents arrive first as ``on_add`` calls."""
        handler = Handler(on_add, on_update, on_delete)
        with self._lock:
            current = self.store.list()
            self._handlers = self._handlers + (handler,)
            if current:
                self._push(((handler,), "replay", current, None))
        return handler

    def remove_handler(self, handler: Handler) -> None:
        """Stop calling ``handler`` (notifications already queued for it are dropped)."""
        with self._lock:
            self._handlers = tuple(h for h in self._handlers if h is not handler)
        handler.on_add = handler.on_update = handler.on_delete = None

    def on_add(self, func: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        """Decorator form of ``add_handler(on_add=func)``."""
        self.add_handler(on_add=func)
        return func

    def on_update(self, func: Callable[[dict[str, Any], dict[str, Any]], None]
                  ) -> Callable[[dict[str, Any], dict[str, Any]], None]:
        """Decorator form of ``add_handler(on_update=func)``."""
        self.add_handler(on_update=func)
        return func

    def on_delete(self, func: Callable[[Any], None]) -> Callable[[Any], None]:
        """Decorator form of ``add_handler(on_delete=func)``."""
        self.add_handler(on_delete=func)
        return func

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Informer:
        """Start the reflector and dispatcher threads (once); returns self."""
        with self._lock:
            if self._started:
                return self
            self._started = True
        for target, what in ((self._dispatch_loop, "dispatch"), (self.reflector.run, "reflect")):
            thread = threading.Thread(target=target, name=f"{self.name}-{what}", daemon=True)
            if what == "dispatch":
                self._dispatcher = thread
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop watching and dispatching; waits up to ``timeout`` for the threads to end."""
        self.reflector.stop()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    @property
    def has_synced(self) -> bool:
        """True once the first full state is in the store and its handlers were called."""
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Block until :attr:`has_synced` (True) or ``timeout`` seconds pass (False)."""
        return self._synced.wait(timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the handlers were called for every change the store holds now.

        False when ``timeout`` passed first, or the informer was (or got) stopped: a stopped
        informer calls no more handlers, so waiting for it would never end. Not for use inside
        a handler (that would wait for itself).
        """
        if threading.current_thread() is self._dispatcher:
            raise InvalidArgumentError(
                "flush() was called from a handler: the handlers it would wait for run on "
                "this same thread, after this one returns")
        marker = _Flush()
        with self._lock, self._cond:
            if self._stopping:
                return False
            self._notes.append(((), "marker", marker, None))
            self._cond.notify()
        return marker.event.wait(timeout) and marker.reached

    @property
    def resource_version(self) -> str | None:
        """The resourceVersion the store is in step with."""
        return self.reflector.resource_version

    @property
    def last_error(self) -> DynakubeError | None:
        """The latest failed list or watch attempt (the informer retries by itself).

        Set on every failure, through an outage too; None again once an attempt succeeds.
        """
        return self.reflector.last_error

    @property
    def last_event_time(self) -> float | None:
        """``time.time()`` of the last event, bookmark or full list received (None: none yet)."""
        return self.reflector.last_event_time

    def healthy(self, max_silence: float | None = None) -> bool:
        """For a liveness probe: running, synced, and the server heard from lately.

        ``max_silence`` (seconds) defaults to twice the read timeout: a live server sends a
        bookmark at least every interval, so longer silence means the informer is cut off.
        """
        if max_silence is None:
            max_silence = 2 * self.reflector.read_timeout
        alive_at = self.reflector.alive_at
        threads = self._threads
        running = bool(threads) and all(t.is_alive() for t in threads) and not self._stopping
        return (running and self.has_synced and alive_at is not None
                and time.monotonic() - alive_at <= max_silence)

    def __enter__(self) -> Informer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "synced" if self.has_synced else "syncing"
        return f"<Informer {self.name} {state} {len(self.store)} objects>"

    # -- ReflectorSink --------------------------------------------------------------------
    def replace(self, objects: list[dict[str, Any]], resource_version: str | None = None) -> None:
        """A full state from a list or watch-list: store it and queue the differences.

        ``resource_version`` is deprecated since 1.0.0: it was never used.
        """
        if resource_version is not None:
            import warnings

            warnings.warn("the resource_version argument of Informer.replace() is deprecated "
                          "since dynakube 1.0.0 and ignored; leave it out", DeprecationWarning,
                          stacklevel=2)
        with self._lock:
            diff = self.store.replace(objects)
            handlers = self._handlers
            if handlers:
                for old in diff.deleted:
                    marked = DeletedFinalStateUnknown(self.store.key(old), old)
                    self._push((handlers, "delete", marked, None))
                for new in diff.added:
                    self._push((handlers, "add", new, None))
                for old, new in diff.updated:
                    self._push((handlers, "update", old, new))
            if not self._synced.is_set():
                self._push(((), "synced", None, None))

    def apply(self, event: WatchEvent) -> None:
        """One watch event: update the store and queue the notification."""
        try:
            with self._lock:
                if event.type == "DELETED":
                    self.store.delete(event.object)
                    note: _Note = (self._handlers, "delete", event.object, None)
                else:
                    old = self.store.upsert(event.object)
                    note = (self._handlers, "add", event.object, None) if old is None else \
                        (self._handlers, "update", old, event.object)
                if note[0]:
                    self._push(note)
        except DynakubeError as e:  # an object without a name: nothing to file it under
            log.error("%s: ignoring %s event: %s", self.name, event.type, e)

    # -- dispatching ----------------------------------------------------------------------
    def _push(self, note: _Note) -> None:
        with self._cond:
            self._notes.append(note)
            self._cond.notify()

    def _dispatch_loop(self) -> None:
        next_resync = None if not self.resync_period else time.monotonic() + self.resync_period
        while True:
            with self._cond:
                while not self._notes and not self._stopping:
                    wait = None if next_resync is None else next_resync - time.monotonic()
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopping:
                    for _, kind, first, _ in self._notes:
                        if kind == "marker":  # wake flush() callers: nothing more will come
                            first.event.set()
                    self._notes.clear()
                    return
                note = self._notes.popleft() if self._notes else None
            if note is None:  # resync time, and nothing else waiting
                self._queue_resync()
                assert self.resync_period
                next_resync = time.monotonic() + self.resync_period
                continue
            self._deliver(note)

    def _queue_resync(self) -> None:
        """Queue ``on_update(obj, obj)`` for every object, behind any change queued already.

        The snapshot and the queueing happen under the store lock, so a change applied while
        the resync is prepared is delivered after it, never before with its stale old state.
        """
        if not self._synced.is_set():
            return
        with self._lock:
            if self._handlers:
                self._push((self._handlers, "resync", self.store.list(), None))

    def _deliver(self, note: _Note) -> None:
        handlers, kind, first, second = note
        if kind == "synced":
            self._synced.set()
            return
        if kind == "marker":
            first.reached = True
            first.event.set()
            return
        for handler in handlers:
            try:
                if kind == "replay":
                    if handler.on_add is not None:
                        for obj in first:
                            self._call(handler.on_add, obj)
                elif kind == "resync":
                    if handler.on_update is not None:
                        for obj in first:
                            self._call(handler.on_update, obj, obj)
                elif kind == "add" and handler.on_add is not None:
                    handler.on_add(first)
                elif kind == "update" and handler.on_update is not None:
                    handler.on_update(first, second)
                elif kind == "delete" and handler.on_delete is not None:
                    handler.on_delete(first)
            except Exception:
                log.exception("%s: %s handler %r failed", self.name, kind, handler)

    def _call(self, func: Callable[..., None], *args: dict[str, Any]) -> None:
        """One call of a batch (replay, resync): a failure must not skip the rest."""
        try:
            func(*args)
        except Exception:
            log.exception("%s: handler %r failed", self.name, func)
