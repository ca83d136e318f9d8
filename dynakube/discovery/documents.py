"""Reading discovery documents: pure functions from the server's JSON to resource facts.

Two forms describe the same thing. Aggregated discovery (``apidiscovery.k8s.io`` v2 or
v2beta1, an ``APIGroupDiscoveryList`` at ``/api`` and at ``/apis``) lists every group,
version and resource at once; legacy discovery is ``/api`` (``APIVersions``), ``/apis``
(``APIGroupList``) and one ``APIResourceList`` per group-version. Both become
:class:`DiscoveredGroup` values in the server's order (:func:`read_groups`), each reading its
:class:`ResourceInfo` values when first asked (:func:`parse_documents` reads them all), which
:mod:`dynakube.discovery.registry` indexes for lookups.

:func:`document_problem` says whether a document is usable discovery data at all, so that a
``200`` that is something else (a ``Status``, a proxy's page) is never cached or trusted.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._record import Record
from ..errors import DiscoveryError

__all__ = [
    "AGGREGATED_KIND",
    "DiscoveredGroup",
    "ParsedDiscovery",
    "ResourceInfo",
    "SubresourceInfo",
    "document_kind",
    "document_problem",
    "legacy_group_versions",
    "parse_documents",
    "read_groups",
]

AGGREGATED_KIND = "APIGroupDiscoveryList"


class SubresourceInfo(Record):
    """A subresource (``status``, ``scale``, ``log``...) of a resource, with what it returns."""

    name: str
    kind: str
    group: str
    version: str
    verbs: tuple[str, ...]


class ResourceInfo(Record):
    """One resource in one group-version, as discovery describes it."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[SubresourceInfo, ...] = ()
    preferred: bool = True
    deprecated: bool = False
    deprecation_warning: str | None = None

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise (as in ``apiVersion:``)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        """The same as :attr:`api_version`, under client-go's name for it."""
        return self.api_version

    @property
    def qualified(self) -> str:
        """``deployments.apps``; just ``pods`` for the core group."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def fully_qualified(self) -> str:
        """``deployments.v1.apps``; ``pods.v1`` for the core group."""
        return ".".join(p for p in (self.plural, self.version, self.group) if p)

    def subresource(self, name: str) -> SubresourceInfo | None:
        """The served subresource called ``name`` (any case), else ``None``."""
        lname = name.lower()
        for sub in self.subresources:
            if sub.name == lname:
                return sub
        return None


class ParsedDiscovery(Record):
    """What the documents say: resources (preferred versions marked), the server's group
    order, and the group-versions that could not be read (``gv -> why``)."""

    resources: tuple[ResourceInfo, ...]
    group_order: tuple[str, ...]
    failed: Mapping[str, str]


# -- is it discovery at all? ---------------------------------------------------------------

def document_kind(doc: Any) -> str:
    """A document's ``kind`` (``""`` without one); not a JSON object is a DiscoveryError."""
    if isinstance(doc, Mapping):
        return str(doc.get("kind") or "")
    raise DiscoveryError(f"a discovery document is not a JSON object (got {type(doc).__name__})")


def _list_of_mappings(doc: Mapping[str, Any], field: str, where: str) -> str | None:
    value = doc.get(field)
    if value is None:  # Go writes an empty (nil) slice as null
        return None
    if not isinstance(value, list):
        return f"{where}{field} is a {type(value).__name__}, not a list"
    if all(type(item) is dict for item in value):  # parsed JSON: skip the ABC check
        return None
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            return f"{where}{field}[{i}] is a {type(item).__name__}, not an object"
    return None


def _shape_problem(doc: Mapping[str, Any], kind: str) -> str | None:
    if kind == "APIVersions":
        versions = doc.get("versions")
        if versions is not None and not (isinstance(versions, list)
                                         and all(isinstance(v, str) for v in versions)):
            return "versions is not a list of strings"
        return None
    if kind == "APIGroupList":
        problem = _list_of_mappings(doc, "groups", "")
        if problem:
            return problem
        for i, group in enumerate(doc.get("groups") or ()):
            problem = _list_of_mappings(group, "versions", f"groups[{i}].")
            if problem:
                return problem
        return None
    if kind == "APIResourceList":
        return _list_of_mappings(doc, "resources", "")
    problem = _list_of_mappings(doc, "items", "")  # APIGroupDiscoveryList
    if problem:
        return problem
    for i, item in enumerate(doc.get("items") or ()):
        if not isinstance(item.get("metadata") or {}, Mapping):
            return f"items[{i}].metadata is not an object"
        problem = _list_of_mappings(item, "versions", f"items[{i}].")
        if problem:
            return problem
        for j, ver in enumerate(item.get("versions") or ()):
            problem = _list_of_mappings(ver, "resources", f"items[{i}].versions[{j}].")
            if problem:
                return problem
    return None


