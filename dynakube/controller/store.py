"""The informer's local cache: a thread-safe store of objects with indexes.

Keys are ``namespace/name`` (or ``name`` for cluster-scoped objects), as client-go's
``MetaNamespaceKeyFunc``. Indexers map an object to index values (a ``namespace`` index is
always there; add others any time) so controllers can ask "all pods on node X" without
scanning. :meth:`Store.replace` is what a relist does: it swaps the contents and returns the
differences, so the informer can tell handlers exactly what changed while it was away.

Objects are stored as given, not copied: treat what the store returns as read-only.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .._record import Record, field
from ..errors import InvalidArgumentError
from ..meta import object_key

__all__ = ["IndexFunc", "NAMESPACE_INDEX", "Store", "StoreDiff", "namespace_index"]

#: An index function: the index values of one object (none, one or several).
IndexFunc = Callable[[dict[str, Any]], Iterable[str]]

NAMESPACE_INDEX = "namespace"


def namespace_index(obj: dict[str, Any]) -> list[str]:
    """The default index: an object's namespace (cluster-scoped objects are not indexed)."""
    ns = (obj.get("metadata") or {}).get("namespace")
    return [ns] if ns else []


class StoreDiff(Record, frozen=False):
    """What :meth:`Store.replace` changed: added, updated ``(old, new)`` and deleted objects."""

    added: list[dict[str, Any]] = field(default_factory=list)
    updated: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.deleted)


def _version(obj: dict[str, Any]) -> tuple[Any, Any]:
    meta = obj.get("metadata") or {}
    return meta.get("uid"), meta.get("resourceVersion")


class Store:
    """Thread-safe objects by key, with named indexes; every method may be called any time."""

    def __init__(self, key_func: Callable[[dict[str, Any]], str] = object_key,
                 indexers: dict[str, IndexFunc] | None = None):
        self._key = key_func
        self._lock = threading.RLock()
        self._items: dict[str, dict[str, Any]] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: namespace_index}
        self._indexers.update(indexers or {})
        # index name -> index value -> keys
        self._indexes: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    # -- reading --------------------------------------------------------------------------
    def key(self, obj: dict[str, Any]) -> str:
        """The key the store files ``obj`` under."""
        return self._key(obj)

    def get(self, key: str) -> dict[str, Any] | None:
        """The object stored under ``key`` (``namespace/name`` or ``name``), or None."""
        with self._lock:
            return self._items.get(key)

    def get_object(self, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object called ``name`` (in ``namespace`` for namespaced kinds), or None."""
        return self.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> builtins.list[dict[str, Any]]:
        with self._lock:
            return list(self._items.values())

    def keys(self) -> builtins.list[str]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def indexers(self) -> builtins.list[str]:
        with self._lock:
            return list(self._indexers)

    def by_index(self, index: str, value: str) -> builtins.list[dict[str, Any]]:
        """Objects whose index function returned ``value`` for index ``index``."""
        with self._lock:
            return [self._items[k] for k in sorted(self._index(index).get(value, ()))]

    def index_keys(self, index: str, value: str) -> builtins.list[str]:
        with self._lock:
            return sorted(self._index(index).get(value, ()))

    def index_values(self, index: str) -> builtins.list[str]:
        """Every value index ``index`` currently holds."""
        with self._lock:
            return sorted(self._index(index))

    def _index(self, name: str) -> dict[str, set[str]]:
        try:
            return self._indexes[name]
        except KeyError:
            raise InvalidArgumentError(
                f"no index called {name!r}; the store has: {', '.join(self._indexers)}"
            ) from None

    # -- writing --------------------------------------------------------------------------
    def add_indexer(self, name: str, func: IndexFunc) -> None:
        """Add an index (built at once over the current contents); names must be new."""
        with self._lock:
            if name in self._indexers:
                raise InvalidArgumentError(f"the store already has an index called {name!r}")
            index: dict[str, set[str]] = {}
            for key, obj in self._items.items():
                for value in func(obj):
                    index.setdefault(value, set()).add(key)
            self._indexers[name] = func
            self._indexes[name] = index

    def upsert(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Add or replace ``obj``; returns the object it replaced, or None."""
        key = self._key(obj)
        with self._lock:
            old = self._items.get(key)
            if old is not None:
                self._unindex(key, old)
            self._items[key] = obj
            self._reindex(key, obj)
            return old

    def delete(self, obj_or_key: dict[str, Any] | str) -> dict[str, Any] | None:
        """Remove by object or key; returns the object that was stored, or None."""
        key = obj_or_key if isinstance(obj_or_key, str) else self._key(obj_or_key)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._unindex(key, old)
            return old

    def replace(self, objects: Iterable[dict[str, Any]]) -> StoreDiff:
        """Make the store hold exactly ``objects``; returns what changed.

        An object counts as updated when its resourceVersion differs; one whose uid changed
        (deleted and re-created under the same name) counts as deleted and added.
        """
        fresh = {self._key(obj): obj for obj in objects}
        diff = StoreDiff()
        with self._lock:
            for key, old in self._items.items():
                new = fresh.get(key)
                if new is None or _version(new)[0] != _version(old)[0]:
                    diff.deleted.append(old)
            for key, new in fresh.items():
                previous = self._items.get(key)
                if previous is None or _version(new)[0] != _version(previous)[0]:
                    diff.added.append(new)
                elif _version(new)[1] != _version(previous)[1]:
                    diff.updated.append((previous, new))
            self._items = fresh
            self._indexes = {name: {} for name in self._indexers}
            for key, obj in fresh.items():
                self._reindex(key, obj)
        return diff

    def clear(self) -> None:
        with self._lock:
            self._items = {}
            self._indexes = {name: {} for name in self._indexers}

    def _reindex(self, key: str, obj: dict[str, Any]) -> None:
        for name, func in self._indexers.items():
            index = self._indexes[name]
            for value in func(obj):
                index.setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: dict[str, Any]) -> None:
        for name, func in self._indexers.items():
            index = self._indexes[name]
            for value in func(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
