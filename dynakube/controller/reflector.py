"""The reflector: keeps a sink in step with the server by listing, then watching.

client-go's ``tools/cache.Reflector`` in Python. It first gets the full state, either with a
streaming watch-list (``sendInitialEvents=true``, ``resourceVersionMatch=NotOlderThan``, up
to the ``k8s.io/initial-events-end`` bookmark) or, when the server refuses that, with a
paginated list; then it watches from that resourceVersion with bookmarks. A ``410 Gone``
means events were lost: it gets the full state again and hands it to the sink, which tells
apart what was added, changed and deleted meanwhile; so does a resourceVersion the server no
longer reaches (``ResourceVersionTooLarge``, or events from before the watch's start: the
server was restored from a backup or restarted empty). Failures, and sessions that did not
stay up, back off exponentially, so a broken server or proxy never sees a tight loop; a
watch-list whose initial events keep breaking off gives way to list + watch.

Health is kept the way users check it: :attr:`Reflector.last_error` (every failed attempt,
cleared by the next success) and :attr:`Reflector.alive_at` (when the server was last heard).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from ..errors import ApiError, DynakubeError, GoneError, TransportError
from ..meta import object_key
from ..watch import WATCH_LIST_REFUSED, Backoff, Watch, WatchEvent

__all__ = ["ListerWatcher", "Reflector", "ReflectorSink"]

log = logging.getLogger(__name__)


class ListerWatcher(Protocol):
    """What a reflector needs: the shape of ``dynakube.client.Resource`` (list and watch).

    The reflector tunes the :class:`~dynakube.watch.Watch` it gets (its read timeout, how
    long a stream must stay up to count as healthy, how many initial-events attempts it has)
    before iterating it.
    """

    def list(self, namespace: Any = None, /, *, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> dict[str, Any]: ...

    def watch(self, namespace: Any = None, /, *, resource_version: str | None = None,
              label_selector: str | None = None, field_selector: str | None = None,
              send_initial_events: bool | None = None, bookmarks: bool = False) -> Watch: ...


class ReflectorSink(Protocol):
    """Where a reflector delivers state: a full replacement, or one watch event."""

    def replace(self, objects: list[dict[str, Any]]) -> None: ...

    def apply(self, event: WatchEvent) -> None: ...


# Watch-list syncs broken off in a row (each after ``watch_list_attempts`` streams) before
# the reflector stops trying watch-list and keeps to list + watch.
_WATCH_LIST_GIVE_UP = 2


class Reflector:
    """List (or watch-list) then watch one collection forever, feeding ``sink``.

    ``namespace`` is passed verbatim to ``lister_watcher.list``/``watch``. ``watch_list``
    tries the streaming watch-list first; a sync whose initial events break off
    ``watch_list_attempts`` times is done with list + watch instead, and watch-list is
    switched off for good after the server refuses it, or after two such syncs in a row.
    ``read_timeout`` is how long a silent watch is trusted: the server's bookmark interval
    (a minute on kube-apiserver) plus a margin. A session counts as healthy once its watch
    stayed up ``healthy_after`` seconds. ``backoff`` paces relists and the watches'
    reconnects alike (client-go's 0.8 s doubling to 30 s, with jitter, by default).
    :meth:`run` blocks until :meth:`stop`.
    """

    def __init__(self, lister_watcher: ListerWatcher, sink: ReflectorSink, *,
                 namespace: Any = None, label_selector: str | None = None,
                 field_selector: str | None = None, page_size: int = 500,
                 watch_list: bool = True, backoff: Backoff | None = None,
                 read_timeout: float = 75.0, healthy_after: float = 10.0,
                 watch_list_attempts: int = 3):
        self.lister_watcher = lister_watcher
        self.sink = sink
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.page_size = page_size
        self.watch_list = watch_list
        self.backoff = backoff or Backoff()
        self.read_timeout = read_timeout
        self.healthy_after = healthy_after
        self.watch_list_attempts = watch_list_attempts
        #: The resourceVersion the sink is in step with (None before the first sync).
        self.resource_version: str | None = None
        #: How many times the full state was fetched (list or watch-list).
        self.relists = 0
        #: ``time.time()`` of the last event, bookmark or full state received (None before).
        self.last_event_time: float | None = None
        self._error: DynakubeError | None = None
        self._alive_at: float | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._watch: Watch | None = None
        self._healthy = False
        self._in_initial = False
        self._watch_list_failures = 0

    def stop(self) -> None:
        """Make :meth:`run` return soon; a live watch is closed at once."""
        self._stopped.set()
        with self._lock:
            watch = self._watch
        if watch is not None:
            watch.stop()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @property
    def last_error(self) -> DynakubeError | None:
        """The latest failed attempt (list, watch, reconnect), None once one succeeds again."""
        watch = self._watch
        error = watch.last_error if watch is not None else None
        return error if error is not None else self._error

    @property
    def alive_at(self) -> float | None:
        """``time.monotonic()`` when the server was last heard from (None: never yet)."""
        watch = self._watch
        heard = watch.alive_at if watch is not None else None
        if heard is None or (self._alive_at is not None and self._alive_at > heard):
            return self._alive_at
        return heard

    def run(self) -> None:
        """Keep the sink in step until stopped; never raises for server or network trouble."""
        quick = True  # the first relist after a healthy session is at once
        while not self._stopped.is_set():
            self._healthy = False
            try:
                self._list_and_watch()
            except GoneError as e:  # ResourceVersionTooLargeError too
                self._error = e
                log.info("reflector %s: %s; relisting", self._what(), e)
            except (ApiError, TransportError) as e:
                if self._stopped.is_set():
                    return  # a list abandoned by stop(), not a failure worth reporting
                self._error = e
                log.warning("reflector %s failed: %s", self._what(), e)
            except DynakubeError as e:  # e.g. an object without a name in a list
                self._error = e
                log.error("reflector %s: %s", self._what(), e)
            if self._stopped.is_set():
                return
            if self._healthy:
                self.backoff.reset()
                quick = True
            if quick:
                quick = False
                continue
            self._stopped.wait(self.backoff.next())

    # -- internals ------------------------------------------------------------------------
    def _what(self) -> str:
        watch = self._watch
        return watch.path if watch is not None else repr(self.lister_watcher)

    def _list_and_watch(self) -> None:
        """One session: the full state, then watch until stopped or an error is raised."""
        if self.watch_list:
            self._in_initial = True
            try:
                watch = self._open(None, send_initial_events=True)
                self._consume(watch, initial={})
                return
            except (ApiError, TransportError) as e:
                if not self._in_initial or self._stopped.is_set():
                    raise
                self._error = e
                self._fall_back(e)
        resource_version = self._list()
        watch = self._open(resource_version, send_initial_events=None)
        self._consume(watch, initial=None)

    def _fall_back(self, error: ApiError | TransportError) -> None:
        """A watch-list failed before its initial events ended: use list + watch (for good?)."""
        if isinstance(error, ApiError):
            # refused outright, or an ERROR event instead of the initial state
            if self.relists == 0 or error.code in WATCH_LIST_REFUSED:
                self.watch_list = False
        else:  # its streams kept breaking off (a flaky proxy, chunk-level faults)
            self._watch_list_failures += 1
            if self._watch_list_failures >= _WATCH_LIST_GIVE_UP:
                self.watch_list = False
        log.info("streaming watch-list failed (%s); using list + watch%s", error,
                 "" if self.watch_list else " from now on")

    def _open(self, resource_version: str | None, *, send_initial_events: bool | None) -> Watch:
        watch = self.lister_watcher.watch(
            self.namespace, resource_version=resource_version,
            label_selector=self.label_selector, field_selector=self.field_selector,
            send_initial_events=send_initial_events, bookmarks=True)
        watch.read_timeout = self.read_timeout
        watch.healthy_after = self.healthy_after
        watch.backoff = self.backoff  # one backoff for the lists and every watch's reconnects
        if send_initial_events:
            watch.initial_attempts = self.watch_list_attempts
        with self._lock:
            self._watch = watch
        if self._stopped.is_set():
            watch.stop()
        return watch

    def _synced(self, objects: list[dict[str, Any]], resource_version: str) -> None:
        """A full state arrived: hand it to the sink and count the attempt a success."""
        self.relists += 1
        self.sink.replace(objects)
        self.resource_version = resource_version
        self._error = None
        self._heard()

    def _heard(self) -> None:
        self._alive_at = time.monotonic()
        self.last_event_time = time.time()

    def _list(self) -> str:
        """A paginated list, delivered to the sink as one replacement; returns its RV."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.lister_watcher.list(
                self.namespace, label_selector=self.label_selector,
                field_selector=self.field_selector, limit=self.page_size or None,
                continue_token=token)
            kind, api_version = str(page.get("kind") or ""), page.get("apiVersion")
            item_kind = kind[:-4] if kind.endswith("List") else None
            for item in page.get("items") or ():
                # list items come without apiVersion/kind; fill them in like client-go does
                if item_kind and "kind" not in item:
                    item["kind"] = item_kind
                if api_version and "apiVersion" not in item:
                    item["apiVersion"] = api_version
                items.append(item)
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            if token is None:
                resource_version = str(meta.get("resourceVersion") or "")
                break
            if self._stopped.is_set():
                raise TransportError("stopped while listing")
        if not resource_version:
            raise TransportError("the list answer has no metadata.resourceVersion")
        self._synced(items, resource_version)
        return resource_version

    def _consume(self, watch: Watch, initial: dict[str, dict[str, Any]] | None) -> None:
        """Feed the sink from ``watch`` until it ends; ``initial`` collects a watch-list."""
        started = time.monotonic()
        try:
            for event in watch:
                self._heard()
                if initial is not None:
                    kind = event.type
                    if kind == "ADDED" or kind == "MODIFIED":  # the bulk: test it first
                        initial[object_key(event.object)] = event.object
                    elif kind == "DELETED":
                        initial.pop(object_key(event.object), None)
                    elif event.ends_initial_events:
                        self._synced(list(initial.values()), event.resource_version or "")
                        self._watch_list_failures = 0
                        initial = None
                        self._in_initial = False
                    continue
                if event.type == "BOOKMARK":
                    self.resource_version = event.resource_version or self.resource_version
                    continue
                self.sink.apply(event)
                self.resource_version = event.resource_version or self.resource_version
        finally:
            with self._lock:
                self._watch = None
            watch.stop()
            self._healthy = time.monotonic() - started >= self.healthy_after
