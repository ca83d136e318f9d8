"""The kinds the embedded API server knows: built-ins and those CustomResourceDefinitions add.

A :class:`KindSpec` holds everything the server needs to serve one kind at one version: the
names and verbs discovery shows, the subresources, the columns of its server-side table, and
the name of its OpenAPI schema. ``BUILTIN_KINDS`` lists every built-in resource exactly as a
Kubernetes 1.36 server's discovery shows it (read from the generated data, :mod:`.data`);
:func:`kinds_from_crd` derives the same for each served version of a CRD. The OpenAPI schemas
are in :mod:`.data`, the table columns in :mod:`.printers`; the defaults the real server fills
in on every write are in :mod:`.defaults`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dynakube.apiserver.kinds.data import discovery, kind_schema_name, storage_hash
from dynakube.apiserver.kinds.printers import (
    PrinterColumn,
    crd_columns,
    human_duration,
    jsonpath_value,
)
from dynakube.apiserver.kinds.tables import builtin_columns
from dynakube.errors import InvalidArgumentError

__all__ = [
    "BUILTIN_GROUP_ORDER",
    "BUILTIN_KINDS",
    "KindSpec",
    "PrinterColumn",
    "ScalePaths",
    "SubresourceSpec",
    "builtin_kind",
    "crd_schema_name",
    "human_duration",
    "jsonpath_value",
    "kinds_from_crd",
    "now_rfc3339",
    "set_path",
    "version_priority",
]

_CR_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
_SUB_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class SubresourceSpec:
    """One subresource as aggregated discovery shows it.

    For built-ins ``group``/``version`` are empty when the response kind is in the parent's own
    group-version (that is how discovery writes it); custom resources always spell them out.
    """

    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str = ""
    version: str = ""


@dataclass(frozen=True)
class ScalePaths:
    """Where a custom resource keeps what its ``scale`` subresource shows (JSONPaths)."""

    spec_replicas: str
    status_replicas: str
    label_selector: str | None = None


@dataclass(frozen=True)
class KindSpec:
    """A kind served at one group-version, with what discovery, tables and OpenAPI need."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    verbs: tuple[str, ...]
    schema_name: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[SubresourceSpec, ...] = ()
    list_kind: str = ""
    columns: tuple[PrinterColumn, ...] = ()
    # A delete answers with the deleted object instead of a Status (Pod, Service, ...).
    delete_returns_object: bool = False
    # Custom resources only.
    crd_name: str | None = None
    schema: Mapping[str, Any] | None = field(default=None, compare=False)
    storage: bool = True
    deprecated: bool = False
    deprecation_warning: str | None = None
    scale: ScalePaths | None = None
    # Built-ins: the legacy discovery's storageVersionHash ('' for none); None: compute it.
    storage_hash: str | None = None

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def is_custom(self) -> bool:
        """True for kinds a CustomResourceDefinition defines."""
        return self.crd_name is not None

    def subresource(self, name: str) -> SubresourceSpec | None:
        """The subresource called ``name``, or None."""
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    def column_definitions(self) -> list[dict[str, Any]]:
        """``columnDefinitions`` of this kind's server-side table."""
        return [column.definition() for column in self.columns]

    def table_cells(self, obj: Mapping[str, Any], now: float) -> list[Any]:
        """One row's ``cells`` for ``obj`` (``now``: seconds since the epoch, for ages)."""
        return [column.cell(obj, now) for column in self.columns]

    def warning(self) -> str | None:
        """The ``Warning`` text for requests to this version (deprecated CRD versions only)."""
        if not self.deprecated:
            return None
        if self.deprecation_warning:
            return self.deprecation_warning
        return f"{self.api_version} {self.kind} is deprecated"


# ---------------------------------------------------------------- the built-in table

# Registries with ReturnDeletedObject: a delete answers with the object, not a Status.
_RETURNS_DELETED = {("", "Pod"), ("", "Service"), ("", "ServiceAccount"), ("", "Namespace"),
                    ("storage.k8s.io", "StorageClass")}


def _sub(name: str, kind: str, verbs: tuple[str, ...] = _SUB_VERBS, group: str = "",
         version: str = "") -> SubresourceSpec:
    return SubresourceSpec(name, kind, verbs, group, version)


def _from_discovery(group: str, version: str, entry: Mapping[str, Any]) -> KindSpec:
    kind = str(entry["responseKind"]["kind"])
    subresources = tuple(
        _sub(str(sub["subresource"]), str(sub["responseKind"]["kind"]), tuple(sub["verbs"]),
             str(sub["responseKind"].get("group", "")),
             str(sub["responseKind"].get("version", "")))
        for sub in entry.get("subresources") or ()
    )
    plural = str(entry["resource"])
    return KindSpec(
        group=group, version=version, kind=kind, plural=plural,
        singular=str(entry.get("singularResource") or kind.lower()),
        namespaced=entry.get("scope") == "Namespaced", verbs=tuple(entry["verbs"]),
        schema_name=kind_schema_name(group, version, kind) or "",
        short_names=tuple(entry.get("shortNames") or ()),
        categories=tuple(entry.get("categories") or ()), subresources=subresources,
        list_kind=f"{kind}List", columns=builtin_columns(group, kind),
        delete_returns_object=(group, kind) in _RETURNS_DELETED,
        storage_hash=storage_hash(group, version, plural),
    )


