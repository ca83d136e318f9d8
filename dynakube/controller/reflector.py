"""The reflector: keeps a sink in step with the server by listing, then watching.

client-go's ``tools/cache.Reflector`` in Python. It first gets the full state, either with a
streaming watch-list (``sendInitialEvents=true``, ``resourceVersionMatch=NotOlderThan``, up
to the ``k8s.io/initial-events-end`` bookmark) or, when the server refuses that, with a
paginated list; then it watches from that resourceVersion with bookmarks. A ``410 Gone``
means events were lost: it gets the full state again and hands it to the sink, which tells
apart what was added, changed and deleted meanwhile. Failures back off exponentially, so a
broken server never sees a tight loop.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from ..errors import ApiError, DynakubeError, GoneError, TransportError
from ..watch import Backoff, Watch, WatchEvent, object_key

__all__ = ["ListerWatcher", "Reflector", "ReflectorSink"]

log = logging.getLogger(__name__)


class ListerWatcher(Protocol):
    """What a reflector needs: the shape of ``dynakube.client.Resource`` (list and watch)."""

    def list(self, namespace: Any = None, /, *, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> dict[str, Any]: ...

    def watch(self, namespace: Any = None, /, *, resource_version: str | None = None,
              label_selector: str | None = None, field_selector: str | None = None,
              send_initial_events: bool | None = None, bookmarks: bool = False) -> Watch: ...


class ReflectorSink(Protocol):
    """Where a reflector delivers state: a full replacement, or one watch event."""

    def replace(self, objects: list[dict[str, Any]], resource_version: str) -> None: ...

    def apply(self, event: WatchEvent) -> None: ...


# Answers that mean "this server does not do watch-list": stop asking.
_REFUSED = (400, 403, 405, 415, 422)


class Reflector:
    """List (or watch-list) then watch one collection forever, feeding ``sink``.

    ``namespace`` is passed verbatim to ``lister_watcher.list``/``watch``. ``watch_list``
    tries the streaming watch-list first; it is switched off for good after the server
    refuses it once. :meth:`run` blocks until :meth:`stop`.
    """

    def __init__(self, lister_watcher: ListerWatcher, sink: ReflectorSink, *,
                 namespace: Any = None, label_selector: str | None = None,
                 field_selector: str | None = None, page_size: int = 500,
                 watch_list: bool = True, backoff: Backoff | None = None):
        self.lister_watcher = lister_watcher
        self.sink = sink
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.page_size = page_size
        self.watch_list = watch_list
        self.backoff = backoff or Backoff()
        #: The resourceVersion the sink is in step with (None before the first sync).
        self.resource_version: str | None = None
        #: The last failure seen (cleared by a successful sync); for diagnostics.
        self.last_error: DynakubeError | None = None
        #: How many times the full state was fetched (list or watch-list).
        self.relists = 0
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._watch: Watch | None = None
        self._healthy = False
        self._in_initial = False

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

    def run(self) -> None:
        """Keep the sink in step until stopped; never raises for server or network trouble."""
        while not self._stopped.is_set():
            self._healthy = False
            try:
                self._list_and_watch()
            except GoneError as e:
                self.last_error = e
                log.info("reflector %s: %s; relisting", self._what(), e)
                if self._healthy:  # events flowed before: relist at once
                    continue
            except (ApiError, TransportError) as e:
                if self._stopped.is_set():
                    return  # a list abandoned by stop(), not a failure worth reporting
                self.last_error = e
                log.warning("reflector %s failed: %s", self._what(), e)
            except DynakubeError as e:  # e.g. an object without a name in a list
                self.last_error = e
                log.error("reflector %s: %s", self._what(), e)
            if self._stopped.is_set():
                return
            if not self._healthy:
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
            except ApiError as e:
                if not self._in_initial:
                    raise
                # refused outright, or an ERROR event instead of the initial state
                if self.relists == 0 or e.code in _REFUSED:
                    self.watch_list = False
                log.info("streaming watch-list failed (%s); using list + watch%s", e,
                         "" if self.watch_list else " from now on")
        resource_version = self._list()
        watch = self._open(resource_version, send_initial_events=None)
        self._consume(watch, initial=None)

    def _open(self, resource_version: str | None, *, send_initial_events: bool | None) -> Watch:
        watch = self.lister_watcher.watch(
            self.namespace, resource_version=resource_version,
            label_selector=self.label_selector, field_selector=self.field_selector,
            send_initial_events=send_initial_events, bookmarks=True)
        with self._lock:
            self._watch = watch
        if self._stopped.is_set():
            watch.stop()
        return watch

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
        self.relists += 1
        self.sink.replace(items, resource_version)
        self.resource_version = resource_version
        self.last_error = None
        return resource_version

    def _consume(self, watch: Watch, initial: dict[str, dict[str, Any]] | None) -> None:
        """Feed the sink from ``watch`` until it ends; ``initial`` collects a watch-list."""
        started, delivered = time.monotonic(), False
        try:
            for event in watch:
                if initial is not None:
                    if event.ends_initial_events:
                        self.relists += 1
                        resource_version = event.resource_version or ""
                        self.sink.replace(list(initial.values()), resource_version)
                        self.resource_version = resource_version
                        self.last_error = None
                        initial = None
                        self._in_initial = False
                    elif event.type == "DELETED":
                        initial.pop(object_key(event.object), None)
                    elif event.type != "BOOKMARK":
                        initial[object_key(event.object)] = event.object
                    continue
                delivered = True
                if event.type == "BOOKMARK":
                    self.resource_version = event.resource_version or self.resource_version
                    continue
                self.sink.apply(event)
                self.resource_version = event.resource_version or self.resource_version
        finally:
            with self._lock:
                self._watch = None
            watch.stop()
            self._healthy = delivered or time.monotonic() - started > 10.0
            if self._healthy:
                self.backoff.reset()
