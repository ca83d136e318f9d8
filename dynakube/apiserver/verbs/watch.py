"""Watch streams of the embedded server: newline-delimited JSON events, as kube-apiserver sends.

A watch resumes from a ``resourceVersion`` out of the bounded history (an ``ERROR`` event with
``410 Expired`` once that is compacted), or starts with the current state (``ADDED`` events,
then the ``k8s.io/initial-events-end`` bookmark for ``sendInitialEvents=true``). Selectors are
applied to the old and new state so objects moving in or out of the selection show up as
``ADDED``/``DELETED``, as the watch cache does. From a resourceVersion the store has not
reached, a plain watch sends only what comes after it; a watch-list (``sendInitialEvents``)
waits for it briefly and then ends with an ``ERROR`` event, ``504 Too large resource version``,
as kube-apiserver 1.36 does. An idle watch checks about once a second
whether its client is still connected, so a client that went away does not keep a watcher
(and a thread) until ``timeoutSeconds``. Fan-out is cheap per watcher: each stored event is
encoded once per version and shape and shared by every stream that shows it so, and during a
burst a stream writes the events that gathered in one chunk (each waits 20 ms, or 2 ms per open
watch beyond ten, at most 100 ms; after a quiet spell the next event leaves at once).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..call import Call
from ..objects import Obj, for_version
from ..status import cause, invalid, status_body, too_large_resource_version
from ..storage.store import Event, TooOld, Watcher
from .crud import Api
from .lists import Selection, as_table, partial, selection, wants

__all__ = ["WatchStream", "open_watch"]

_DEFAULT_TIMEOUT = 1800.0
_POLL = 1.0  # how often an idle watch asks whether its client is still there
# During a burst a stream waits _LINGER before it writes again, or 2 ms per open watch when
# that is longer (at most _LINGER_MAX), so the server's writes and thread wakes stay near 500
# a second however many watchers there are: each wake costs a socket write and a turn at the
# GIL, and with 50 watchers those, not encoding, were what slowed creates down
# (bench/server.py).
_LINGER = 0.02
_LINGER_PER_WATCHER = 0.002
_LINGER_MAX = 0.1


def _validate(api: Api, call: Call) -> None:
    q = call.query
    problems = []
    initial = q.get("sendInitialEvents")
    match = q.get("resourceVersionMatch")
    if initial is not None:
        if match != "NotOlderThan":
            problems.append(cause("resourceVersionMatch", "FieldValueForbidden",
                                  "Forbidden: sendInitialEvents requires setting "
                                  "resourceVersionMatch to NotOlderThan"))
        if not api.options.watch_list:
            problems.append(cause("sendInitialEvents", "FieldValueForbidden",
                                  "Forbidden: sendInitialEvents is forbidden for watch unless the "
                                  "WatchList feature gate is enabled"))
    if match:
        if initial is None:
            problems.append(cause("resourceVersionMatch", "FieldValueForbidden",
                                  "Forbidden: resourceVersionMatch is forbidden for watch unless "
                                  "sendInitialEvents is provided"))
        if match != "NotOlderThan":
            problems.append(cause("resourceVersionMatch", "FieldValueNotSupported",
                                  f'Unsupported value: "{match}": supported values: '
                                  '"NotOlderThan"'))
    if problems:
        raise invalid("ListOptions", "", problems, "meta.k8s.io")


class WatchStream:
    """An open watch; iterate it for the encoded event lines."""

    def __init__(self, api: Api, call: Call, sel: Selection):
        self.api = api
        self.call = call
        self.sel = sel
        self.spec = call.spec
        self.bucket = api.bucket(api.table.storage_spec(call.spec))
        self.namespace = call.namespace if call.spec.namespaced else None
        # watches with the same scope share each event's verdict (Event.seen_as)
        self.scope = (call.spec.api_version, self.namespace,
                      call.query.get("labelSelector"), call.query.get("fieldSelector"))
        self.shape = wants(call.accept)
        # how this watch shows an object (version and shape); an event's line is made once
        # per way of showing it and type, and shared by every stream that sends it so
        how = (call.spec.api_version, call.spec.kind, self.shape,
               call.query.get("includeObject") if self.shape == "Table" else None)
        self._line_keys = {kind: (how, kind) for kind in ("ADDED", "MODIFIED", "DELETED")}
        self.bookmarks = call.flag("allowWatchBookmarks")
        seconds = call.int_param("timeoutSeconds")
        timeout = float(seconds) if seconds else _DEFAULT_TIMEOUT  # 0 means the default too
        self.deadline = time.monotonic() + timeout
        self.initial: list[Obj] = []
        self.initial_end: int | None = None
        self.backlog: list[Event] = []
        self.error: dict[str, Any] | None = None
        self.watcher: Watcher | None = None
        self.floor = 0  # events and bookmarks at or below this resourceVersion are not sent
        self.client_gone: Callable[[], bool] = lambda: False  # set by the HTTP handler
        self._open()

    def _in_scope(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        if self.namespace and obj.get("metadata", {}).get("namespace") != self.namespace:
            return False
        return self.sel.matches(obj)

    def _accept(self, event: Event) -> bool:
        return self._seen_as(event) is not None

    def _seen_as(self, event: Event) -> str | None:
        """The type this watch's scope shows ``event`` as (selectors turn moves into
        ADDED/DELETED), or None; asked once per scope, under the store lock."""
        try:
            return event.seen_as[self.scope]
        except KeyError:
            pass
        new_in = event.type != "DELETED" and self._in_scope(event.obj)
        old_in = self._in_scope(event.old)
        kind: str | None
        if event.type == "DELETED":
            kind = "DELETED" if old_in or self._in_scope(event.obj) else None
        elif new_in:
            kind = "MODIFIED" if old_in else "ADDED"
        else:
            kind = "DELETED" if old_in else None
        event.seen_as[self.scope] = kind
        return kind

    def _open(self) -> None:
        q = self.call.query
        rv_text = q.get("resourceVersion") or ""
        initial = q.get("sendInitialEvents")
        store = self.api.store
        since: int | None = None
        if rv_text not in ("", "0"):
            try:
                since = int(rv_text)
            except ValueError:
                self.error = status_body(400, "BadRequest", f"invalid resource version: {rv_text}")
                return
        if initial == "true" and since is not None and \
                not store.wait_for_rv(since, self.api.options.resource_version_wait):
            # the watch cache waits for a watch-list's resourceVersion, then fails in-stream
            self.error = too_large_resource_version(since, store.rv).body
            return
        with store.lock:
            if since is not None and since > store.rv:
                # a plain watch from the future is accepted and sends only what comes after
                # that resourceVersion, as the watch cache does (nothing until it is passed)
                self.floor = since
                self.watcher, self.backlog = store.watch(self.bucket, None, self._accept,
                                                          self.scope)
                return
            want_state = (initial == "true") or (initial is None and rv_text in ("", "0"))
            if want_state:
                prefix = f"/{self.namespace}" if self.namespace else ""
                items, _, _, snapshot = store.page(
                    self.bucket, prefix, rv=None, start=None, limit=None,
                    accept=None if self.sel.empty else self.sel.matches)
                self.initial = items
                if initial == "true":
                    self.initial_end = snapshot
                self.watcher, self.backlog = store.watch(self.bucket, snapshot, self._accept,
                                                          self.scope)
                return
            try:
                self.watcher, self.backlog = store.watch(self.bucket, since, self._accept,
                                                          self.scope)
            except TooOld as exc:
                self.error = status_body(410, "Expired", str(exc))

    def _shown(self, kind: str, obj: Obj) -> Obj:
        """The event's object as this watch's version and shape show it."""
        if kind not in ("BOOKMARK", "ERROR"):
            obj = for_version(obj, self.spec)
        if self.shape == "Table" and kind != "BOOKMARK" and kind != "ERROR":
            shown: Obj = as_table(self.spec, [obj], {}, self.call.query.get("includeObject"))
            shown["metadata"] = {"resourceVersion": obj.get("metadata", {}).get(
                "resourceVersion", "")}
        elif self.shape in ("PartialObjectMetadata", "PartialObjectMetadataList") \
                and kind not in ("ERROR",):
            shown = partial(obj) if kind != "BOOKMARK" else dict(
                obj, apiVersion="meta.k8s.io/v1", kind="PartialObjectMetadata")
        elif kind == "ERROR":
            shown = obj
        else:
            shown = dict(obj, apiVersion=self.spec.api_version)
        return shown

    def _encode(self, kind: str, obj: Obj) -> bytes:
        return json.dumps({"type": kind, "object": self._shown(kind, obj)},
                          separators=(",", ":")).encode() + b"\n"

    def _lines(self, events: list[Event]) -> list[bytes]:
        """The lines this watch sends for stored ``events``. Each line is encoded once for
        every watch that shows it the same way (version, shape and type; selectors only
        decide the type), and its scope's verdict was asked once when the store took it."""
        lines = []
        floor, scope, keys = self.floor, self.scope, self._line_keys
        for event in events:
            if event.rv <= floor:
                continue
            kind = event.seen_as[scope] if scope in event.seen_as else self._seen_as(event)
            if kind is None:
                continue
            key = keys[kind]
            line = event.wire.get(key)
            if line is None:
                body = json.dumps(self._shown(kind, event.obj), separators=(",", ":"))
                line = event.wire[key] = b'{"type":"%s","object":%s}\n' % (
                    kind.encode(), body.encode())
            lines.append(line)
        return lines

    def _bookmark(self, rv: int, end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return self._encode("BOOKMARK", {"kind": self.spec.kind,
                                         "apiVersion": self.spec.api_version, "metadata": meta})

    def __iter__(self) -> Iterator[bytes]:
        if self.error is not None:
            yield self._encode("ERROR", self.error)
            return
        watcher = self.watcher
        assert watcher is not None
        try:
            for obj in self.initial:
                yield self._encode("ADDED", obj)
            if self.initial_end is not None and self.bookmarks:
                yield self._bookmark(self.initial_end, end=True)
            yield from self._lines(self.backlog)
            interval = max(0.05, self.api.options.bookmark_interval)
            next_bookmark = time.monotonic() + interval
            while True:
                now = time.monotonic()
                if now >= self.deadline:
                    if self.bookmarks and self.api.store.rv > self.floor:
                        yield self._bookmark(self.api.store.rv)
                    return
                wait = min(self.deadline, next_bookmark if self.bookmarks else self.deadline) - now
                events = watcher.take(min(_POLL, max(0.0, wait)))
                if events is None:
                    return
                if not events:
                    if self.client_gone():
                        return  # nothing to write to: stop watching now, not at the deadline
                    if self.bookmarks and time.monotonic() >= next_bookmark:
                        if self.api.store.rv > self.floor:
                            yield self._bookmark(self.api.store.rv)
                        next_bookmark = time.monotonic() + interval
                    continue
                # everything that arrived since the last write leaves in one chunk
                batch = self._lines(events)
                if batch:
                    yield b"".join(batch)
                    # during a burst, let the next events gather instead of waking (and writing)
                    # once per event; after a quiet spell the next event still leaves at once
                    watchers = len(self.api.store.watchers)
                    time.sleep(min(_LINGER_MAX, max(_LINGER, _LINGER_PER_WATCHER * watchers)))
        finally:
            self.api.store.unwatch(watcher)

    def close(self) -> None:
        if self.watcher is not None:
            self.api.store.unwatch(self.watcher)


def open_watch(api: Api, call: Call) -> WatchStream:
    """Validate the watch options (raising ``StatusError``) and open the stream."""
    _validate(api, call)
    return WatchStream(api, call, selection(call))