def document_problem(doc: Any, kinds: Sequence[str]) -> str | None:
    """Why ``doc`` is not usable discovery data of one of ``kinds`` (``None``: it is).

    The kind must be one expected here and the lists the parser walks must be lists of
    objects; fields inside them are read leniently (a missing verb list reads as none).
    """
    if not isinstance(doc, Mapping):
        return f"it is a JSON {type(doc).__name__}, not an object"
    kind = str(doc.get("kind") or "")
    if kind not in kinds:
        expected = " or ".join(kinds)
        if kind == "Status":
            message = str(doc.get("message") or doc.get("reason") or "").strip()
            detail = f" ({message[:200]})" if message else ""
            return f"it is a Status{detail}, not {expected}"
        if not kind:
            return f"it has no kind (expected {expected})"
        return f"its kind is {kind!r}, not {expected}"
    return _shape_problem(doc, kind)


# -- parsing -------------------------------------------------------------------------------

class DiscoveredGroup:
    """One API group as the documents list it: its served versions in the server's order,
    the preferred one, and its resources, read from the documents on first use. A lookup by
    ``apiVersion`` and ``kind`` (what a client does with an object in hand) thus reads one
    group, not every resource the server has."""

    __slots__ = ("name", "versions", "preferred", "_entries", "_read", "_resources")

    def __init__(self, name: str,
                 read: Callable[[str, str, list[Mapping[str, Any]], bool], list[ResourceInfo]]):
        self.name = name
        self.versions: list[str] = []
        self.preferred: str | None = None
        self._entries: dict[str, list[Mapping[str, Any]]] = {}
        self._read = read
        self._resources: list[ResourceInfo] | None = None

    def add_version(self, version: str, entries: list[Mapping[str, Any]]) -> None:
        self.versions.append(version)
        self._entries[version] = entries

    def resources(self) -> list[ResourceInfo]:
        """Every version's resources, in the server's order, the preferred version's marked
        preferred. Read once; two threads reading at once make equal values."""
        if self._resources is None:
            self._resources = [r for v in self.versions
                               for r in self._read(self.name, v, self._entries[v],
                                                   v == self.preferred)]
        return self._resources


# the documents are parsed JSON, so their objects are dicts: asking ``type(v) is dict``
# first skips the slower ABC check for all but a caller's own Mapping (a cold start parses
# every resource the server has)