def _builtin_kinds() -> tuple[tuple[KindSpec, ...], tuple[str, ...]]:
    kinds: list[KindSpec] = []
    groups: list[str] = []
    for root in ("api", "apis"):
        for item in discovery(root)["items"]:
            group = str((item.get("metadata") or {}).get("name") or "")
            groups.append(group)
            for entry in item["versions"]:
                kinds.extend(_from_discovery(group, str(entry["version"]), resource)
                             for resource in entry["resources"])
    return tuple(kinds), tuple(groups)


BUILTIN_KINDS, BUILTIN_GROUP_ORDER = _builtin_kinds()
"""Every built-in resource (and the groups in the server's order) as real discovery shows."""


def builtin_kind(group: str, version: str, kind: str) -> KindSpec | None:
    """The built-in :class:`KindSpec` for a group/version/kind, or None."""
    for spec in BUILTIN_KINDS:
        if (spec.group, spec.version, spec.kind) == (group, version, kind):
            return spec
    return None


# ---------------------------------------------------------------- CustomResourceDefinitions

_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting versions in Kubernetes order: v2, v1, v1beta2, v1beta1, v1alpha1, foo.

    Sort ascending by this key to get the preferred version first.
    """
    match = _VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


def crd_schema_name(group: str, version: str, kind: str) -> str:
    """The component schema name the server publishes: ``io.dynakube.example.v1.Widget``."""
    return ".".join([*reversed(group.split(".")), version, kind])


def _get(obj: Any, *path: str) -> Any:
    current = obj
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise InvalidArgumentError(f"CustomResourceDefinition {where} has no {key!r}")
    return mapping[key]


def kinds_from_crd(crd: Mapping[str, Any]) -> list[KindSpec]:
    """One :class:`KindSpec` per served version of ``crd``, the preferred version first.

    Raises InvalidArgumentError when the CRD lacks ``spec.group``, ``spec.names`` or versions.
    """
    spec = _require(crd, "spec", "object")
    group = str(_require(spec, "group", "spec"))
    names = _require(spec, "names", "spec")
    kind = str(_require(names, "kind", "spec.names"))
    plural = str(_require(names, "plural", "spec.names"))
    versions = _require(spec, "versions", "spec")
    if not isinstance(versions, list):
        raise InvalidArgumentError("CustomResourceDefinition spec.versions must be a list")
    crd_name = str(_get(crd, "metadata", "name") or f"{plural}.{group}")
    result = []
    for entry in versions:
        if not isinstance(entry, Mapping) or not entry.get("served"):
            continue
        version = str(_require(entry, "name", "spec.versions[]"))
        subs = entry.get("subresources") or {}
        subresources: list[SubresourceSpec] = []
        scale = None
        if "status" in subs:
            subresources.append(_sub("status", kind, _SUB_VERBS, group, version))
        if isinstance(subs.get("scale"), Mapping):
            subresources.append(_sub("scale", "Scale", _SUB_VERBS, "autoscaling", "v1"))
            scale = ScalePaths(
                str(subs["scale"].get("specReplicasPath", "")),
                str(subs["scale"].get("statusReplicasPath", "")),
                subs["scale"].get("labelSelectorPath"),
            )
        schema = _get(entry, "schema", "openAPIV3Schema")
        result.append(KindSpec(
            group=group, version=version, kind=kind, plural=plural,
            singular=str(names.get("singular") or kind.lower()),
            namespaced=spec.get("scope", "Namespaced") != "Cluster", verbs=_CR_VERBS,
            schema_name=crd_schema_name(group, version, kind),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=tuple(subresources), list_kind=str(names.get("listKind") or f"{kind}List"),
            columns=crd_columns(entry.get("additionalPrinterColumns")), crd_name=crd_name,
            schema=schema if isinstance(schema, Mapping) else {"type": "object"},
            storage=bool(entry.get("storage")), deprecated=bool(entry.get("deprecated")),
            deprecation_warning=entry.get("deprecationWarning"), scale=scale,
        ))
    result.sort(key=lambda k: version_priority(k.version))
    return result


# ---------------------------------------------------------------- paths


def set_path(obj: dict[str, Any], path: tuple[str, ...], value: Any, *,
             overwrite: bool = True) -> None:
    """Set ``obj[path[0]][path[1]]...`` to ``value``, making the maps on the way; with
    ``overwrite=False`` only where it is unset (absent or null), as defaulting does."""
    current = obj
    for key in path[:-1]:
        nxt = current.get(key)
        if not isinstance(nxt, dict):
            nxt = current[key] = {}
        current = nxt
    if overwrite or current.get(path[-1]) is None:
        current[path[-1]] = value


def now_rfc3339(now: float) -> str:
    """``now`` (seconds since the epoch) in the server's timestamp format."""
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
