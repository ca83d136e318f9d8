"""In-memory object storage for the embedded API server: versions, history, watchers.

It plays etcd plus the watch cache: one cluster-wide ``resourceVersion`` counter, objects kept
per resource in key order (so a list with ``limit`` walks a slice instead of copying the world),
old versions kept until compaction (so ``continue`` tokens read a consistent snapshot), a
bounded event history to resume watches from, and fan-out of new events to open watches (a
watch too far behind is closed rather than buffered without end). Objects handed in are
owned by the store afterwards and never mutated.
"""

from __future__ import annotations

import bisect
import collections
import threading
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "Bucket", "ObjectStore", "Watcher", "TooOld", "storage_key"]

Obj = dict[str, Any]


class TooOld(Exception):
    """The requested resourceVersion has been compacted away; ``oldest`` is the oldest kept."""

    def __init__(self, requested: int, oldest: int):
        self.requested = requested
        self.oldest = oldest
        super().__init__(f"too old resource version: {requested} ({oldest})")


def storage_key(namespace: str | None, name: str) -> str:
    """The storage key: ``/ns/name`` for namespaced objects, ``/name`` otherwise."""
    return f"/{namespace}/{name}" if namespace else f"/{name}"


@dataclass
class Event:
    """One change: ``type`` is ADDED, MODIFIED or DELETED; ``old`` is the previous state."""

    rv: int
    type: str
    bucket: str
    key: str
    obj: Obj
    old: Obj | None = None
    # the event's encoded line per way of showing it (version, shape) and type, filled by the
    # first watch stream that sends it, so fifty watchers cost one serialization, not fifty
    wire: dict[tuple[Any, ...], bytes] = field(default_factory=dict, repr=False, compare=False)
    # how the event shows in each watch scope (namespace and selectors): ADDED, MODIFIED,
    # DELETED or None; worked out once for every watch with the same scope
    seen_as: dict[tuple[Any, ...], str | None] = field(default_factory=dict, repr=False,
                                                      compare=False)


@dataclass
class Bucket:
    """All objects of one resource (``group/plural``), across versions and namespaces."""

    name: str
    keys: list[str] = field(default_factory=list)  # sorted; includes tombstones until compacted
    versions: dict[str, list[tuple[int, Obj | None]]] = field(default_factory=dict)
    live: int = 0
    tombstones: int = 0

    def current(self, key: str) -> Obj | None:
        vers = self.versions.get(key)
        return vers[-1][1] if vers else None

    def at(self, key: str, rv: int) -> Obj | None:
        for version, obj in reversed(self.versions.get(key, ())):
            if version <= rv:
                return obj
        return None

    def range(self, prefix: str) -> tuple[int, int]:
        """Index range of keys under ``prefix`` (``""`` for all, ``/ns`` for a namespace)."""
        if not prefix:
            return 0, len(self.keys)
        lo = bisect.bisect_left(self.keys, prefix + "/")
        hi = bisect.bisect_left(self.keys, prefix + "0")  # "0" sorts right after "/"
        return lo, hi


class Watcher:
    """An open watch: events for one bucket wait in ``pending`` until its stream takes them.

    The store appends under its lock (so every watcher sees events in revision order) and wakes
    the stream after releasing it, so a write never waits on a watcher's thread.
    """

    def __init__(self, bucket: str, accept: Callable[[Event], bool], group: Hashable = None):
        self.bucket = bucket
        self.accept = accept
        # watchers of one group accept the same events (one scope), so the store asks the
        # first of them only; None: a group of its own
        self.group = group if group is not None else self
        self.pending: collections.deque[Event] = collections.deque()
        self.closed = threading.Event()
        self._ready = threading.Condition(threading.Lock())

    def wake(self) -> None:
        """Tell the stream that events (or the end) are waiting."""
        with self._ready:
            self._ready.notify()

    def take(self, timeout: float) -> list[Event] | None:
        """Every waiting event, oldest first, waiting up to ``timeout`` seconds for one;
        ``[]`` when none came, ``None`` once the watch is closed and nothing is left."""
        with self._ready:
            if not self.pending and not self.closed.is_set():
                self._ready.wait(max(0.0, timeout))
            if not self.pending:
                return None if self.closed.is_set() else []
            # popleft, not copy-and-clear: the store may append meanwhile, without this lock
            return [self.pending.popleft() for _ in range(len(self.pending))]

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            self.wake()


