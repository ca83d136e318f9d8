"""Which resources the embedded server serves right now: built-ins plus what CRDs add.

Routing, discovery and OpenAPI all read this one table; creating or deleting a
CustomResourceDefinition changes it (and bumps ``generation`` so cached documents are rebuilt).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..kinds.conversions import storage_resource
from ..kinds.specs import (
    BUILTIN_GROUP_ORDER,
    BUILTIN_KINDS,
    KindSpec,
    kinds_from_crd,
    version_priority,
)

__all__ = ["ResourceTable", "bucket_name", "storage_version_hash", "BUILTIN_GROUP_ORDER"]

_T = TypeVar("_T")


def bucket_name(spec: KindSpec) -> str:
    """Storage bucket shared by every version of a resource, and by the resources that are
    views of another (``events.k8s.io`` Events are core Events): ``group/plural``."""
    group, plural = storage_resource(spec.group, spec.plural)
    return f"{group}/{plural}"


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """A stable 8-byte hash of the storage group/version/kind, base64 like the real server."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()[:8]
    return base64.b64encode(digest).decode()


class ResourceTable:
    """Thread-safe registry of served kinds, keyed by (group, version, plural)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._builtin = list(BUILTIN_KINDS)
        self._crds: dict[str, list[KindSpec]] = {}
        self._index: dict[tuple[str, str, str], KindSpec] = {}
        self.generation = 0
        self.cache: dict[str, Any] = {}  # documents built from the table; cleared on change
        self._rebuild()

    def _rebuild(self) -> None:
        index: dict[tuple[str, str, str], KindSpec] = {}
        for spec in self._builtin:
            index[(spec.group, spec.version, spec.plural)] = spec
        for specs in self._crds.values():
            for spec in specs:
                index[(spec.group, spec.version, spec.plural)] = spec
        self._index = index
        self.generation += 1
        self.cache.clear()

    def cached(self, key: str, build: Callable[[], _T]) -> _T:
        """A document built from the served kinds, rebuilt after they change."""
        generation = self.generation
        hit = self.cache.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = build()
        self.cache[key] = (generation, value)
        return value

    def lookup(self, group: str, version: str, plural: str) -> KindSpec | None:
        return self._index.get((group, version, plural))

    def for_kind(self, group: str, version: str, kind: str) -> KindSpec | None:
        for spec in list(self._index.values()):
            if (spec.group, spec.version, spec.kind) == (group, version, kind):
                return spec
        return None

    def all(self) -> list[KindSpec]:
        return list(self._index.values())

    def served_version(self, group: str, version: str) -> bool:
        return any(g == group and v == version for g, v, _ in list(self._index))

    def group_versions(self) -> list[tuple[str, list[str]]]:
        """Groups in the server's order, each with its versions, preferred first."""
        groups: dict[str, set[str]] = {}
        for g, v, _ in list(self._index):
            groups.setdefault(g, set()).add(v)
        order = [g for g in BUILTIN_GROUP_ORDER if g in groups]
        order += sorted(g for g in groups if g not in order)
        return [(g, sorted(groups[g], key=version_priority)) for g in order]

    def resources_of(self, group: str, version: str) -> list[KindSpec]:
        specs = [s for (g, v, _), s in list(self._index.items()) if g == group and v == version]
        if any(s.is_custom for s in specs):
            return specs
        return sorted(specs, key=lambda s: s.plural)

    def storage_spec(self, spec: KindSpec) -> KindSpec:
        """The version a CRD stores in (built-ins store as served)."""
        if not spec.is_custom:
            return spec
        for other in self._crds.get(spec.crd_name or "", []):
            if other.storage:
                return other
        return spec

    def crd_kinds(self, crd_name: str) -> list[KindSpec]:
        return list(self._crds.get(crd_name, []))

    def set_crd(self, crd: Mapping[str, Any]) -> list[KindSpec]:
        """Serve (or re-serve) what ``crd`` defines; returns its kinds."""
        specs = kinds_from_crd(crd)
        name = str(crd.get("metadata", {}).get("name", ""))
        with self._lock:
            self._crds[name] = specs
            self._rebuild()
        return specs

    def remove_crd(self, name: str) -> list[KindSpec]:
        with self._lock:
            specs = self._crds.pop(name, [])
            self._rebuild()
        return specs
