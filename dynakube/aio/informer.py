"""Informers on the event loop: a local copy of a collection kept in step, with async
handlers, in two tasks (reflect, dispatch) instead of two threads.

The same parts as the sync :class:`~dynakube.controller.informer.Informer`: the pure
:class:`~dynakube.controller.store.Store` and its indexers, :class:`Handler` and
:class:`DeletedFinalStateUnknown`, a reflector that tries a streaming watch-list first and
falls back to a paginated list + watch, relists after ``410 Gone`` or a server whose history
went backwards, and paces relists with the same :class:`~dynakube.backoff.Backoff`.
Handlers may be plain functions or coroutine functions; one that raises is logged.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..backoff import Backoff
from ..controller.informer import DeletedFinalStateUnknown, Handler
from ..controller.store import IndexFunc, Store
from ..errors import ApiError, DynakubeError, GoneError, TransportError
from ..meta import object_key
from ..watch import WATCH_LIST_REFUSED
from ..watchevent import WatchEvent

if TYPE_CHECKING:
    from ..discovery.registry import ResourceInfo
    from .watch import AsyncWatch


class AsyncResource(Protocol):
    """What an informer needs of :class:`dynakube.aio.resource.AsyncResource` (which builds
    informers through its client: a Protocol here keeps the import graph acyclic)."""

    @property
    def info(self) -> ResourceInfo: ...

    def watch(self, namespace: Any = None, *, resource_version: str | None = None,
              label_selector: Any = None, field_selector: Any = None,
              send_initial_events: bool | None = None, bookmarks: bool = False,
              read_timeout: float = ...) -> AsyncWatch: ...

    async def list(self, namespace: Any = None, *, label_selector: Any = None,
                   field_selector: Any = None, limit: int | None = None,
                   continue_token: str | None = None) -> dict[str, Any]: ...

__all__ = ["AsyncInformer", "DeletedFinalStateUnknown", "Handler"]

log = logging.getLogger("dynakube.controller.informer")


class AsyncInformer:
    """Watch one collection into :attr:`store` and await handlers for every change.

    ``resource`` is an :class:`~dynakube.aio.resource.AsyncResource`; the other arguments
    are the sync informer's. ``start()`` (or ``async with``) starts it, ``await stop()``
    ends it, ``await wait_for_sync()`` waits for the first full state.
    """

    def __init__(self, resource: AsyncResource, *, namespace: Any = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 resync_period: float | None = None,
                 indexers: dict[str, IndexFunc] | None = None, watch_list: bool = True,
                 page_size: int = 500, backoff: Backoff | None = None,
                 read_timeout: float = 75.0, healthy_after: float = 10.0):
        self.resource = resource
        self.store = Store(indexers=indexers)
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync_period = resync_period
        self.watch_list = watch_list
        self.page_size = page_size
        self.backoff = backoff or Backoff()
        self.read_timeout = read_timeout
        self.healthy_after = healthy_after
        self.name = resource.info.qualified
        #: The resourceVersion the store is in step with; how many full states were read.
        self.resource_version: str | None = None
        self.relists = 0
        #: The latest failed list or watch attempt; None again once one succeeds.
        self.last_error: DynakubeError | None = None
        self._handlers: tuple[Handler, ...] = ()
        self._notes: asyncio.Queue[tuple[tuple[Handler, ...], str, Any, Any]] = asyncio.Queue()
        self._synced = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._watch: AsyncWatch | None = None
        self._stopping = False
        self._in_initial = False

    # -- handlers -------------------------------------------------------------------------
    def add_handler(self, on_add: Callable[..., Any] | None = None,
                    on_update: Callable[..., Any] | None = None,
                    on_delete: Callable[..., Any] | None = None) -> Handler:
        """Register callbacks (functions or coroutine functions); the current contents
        arrive first as ``on_add`` calls."""
        handler = Handler(on_add, on_update, on_delete)
        self._handlers = self._handlers + (handler,)
        current = self.store.list()
        if current:
            self._notes.put_nowait(((handler,), "replay", current, None))
        return handler

    def remove_handler(self, handler: Handler) -> None:
        self._handlers = tuple(h for h in self._handlers if h is not handler)
        handler.on_add = handler.on_update = handler.on_delete = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> AsyncInformer:
        """Start the reflect and dispatch tasks on the running loop (once)."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._dispatch(), name=f"{self.name}-dispatch"),
                           asyncio.create_task(self._reflect(), name=f"{self.name}-reflect")]
        return self

    async def stop(self) -> None:
        """Stop watching and dispatching; the live watch's connection closes at once."""
        self._stopping = True
        if self._watch is not None:
            self._watch.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def has_synced(self) -> bool:
        """True once the first full state is in the store and its handlers were called."""
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait until :attr:`has_synced` (True) or ``timeout`` seconds pass (False)."""
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def flush(self) -> None:
        """Wait until the handlers were called for every change the store holds now."""
        await self._notes.join()

    async def __aenter__(self) -> AsyncInformer:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __repr__(self) -> str:
        state = "synced" if self.has_synced else "syncing"
        return f"<AsyncInformer {self.name} {state} {len(self.store)} objects>"

    # -- the store --------------------------------------------------------------------------
    def _replace(self, objects: list[dict[str, Any]], resource_version: str) -> None:
        diff = self.store.replace(objects)
        handlers = self._handlers
        if handlers:
            for old in diff.deleted:
                marked = DeletedFinalStateUnknown(self.store.key(old), old)
                self._notes.put_nowait((handlers, "delete", marked, None))
            for new in diff.added:
                self._notes.put_nowait((handlers, "add", new, None))
            for old, new in diff.updated:
                self._notes.put_nowait((handlers, "update", old, new))
        if not self._synced.is_set():
            self._notes.put_nowait(((), "synced", None, None))
        self.relists += 1
        self.resource_version = resource_version
        self.last_error = None

    def _apply(self, event: WatchEvent) -> None:
        try:
            note: tuple[tuple[Handler, ...], str, Any, Any]
            if event.type == "DELETED":
                self.store.delete(event.object)
                note = (self._handlers, "delete", event.object, None)
            else:
                old = self.store.upsert(event.object)
                note = (self._handlers, "add", event.object, None) if old is None else \
                    (self._handlers, "update", old, event.object)
        except DynakubeError as e:  # an object without a name: nothing to file it under
            log.error("%s: ignoring %s event: %s", self.name, event.type, e)
            return
        if note[0]:
            self._notes.put_nowait(note)

    # -- reflecting -------------------------------------------------------------------------
    async def _reflect(self) -> None:
        quick = True
        while not self._stopping:
            started = time.monotonic()
            try:
                await self._list_and_watch()
            except GoneError as e:  # ResourceVersionTooLargeError too
                self.last_error = e
                log.info("informer %s: %s; relisting", self.name, e)
            except (ApiError, TransportError) as e:
                self.last_error = e
                log.warning("informer %s failed: %s", self.name, e)
            except DynakubeError as e:
                self.last_error = e
                log.error("informer %s: %s", self.name, e)
            if time.monotonic() - started >= self.healthy_after:
                self.backoff.reset()
                quick = True
            if quick:
                quick = False
                continue
            await asyncio.sleep(self.backoff.next())

    async def _list_and_watch(self) -> None:
        if self.watch_list:
            self._in_initial = True
            try:
                await self._consume(self._open(None, True), {})
                return
            except (ApiError, TransportError) as e:
                if not self._in_initial or self._stopping:
                    raise  # the watch broke after its sync: a session like any other
                if isinstance(e, ApiError) and (self.relists == 0 or e.code in WATCH_LIST_REFUSED):
                    self.watch_list = False
                log.info("streaming watch-list failed (%s); using list + watch", e)
        resource_version = await self._list()
        await self._consume(self._open(resource_version, None), None)

    def _open(self, resource_version: str | None, send_initial_events: bool | None
              ) -> AsyncWatch:
        watch = self.resource.watch(
            self.namespace, resource_version=resource_version,
            label_selector=self.label_selector, field_selector=self.field_selector,
            send_initial_events=send_initial_events, bookmarks=True,
            read_timeout=self.read_timeout)
        watch.backoff = self.backoff
        watch.healthy_after = self.healthy_after
        if send_initial_events:
            watch.initial_attempts = 3
        self._watch = watch
        return watch

    async def _list(self) -> str:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = await self.resource.list(
                self.namespace, label_selector=self.label_selector,
                field_selector=self.field_selector, limit=self.page_size or None,
                continue_token=token)
            kind, api_version = str(page.get("kind") or ""), page.get("apiVersion")
            item_kind = kind[:-4] if kind.endswith("List") else None
            for item in page.get("items") or ():
                if item_kind and "kind" not in item:  # as client-go fills them in
                    item["kind"] = item_kind
                if api_version and "apiVersion" not in item:
                    item["apiVersion"] = api_version
                items.append(item)
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            if token is None:
                break
        resource_version = str(meta.get("resourceVersion") or "")
        if not resource_version:
            raise TransportError("the list answer has no metadata.resourceVersion")
        self._replace(items, resource_version)
        return resource_version

    async def _consume(self, watch: AsyncWatch,
                       initial: dict[str, dict[str, Any]] | None) -> None:
        async with watch:
            async for event in watch:
                if initial is not None:
                    if event.type in ("ADDED", "MODIFIED"):
                        initial[object_key(event.object)] = event.object
                    elif event.type == "DELETED":
                        initial.pop(object_key(event.object), None)
                    elif event.ends_initial_events:
                        self._replace(list(initial.values()), event.resource_version or "")
                        initial = None
                        self._in_initial = False
                    continue
                if event.type != "BOOKMARK":
                    self._apply(event)
                self.resource_version = event.resource_version or self.resource_version

    # -- dispatching ------------------------------------------------------------------------
    async def _dispatch(self) -> None:
        next_resync = None if not self.resync_period else time.monotonic() + self.resync_period
        while True:
            timeout = None if next_resync is None else max(0.0, next_resync - time.monotonic())
            try:
                note = await asyncio.wait_for(self._notes.get(), timeout)
            except TimeoutError:
                assert self.resync_period
                next_resync = time.monotonic() + self.resync_period
                if self.has_synced and self._handlers:
                    self._notes.put_nowait((self._handlers, "resync", self.store.list(), None))
                continue
            try:
                await self._deliver(*note)
            finally:
                self._notes.task_done()

    async def _deliver(self, handlers: tuple[Handler, ...], kind: str, first: Any,
                       second: Any) -> None:
        if kind == "synced":
            self._synced.set()
            return
        for handler in handlers:
            if kind in ("replay", "resync"):
                func = handler.on_add if kind == "replay" else handler.on_update
                for obj in first if func is not None else ():
                    await self._call(func, obj) if kind == "replay" else \
                        await self._call(func, obj, obj)
            elif kind == "add":
                await self._call(handler.on_add, first)
            elif kind == "update":
                await self._call(handler.on_update, first, second)
            elif kind == "delete":
                await self._call(handler.on_delete, first)

    async def _call(self, func: Callable[..., Any] | None, *args: Any) -> None:
        if func is None:
            return
        try:
            result = func(*args)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("%s: handler %r failed", self.name, func)