def _mapping(value: Any) -> Mapping[str, Any]:
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a list (anything else reads as none)."""
    if not isinstance(value, list):
        return []
    return [v for v in value if type(v) is dict or isinstance(v, Mapping)]


def _strings(value: Any) -> tuple[str, ...]:
    """A list of names (verbs, short names, categories); anything else reads as none."""
    return tuple(map(str, value)) if isinstance(value, list) else ()


def _aggregated_groups(doc: Mapping[str, Any], failed: dict[str, str]
                       ) -> list[DiscoveredGroup]:
    groups: list[DiscoveredGroup] = []
    for item in _items(doc.get("items")):
        name = str(_mapping(item.get("metadata")).get("name") or "")
        group = DiscoveredGroup(name, _aggregated_resources)
        for ver in _items(item.get("versions")):
            if not ver.get("version"):
                continue
            version = str(ver["version"])
            if ver.get("freshness") == "Stale":
                gv = f"{name}/{version}" if name else version
                failed[gv] = "stale: its API server did not answer the last discovery"
                continue
            group.add_version(version, _items(ver.get("resources")))
        if group.versions:
            group.preferred = group.versions[0]
            groups.append(group)
    return groups


def _aggregated_resources(group: str, version: str, entries: list[Mapping[str, Any]],
                          preferred: bool) -> list[ResourceInfo]:
    out = []
    for r in entries:
        plural = r.get("resource")
        if not plural:
            continue
        kind = str(_mapping(r.get("responseKind")).get("kind") or "")
        subs = []
        for s in _items(r.get("subresources")):
            if not s.get("subresource"):
                continue
            ref = _mapping(s.get("responseKind"))
            subs.append(SubresourceInfo(
                name=str(s["subresource"]), kind=str(ref.get("kind") or ""),
                group=str(ref.get("group") or "") if ref.get("version") else group,
                version=str(ref.get("version") or version), verbs=_strings(s.get("verbs"))))
        out.append(ResourceInfo(
            group=group, version=version, plural=str(plural),
            singular=str(r.get("singularResource") or kind.lower()), kind=kind,
            namespaced=r.get("scope") == "Namespaced", verbs=_strings(r.get("verbs")),
            short_names=_strings(r.get("shortNames")),
            categories=_strings(r.get("categories")),
            subresources=tuple(sorted(subs, key=lambda s: s.name) if len(subs) > 1 else subs),
            preferred=preferred))
    return out


def legacy_group_versions(api_doc: Mapping[str, Any], apis_doc: Mapping[str, Any]) -> list[str]:
    """The group-versions a legacy discovery must fetch (``v1``, ``apps/v1``...), in order."""
    out: list[str] = []
    if document_kind(api_doc) == "APIVersions":
        out += [str(v) for v in api_doc.get("versions") or ()]
    if document_kind(apis_doc) == "APIGroupList":
        for g in _items(apis_doc.get("groups")):
            for v in _items(g.get("versions")):
                if v.get("groupVersion"):
                    out.append(str(v["groupVersion"]))
    return out


def _legacy_groups(api_doc: Mapping[str, Any], apis_doc: Mapping[str, Any],
                   resource_lists: Mapping[str, Mapping[str, Any]],
                   failed: dict[str, str]) -> tuple[list[DiscoveredGroup], list[DiscoveredGroup]]:
    core = DiscoveredGroup("", _legacy_resources)
    if document_kind(api_doc) == "APIVersions":
        for v in api_doc.get("versions") or ():
            _legacy_version(core, str(v), resource_lists, failed)
        core.preferred = core.versions[0] if core.versions else None
    rest: list[DiscoveredGroup] = []
    if document_kind(apis_doc) == "APIGroupList":
        for g in _items(apis_doc.get("groups")):
            if not g.get("name"):
                continue
            group = DiscoveredGroup(str(g["name"]), _legacy_resources)
            for v in _items(g.get("versions")):
                if v.get("version"):
                    _legacy_version(group, str(v["version"]), resource_lists, failed)
            pref = _mapping(g.get("preferredVersion")).get("version")
            group.preferred = pref if pref in group.versions else (
                group.versions[0] if group.versions else None)
            if group.versions:
                rest.append(group)
    return ([core] if core.versions else []), rest


def _legacy_version(group: DiscoveredGroup, version: str,
                    resource_lists: Mapping[str, Mapping[str, Any]],
                    failed: dict[str, str]) -> None:
    gv = f"{group.name}/{version}" if group.name else version
    doc = resource_lists.get(gv)
    if doc is None:
        failed.setdefault(gv, "not fetched")
        return
    group.add_version(version, [r for r in _items(doc.get("resources")) if r.get("name")])


def _legacy_resources(group: str, version: str, entries: list[Mapping[str, Any]],
                      preferred: bool) -> list[ResourceInfo]:
    subs: dict[str, list[SubresourceInfo]] = {}
    for r in entries:
        parent, slash, sub = str(r["name"]).partition("/")
        if slash:
            subs.setdefault(parent, []).append(SubresourceInfo(
                name=sub, kind=str(r.get("kind") or ""),
                group=str(r.get("group") or "") if r.get("version") else group,
                version=str(r.get("version") or version), verbs=_strings(r.get("verbs"))))
    resources = []
    for r in entries:
        plural = str(r["name"])
        if "/" in plural:
            continue
        kind = str(r.get("kind") or "")
        resources.append(ResourceInfo(
            group=group, version=version, plural=plural,
            singular=str(r.get("singularName") or kind.lower()), kind=kind,
            namespaced=bool(r.get("namespaced")), verbs=_strings(r.get("verbs")),
            short_names=_strings(r.get("shortNames")), categories=_strings(r.get("categories")),
            subresources=tuple(sorted(subs.get(plural, ()), key=lambda s: s.name)),
            preferred=preferred))
    return resources


def read_groups(api_doc: Mapping[str, Any], apis_doc: Mapping[str, Any],
                resource_lists: Mapping[str, Mapping[str, Any]] | None = None,
                failed: Mapping[str, str] | None = None
                ) -> tuple[list[DiscoveredGroup], dict[str, str]]:
    """The groups ``/api`` and ``/apis`` list, in the server's order, in whichever form each
    came (aggregated, or legacy plus ``resource_lists`` keyed by group-version), and the
    group-versions that could not be read (``failed`` adds the caller's). Resources are read
    when a group is first asked for them. A root document of another kind is a
    DiscoveryError.
    """
    for doc, path, legacy in ((api_doc, "/api", "APIVersions"),
                              (apis_doc, "/apis", "APIGroupList")):
        if document_kind(doc) not in (AGGREGATED_KIND, legacy):
            raise DiscoveryError(
                f"{path} answered a {document_kind(doc) or 'document without kind'}, not "
                "discovery; is the server URL a Kubernetes API server?")
    problems: dict[str, str] = dict(failed or {})
    lists = resource_lists or {}
    core_legacy, rest_legacy = _legacy_groups(api_doc, apis_doc, lists, problems)
    core = (_aggregated_groups(api_doc, problems) if document_kind(api_doc) == AGGREGATED_KIND
            else core_legacy)
    rest = (_aggregated_groups(apis_doc, problems)
            if document_kind(apis_doc) == AGGREGATED_KIND else rest_legacy)
    return [*core, *rest], problems


def parse_documents(api_doc: Mapping[str, Any], apis_doc: Mapping[str, Any],
                    resource_lists: Mapping[str, Mapping[str, Any]] | None = None,
                    failed: Mapping[str, str] | None = None) -> ParsedDiscovery:
    """Every resource :func:`read_groups` finds, read at once: preferred versions marked,
    the server's group order, and the group-versions that could not be read."""
    groups, problems = read_groups(api_doc, apis_doc, resource_lists, failed)
    return ParsedDiscovery(tuple(r for g in groups for r in g.resources()),
                           tuple(g.name for g in groups), problems)