class ObjectStore:
    """Thread-safe versioned object store; every method takes the one lock briefly."""

    def __init__(self, history_size: int = 10_000, watch_buffer: int = 10_000):
        self.lock = threading.RLock()
        self._advanced = threading.Condition(self.lock)  # notified on every new revision
        self.history_size = max(1, history_size)
        # events an open watch may have waiting; one further behind (a client that stopped
        # reading) is closed, as kube-apiserver closes unresponsive watchers, instead of
        # buffering without end; its client resumes from the last resourceVersion it saw
        self.watch_buffer = max(1, watch_buffer)
        self.rv = 1
        self.compacted = 0  # newest revision no longer readable from history
        self.history: collections.deque[Event] = collections.deque()
        self.buckets: dict[str, Bucket] = {}
        self.watchers: set[Watcher] = set()
        # the open watchers again, by bucket and group (in the order they opened), so an
        # event reaches only its bucket's watchers and each group's verdict is asked once
        self._fanout: dict[str, dict[Hashable, list[Watcher]]] = {}
        self.owners: dict[str, set[tuple[str, str]]] = {}  # owner uid -> dependents

    # -- reads ---------------------------------------------------------------------------

    def bucket(self, name: str) -> Bucket:
        with self.lock:
            b = self.buckets.get(name)
            if b is None:
                b = self.buckets[name] = Bucket(name)
            return b

    def get(self, bucket: str, key: str) -> Obj | None:
        with self.lock:
            b = self.buckets.get(bucket)
            return b.current(key) if b else None

    def count(self, bucket: str) -> int:
        with self.lock:
            b = self.buckets.get(bucket)
            return b.live if b else 0

    def check_readable(self, rv: int) -> None:
        """Raise :class:`TooOld` when the state at ``rv`` can no longer be reconstructed."""
        if rv < self.compacted:
            raise TooOld(rv, self.compacted)

    def page(self, bucket: str, prefix: str, *, rv: int | None, start: str | None,
             limit: int | None, accept: Callable[[Obj], bool] | None = None,
             ) -> tuple[list[Obj], str | None, int | None, int]:
        """A consistent page: ``(items, last_key_if_more, remaining_or_None, snapshot_rv)``.

        ``rv`` None reads the newest state. ``start`` is the first key to consider (inclusive).
        ``remaining`` is only counted when nothing filters the items (as the real server does).
        """
        with self.lock:
            snapshot = self.rv if rv is None else rv
            if rv is not None:
                self.check_readable(rv)
            b = self.buckets.get(bucket)
            if b is None:
                return [], None, None, snapshot
            lo, hi = b.range(prefix)
            if start is not None:
                lo = max(lo, bisect.bisect_left(b.keys, start, lo, hi))
            current = rv is None or rv >= self.rv
            items: list[Obj] = []
            i = lo
            while i < hi:
                key = b.keys[i]
                obj = b.current(key) if current else b.at(key, snapshot)
                i += 1
                if obj is None or (accept is not None and not accept(obj)):
                    continue
                items.append(obj)
                if limit and len(items) >= limit:
                    break
            more = None
            remaining: int | None = None
            if limit and len(items) >= limit and i < hi:
                if any(self._visible(b, b.keys[j], current, snapshot, accept)
                       for j in self._scan(i, hi)):
                    more = b.keys[i - 1]
                    if accept is None:
                        if current and b.tombstones == 0:
                            remaining = hi - i
                        else:
                            remaining = sum(1 for j in range(i, hi)
                                            if self._visible(b, b.keys[j], current, snapshot, None))
            return items, more, remaining, snapshot

    @staticmethod
    def _scan(i: int, hi: int) -> Iterator[int]:
        return iter(range(i, hi))

    @staticmethod
    def _visible(b: Bucket, key: str, current: bool, snapshot: int,
                 accept: Callable[[Obj], bool] | None) -> bool:
        obj = b.current(key) if current else b.at(key, snapshot)
        return obj is not None and (accept is None or accept(obj))

    # -- writes --------------------------------------------------------------------------

    def next_rv(self) -> int:
        """Reserve the revision the next write will get (call under ``lock``)."""
        return self.rv + 1

    def put(self, bucket: str, key: str, obj: Obj, *, event_type: str | None = None) -> Event:
        """Store ``obj`` (its metadata.resourceVersion must already be ``next_rv()``)."""
        with self.lock:
            b = self.bucket(bucket)
            self.rv += 1
            vers = b.versions.get(key)
            old = vers[-1][1] if vers else None
            if vers is None:
                vers = b.versions[key] = []
                bisect.insort(b.keys, key)
            elif old is None:
                b.tombstones -= 1
            if old is None:
                b.live += 1
            vers.append((self.rv, obj))
            self._index_owners(bucket, key, old, obj)
            kind = event_type or ("ADDED" if old is None else "MODIFIED")
            event, woken = self._record(Event(self.rv, kind, bucket, key, obj, old))
        self._wake(woken)
        return event

    def delete(self, bucket: str, key: str, final: Obj) -> Event:
        """Remove the object; ``final`` (with the new resourceVersion) goes to watchers."""
        with self.lock:
            b = self.bucket(bucket)
            old = b.current(key)
            self.rv += 1
            b.versions.setdefault(key, []).append((self.rv, None))
            b.live -= 1
            b.tombstones += 1
            self._index_owners(bucket, key, old, None)
            event, woken = self._record(Event(self.rv, "DELETED", bucket, key, final, old))
        self._wake(woken)
        return event

    def _index_owners(self, bucket: str, key: str, old: Obj | None, new: Obj | None) -> None:
        for obj, add in ((old, False), (new, True)):
            refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
            for ref in refs if isinstance(refs, list) else []:
                uid = ref.get("uid") if isinstance(ref, dict) else None
                if not uid:
                    continue
                deps = self.owners.setdefault(str(uid), set())
                if add:
                    deps.add((bucket, key))
                else:
                    deps.discard((bucket, key))
                    if not deps:
                        self.owners.pop(str(uid), None)

    def dependents_of(self, uid: str) -> set[tuple[str, str]]:
        """Keys of live objects whose ownerReferences name ``uid``."""
        with self.lock:
            return set(self.owners.get(uid, ()))

    def drop_bucket(self, bucket: str) -> None:
        """Forget a resource entirely (its CRD is gone); watchers of it are closed."""
        with self.lock:
            self.buckets.pop(bucket, None)
            for w in [w for w in self.watchers if w.bucket == bucket]:
                w.close()
                self._remove(w)

    def _record(self, event: Event) -> tuple[Event, list[Watcher]]:
        """Append ``event`` to history and to each interested watcher (under ``lock``, so
        order holds); the watchers to wake once the lock is released."""
        self._advanced.notify_all()
        self.history.append(event)
        while len(self.history) > self.history_size:
            self._forget(self.history.popleft())
        woken: list[Watcher] = []
        behind: list[Watcher] = []
        for group in self._fanout.get(event.bucket, {}).values():
            if not group[0].accept(event):
                continue
            for w in group:
                waiting = len(w.pending)
                if waiting >= self.watch_buffer:
                    behind.append(w)
                    woken.append(w)
                    continue
                w.pending.append(event)
                if not waiting:
                    woken.append(w)  # one with events waiting was woken already
        for w in behind:  # too far behind: its stream ends after the events it has
            self._remove(w)
            w.closed.set()
        return event, woken

    def _remove(self, w: Watcher) -> None:
        """Forget an open watcher (under ``lock``)."""
        if w not in self.watchers:
            return
        self.watchers.discard(w)
        groups = self._fanout[w.bucket]
        group = groups[w.group]
        group.remove(w)
        if not group:
            del groups[w.group]
            if not groups:
                del self._fanout[w.bucket]

    @staticmethod
    def _wake(woken: list[Watcher]) -> None:
        """Wake streams outside the store lock: a write never waits on a watcher's thread."""
        for w in woken:
            w.wake()

    def _forget(self, event: Event) -> None:
        self.compacted = max(self.compacted, event.rv)
        b = self.buckets.get(event.bucket)
        if b is None:
            return
        vers = b.versions.get(event.key)
        if not vers:
            return
        # keep the newest version at or before the compaction point, and everything after it
        keep_from = 0
        for idx, (rv, _) in enumerate(vers):
            if rv <= self.compacted:
                keep_from = idx
        del vers[:keep_from]
        if len(vers) == 1 and vers[0][1] is None and vers[0][0] <= self.compacted:
            del b.versions[event.key]
            idx = bisect.bisect_left(b.keys, event.key)
            if idx < len(b.keys) and b.keys[idx] == event.key:
                del b.keys[idx]
            b.tombstones -= 1

    def compact(self) -> None:
        """Forget all history now: resuming from any older resourceVersion gets ``410``."""
        with self.lock:
            while self.history:
                self._forget(self.history.popleft())
            self.compacted = self.rv

    # -- watch ---------------------------------------------------------------------------

    def watch(self, bucket: str, since: int | None, accept: Callable[[Event], bool],
              group: Hashable = None) -> tuple[Watcher, list[Event]]:
        """Open a watch; returns it with the history after ``since`` (None: nothing past).

        Watches that name the same ``group`` must accept the same events (their scope).

        Raises :class:`TooOld` when events after ``since`` were compacted away.
        """
        with self.lock:
            backlog: list[Event] = []
            if since is not None and since < self.rv:
                self.check_readable(since)
                idx = self._history_index(since)
                backlog = [e for e in list(self.history)[idx:]
                           if e.bucket == bucket and accept(e)]
            w = Watcher(bucket, accept, group)
            self.watchers.add(w)
            self._fanout.setdefault(bucket, {}).setdefault(w.group, []).append(w)
            return w, backlog

    def wait_for_rv(self, rv: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until the store has reached revision ``rv`` (as the
        watch cache waits for etcd); whether it has. Call without holding ``lock``."""
        with self._advanced:
            return self._advanced.wait_for(lambda: self.rv >= rv, max(0.0, timeout))

    def _history_index(self, since: int) -> int:
        lo, hi = 0, len(self.history)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.history[mid].rv <= since:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            self._remove(watcher)
        watcher.close()

    def close_watches(self) -> int:
        """Close every open watch now (their streams end); returns how many."""
        with self.lock:
            open_now = list(self.watchers)
            self.watchers.clear()
            self._fanout.clear()
        for w in open_now:
            w.close()
        return len(open_now)

    def snapshot_items(self, bucket: str, prefix: str = "") -> tuple[list[Obj], int]:
        """Every live object under ``prefix`` and the revision they were read at."""
        items, _, _, rv = self.page(bucket, prefix, rv=None, start=None, limit=None)
        return items, rv
