"""What the server serves, and which resource a name means: pure data and lookups, no I/O.

Discovery fetches documents; this module turns them into :class:`ResourceInfo` values and
answers "what does ``deploy`` / ``Widget.example.dynakube.io`` / ``hpa`` mean here?" the way
kubectl does: case-insensitive kind, plural, singular or short name, optionally qualified
with a group (or a prefix of one, ``storageclasses.storage``) or ``plural.version.group``.

Choosing among matches:

* one group-resource served in several versions: the group's preferred version, except that
  a version known to be deprecated is never chosen while a non-deprecated one serves it;
* several groups: the core group wins (kubectl's RESTMapper puts ``v1`` first, so ``events``
  is core ``v1`` events, not ``events.k8s.io``; ``pods`` is not metrics-server's ``pods``),
  then the groups built into kube-apiserver, in the server's order; two other groups
  claiming the same name is an :class:`~dynakube.errors.AmbiguousResourceError` (kubectl
  would silently take whichever the server lists first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import AmbiguousResourceError, DiscoveryError, UnknownResourceError

__all__ = [
    "BUILTIN_GROUPS",
    "Registry",
    "ResourceInfo",
    "SubresourceInfo",
    "legacy_group_versions",
    "parse_api_version",
    "registry_from_aggregated",
    "registry_from_documents",
    "registry_from_legacy",
]

#: Groups compiled into kube-apiserver (plus the legacy ``extensions``): they take
#: precedence over custom resources that reuse one of their names.
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "extensions",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
    "authentication.k8s.io", "authorization.k8s.io", "certificates.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io",
    "flowcontrol.apiserver.k8s.io", "internal.apiserver.k8s.io", "networking.k8s.io",
    "node.k8s.io", "rbac.authorization.k8s.io", "resource.k8s.io", "scheduling.k8s.io",
    "storage.k8s.io", "storagemigration.k8s.io",
})

_VERSION = re.compile(r"^v\d+(?:(?:alpha|beta)\d+)?$")
_AGGREGATED_KIND = "APIGroupDiscoveryList"


@dataclass(frozen=True)
class SubresourceInfo:
    """A subresource (``status``, ``scale``, ``log``...) of a resource, with what it returns."""

    name: str
    kind: str
    group: str
    version: str
    verbs: tuple[str, ...]


@dataclass(frozen=True)
class ResourceInfo:
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


def parse_api_version(api_version: str) -> tuple[str, str]:
    """``"apps/v1"`` -> ``("apps", "v1")``; ``"v1"`` -> ``("", "v1")``."""
    group, _, version = api_version.strip().rpartition("/")
    if not version or "/" in group:
        raise UnknownResourceError(f"apiVersion {api_version!r}", ())
    return group, version


@dataclass
class _Group:
    name: str
    versions: list[str]
    preferred: str | None
    resources: dict[str, list[ResourceInfo]]


class Registry:
    """Every resource the server serves (all versions) and the lookups over them."""

    def __init__(self, resources: Iterable[ResourceInfo], *,
                 group_order: Sequence[str] = (), failed: Mapping[str, str] | None = None):
        items = list(resources)
        order = list(dict.fromkeys([*group_order, *(r.group for r in items)]))
        self._group_rank = {g: i for i, g in enumerate(order)}
        self.failed: dict[str, str] = dict(failed or {})
        self._version_rank: dict[tuple[str, str], int] = {}
        for r in items:
            self._version_rank.setdefault((r.group, r.version), len(self._version_rank))
        self._resources: tuple[ResourceInfo, ...] = tuple(sorted(items, key=self._order))
        self._by_name: dict[str, list[ResourceInfo]] = {}
        self._by_short: dict[str, list[ResourceInfo]] = {}
        self._by_kind: dict[str, list[ResourceInfo]] = {}
        for r in self._resources:
            for key in {r.plural, r.singular}:
                self._by_name.setdefault(key.lower(), []).append(r)
            self._by_kind.setdefault(r.kind.lower(), []).append(r)
            for short in r.short_names:
                self._by_short.setdefault(short.lower(), []).append(r)

    def _order(self, r: ResourceInfo) -> tuple[int, int, str]:
        return (self._group_rank.get(r.group, 1 << 30),
                self._version_rank.get((r.group, r.version), 0), r.plural)

    # -- plain views ------------------------------------------------------------------------

    @property
    def resources(self) -> tuple[ResourceInfo, ...]:
        """All resources in all served versions, in discovery order."""
        return self._resources

    def __len__(self) -> int:
        return len(self._resources)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Registry):
            return NotImplemented
        return (self._resources, self.failed) == (other._resources, other.failed)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        groups = len({r.group for r in self._resources})
        return f"<Registry {len(self._resources)} resources in {groups} groups>"

    def groups(self) -> list[str]:
        """Served group names in the server's order (``""`` is the core group)."""
        return list(dict.fromkeys(r.group for r in self._resources))

    def api_versions(self) -> list[str]:
        """What ``kubectl api-versions`` prints: every served group-version, sorted."""
        return sorted({r.api_version for r in self._resources})

    def preferred_version(self, group: str) -> str | None:
        """The version the server prefers for ``group``; ``None`` when it serves none."""
        for r in self._resources:
            if r.group == group and r.preferred:
                return r.version
        return None

    def api_resources(self, *, sort_by: str = "group") -> list[ResourceInfo]:
        """What ``kubectl api-resources`` lists: each group-resource once, in its preferred
        version, no subresources; sorted like kubectl, by group (or ``name``/``kind``), then name.
        """
        chosen = self._one_per_group_resource()
        if sort_by not in ("group", "name", "kind"):
            raise ValueError(f"sort_by must be 'group', 'name' or 'kind', not {sort_by!r}")

        def key(r: ResourceInfo) -> tuple[str, str]:
            first = {"group": r.group, "name": r.plural, "kind": r.kind}[sort_by]
            return (first, r.plural)

        return sorted(chosen, key=key)

    def in_category(self, name: str) -> list[ResourceInfo]:
        """Resources in a category (``all``, ``gadgets``...), preferred versions, server order."""
        lname = name.lower()
        return [r for r in self._one_per_group_resource() if lname in r.categories]

    def names(self) -> list[str]:
        """Every name a lookup accepts without a group: plurals, singulars, short names, kinds,
        plus ``plural.group`` forms (sorted; for completion)."""
        out: set[str] = set()
        for r in self._resources:
            out.update((r.plural, r.singular, r.kind, r.qualified, *r.short_names))
        out.discard("")
        return sorted(out)

    def _one_per_group_resource(self) -> list[ResourceInfo]:
        seen: dict[tuple[str, str], list[ResourceInfo]] = {}
        for r in self._resources:
            seen.setdefault((r.group, r.plural), []).append(r)
        return [self._best_version(versions) for versions in seen.values()]

    def _best_version(self, versions: Sequence[ResourceInfo]) -> ResourceInfo:
        """Preferred version first, but never a deprecated one while another is served."""
        return min(versions, key=lambda r: (r.deprecated, not r.preferred,
                                            self._version_rank.get((r.group, r.version), 0)))

    # -- lookups ------------------------------------------------------------------------

    def resolve(self, name: str, api_version: str | None = None) -> ResourceInfo:
        """The resource ``name`` means (kind, plural, singular or short name, optionally
        ``.group``, ``.version.group``), in ``api_version`` when given.

        Raises ``UnknownResourceError`` (with suggestions) or ``AmbiguousResourceError``.
        """
        text = name.strip()
        if not text:
            raise UnknownResourceError(name, ())
        want_group: str | None = None
        want_version: str | None = None
        if api_version:
            want_group, want_version = parse_api_version(api_version)
        for term, group, version, prefix in _interpretations(text):
            if want_group is None:
                found = self._match(term, group, version, prefix)
            else:
                if group is not None and not (
                        group == want_group or (prefix and want_group.startswith(group + "."))):
                    continue
                if version is not None and version != want_version:
                    continue
                found = self._match(term, want_group, want_version, False)
            if found:
                return self._choose(text, found)
        raise self._unknown(text, api_version)

    def for_kind(self, api_version: str, kind: str) -> ResourceInfo:
        """The resource for an object's ``apiVersion`` and ``kind`` (exact group-version)."""
        group, version = parse_api_version(api_version)
        found = [r for r in self._resources
                 if r.group == group and r.version == version and r.kind == kind]
        if not found:
            found = [r for r in self._resources if r.group == group and r.version == version
                     and r.kind.lower() == kind.lower()]
        if found:
            return max(found, key=lambda r: (r.plural == r.kind.lower() + "s", len(r.verbs)))
        served = [r for r in self._resources if r.kind.lower() == kind.lower()]
        suggestions = [f"{r.api_version} {r.kind}" for r in self._prefer_first(served)][:5]
        err = UnknownResourceError(f"{api_version} {kind}", suggestions)
        self._note_failures(err, group, version)
        raise err

    def _match(self, term: str, group: str | None, version: str | None,
               prefix: bool) -> list[ResourceInfo]:
        lterm = term.lower()
        for table in (self._by_name, self._by_kind, self._by_short):
            found = [r for r in table.get(lterm, ())
                     if (version is None or r.version == version)]
            if group is not None:
                exact = [r for r in found if r.group == group]
                if not exact and prefix:
                    exact = [r for r in found if r.group.startswith(group + ".")]
                found = exact
            if found:
                return found
        return []

    def _choose(self, text: str, found: Sequence[ResourceInfo]) -> ResourceInfo:
        groups = list(dict.fromkeys(r.group for r in self._prefer_first(found)))
        if len(groups) > 1:
            if "" in groups:
                groups = [""]
            else:
                builtin = [g for g in groups if g in BUILTIN_GROUPS]
                if builtin:
                    groups = builtin[:1]
        if len(groups) > 1:
            by_group = [self._best_version([r for r in found if r.group == g]) for g in groups]
            raise AmbiguousResourceError(text, [r.qualified for r in by_group])
        in_group = [r for r in found if r.group == groups[0]]
        plurals = list(dict.fromkeys(r.plural for r in in_group))
        if len(plurals) > 1:
            raise AmbiguousResourceError(
                text, [f"{p}.{groups[0]}" if groups[0] else p for p in plurals])
        return self._best_version(in_group)

    def _prefer_first(self, items: Iterable[ResourceInfo]) -> list[ResourceInfo]:
        return sorted(items, key=self._order)

    def _unknown(self, text: str, api_version: str | None) -> UnknownResourceError:
        suggestions: list[str] = []
        term, group, version, _ = next(iter(_interpretations(text)))
        if api_version:
            want_group, want_version = parse_api_version(api_version)
            served = self._match(term, want_group, None, False)
            suggestions = [f"{r.plural} in {r.api_version}" for r in served]
            group, version = want_group, want_version
        if not suggestions:
            suggestions = self._close_names(text)
        label = f"{text} in {api_version}" if api_version else text
        err = UnknownResourceError(label, suggestions)
        self._note_failures(err, group, version)
        return err

    def _close_names(self, text: str) -> list[str]:
        lname = text.lower()
        choices: dict[str, list[str]] = {}
        for r in self._one_per_group_resource():
            plural_owners = self._by_name.get(r.plural, [])
            shown = r.plural if len({o.group for o in plural_owners}) == 1 else r.qualified
            keys = [r.plural, r.singular, r.kind.lower(), *r.short_names]
            if "." in lname:
                shown = r.qualified
                keys += [r.qualified, f"{r.kind.lower()}.{r.group}"]
            for key in keys:
                choices.setdefault(key.lower(), []).append(shown)
        import difflib  # only when a name is not found

        close = difflib.get_close_matches(lname, list(choices), n=6, cutoff=0.6)
        return list(dict.fromkeys(s for c in close for s in choices[c]))[:3]

    def _note_failures(self, err: Exception, group: str | None, version: str | None) -> None:
        failed = [gv for gv in self.failed
                  if group is None or gv.rpartition("/")[0] == group
                  and (version is None or gv.rpartition("/")[2] == version)]
        if failed:
            err.add_note("discovery could not list " + ", ".join(
                f"{gv} ({self.failed[gv]})" for gv in sorted(failed))
                + "; the resource may be served there once it answers again")

    # -- derived registries ------------------------------------------------------------------

    def with_deprecations(self, deprecations: Mapping[tuple[str, str, str], str | None]
                          ) -> Registry:
        """A copy marking ``(group, version, plural)`` deprecated (with the server's warning
        text, or ``None``); ``plural`` ``"*"`` marks a whole group-version.
        """
        def mark(r: ResourceInfo) -> ResourceInfo:
            for key in ((r.group, r.version, r.plural), (r.group, r.version, "*")):
                if key in deprecations:
                    return replace(r, deprecated=True,
                                   deprecation_warning=deprecations[key] or r.deprecation_warning)
            return r

        return Registry([mark(r) for r in self._resources], group_order=self.groups(),
                        failed=self.failed)


def _interpretations(text: str) -> Iterable[tuple[str, str | None, str | None, bool]]:
    """(term, group, version, group may be a prefix) readings of what a user typed.

    kubectl's order: ``plural.version.group`` first, then ``plural.group``, then the bare name.
    """
    if "." not in text:
        yield text, None, None, False
        return
    term, rest = text.split(".", 1)
    lrest = rest.lower()
    version, _, group = lrest.partition(".")
    if _VERSION.match(version):
        yield term, group, version, False
    yield term, lrest, None, True


# -- parsing discovery documents -------------------------------------------------------------


def _doc_kind(doc: Any) -> str:
    if isinstance(doc, Mapping):
        return str(doc.get("kind") or "")
    raise DiscoveryError(f"a discovery document is not a JSON object (got {type(doc).__name__})")


def _strings(value: Any) -> tuple[str, ...]:
    """A list of names (verbs, short names, categories); anything else reads as none."""
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _aggregated_groups(doc: Mapping[str, Any], failed: dict[str, str]) -> list[_Group]:
    groups: list[_Group] = []
    for item in doc.get("items") or ():
        if not isinstance(item, Mapping):
            continue
        name = str((item.get("metadata") or {}).get("name") or "")
        group = _Group(name, [], None, {})
        for ver in item.get("versions") or ():
            if not isinstance(ver, Mapping) or not ver.get("version"):
                continue
            version = str(ver["version"])
            gv = f"{name}/{version}" if name else version
            if ver.get("freshness") == "Stale":
                failed[gv] = "stale: its API server did not answer the last discovery"
                continue
            group.versions.append(version)
            group.resources[version] = [
                _aggregated_resource(name, version, r) for r in ver.get("resources") or ()
                if isinstance(r, Mapping) and r.get("resource")
            ]
        if group.versions:
            group.preferred = group.versions[0]
            groups.append(group)
    return groups


def _aggregated_resource(group: str, version: str, r: Mapping[str, Any]) -> ResourceInfo:
    kind_ref = r.get("responseKind") or {}
    kind = str(kind_ref.get("kind") or "")
    subs = []
    for s in r.get("subresources") or ():
        if not isinstance(s, Mapping) or not s.get("subresource"):
            continue
        ref = s.get("responseKind") or {}
        subs.append(SubresourceInfo(
            name=str(s["subresource"]), kind=str(ref.get("kind") or ""),
            group=str(ref.get("group") or "") if ref.get("version") else group,
            version=str(ref.get("version") or version), verbs=_strings(s.get("verbs"))))
    plural = str(r["resource"])
    return ResourceInfo(
        group=group, version=version, plural=plural,
        singular=str(r.get("singularResource") or kind.lower()), kind=kind,
        namespaced=r.get("scope") == "Namespaced", verbs=_strings(r.get("verbs")),
        short_names=_strings(r.get("shortNames")), categories=_strings(r.get("categories")),
        subresources=tuple(sorted(subs, key=lambda s: s.name)))


def legacy_group_versions(api_doc: Mapping[str, Any], apis_doc: Mapping[str, Any]) -> list[str]:
    """The group-versions a legacy discovery must fetch (``v1``, ``apps/v1``...), in order."""
    out: list[str] = []
    if _doc_kind(api_doc) == "APIVersions":
        out += [str(v) for v in api_doc.get("versions") or ()]
    if _doc_kind(apis_doc) == "APIGroupList":
        for g in apis_doc.get("groups") or ():
            for v in (g.get("versions") or ()) if isinstance(g, Mapping) else ():
                if isinstance(v, Mapping) and v.get("groupVersion"):
                    out.append(str(v["groupVersion"]))
    return out


def _legacy_groups(api_doc: Mapping[str, Any], apis_doc: Mapping[str, Any],
                   resource_lists: Mapping[str, Mapping[str, Any]],
                   failed: dict[str, str]) -> tuple[list[_Group], list[_Group]]:
    core = _Group("", [], None, {})
    if _doc_kind(api_doc) == "APIVersions":
        for v in api_doc.get("versions") or ():
            _legacy_version(core, str(v), resource_lists, failed)
        core.preferred = core.versions[0] if core.versions else None
    rest: list[_Group] = []
    if _doc_kind(apis_doc) == "APIGroupList":
        for g in apis_doc.get("groups") or ():
            if not isinstance(g, Mapping) or not g.get("name"):
                continue
            group = _Group(str(g["name"]), [], None, {})
            for v in g.get("versions") or ():
                if isinstance(v, Mapping) and v.get("version"):
                    _legacy_version(group, str(v["version"]), resource_lists, failed)
            pref = (g.get("preferredVersion") or {}).get("version")
            group.preferred = pref if pref in group.versions else (
                group.versions[0] if group.versions else None)
            if group.versions:
                rest.append(group)
    return ([core] if core.versions else []), rest


def _legacy_version(group: _Group, version: str,
                    resource_lists: Mapping[str, Mapping[str, Any]],
                    failed: dict[str, str]) -> None:
    gv = f"{group.name}/{version}" if group.name else version
    doc = resource_lists.get(gv)
    if doc is None:
        failed.setdefault(gv, "not fetched")
        return
    entries = [r for r in doc.get("resources") or () if isinstance(r, Mapping) and r.get("name")]
    subs: dict[str, list[SubresourceInfo]] = {}
    for r in entries:
        parent, slash, sub = str(r["name"]).partition("/")
        if slash:
            subs.setdefault(parent, []).append(SubresourceInfo(
                name=sub, kind=str(r.get("kind") or ""),
                group=str(r.get("group") or "") if r.get("version") else group.name,
                version=str(r.get("version") or version), verbs=_strings(r.get("verbs"))))
    resources = []
    for r in entries:
        plural = str(r["name"])
        if "/" in plural:
            continue
        kind = str(r.get("kind") or "")
        resources.append(ResourceInfo(
            group=group.name, version=version, plural=plural,
            singular=str(r.get("singularName") or kind.lower()), kind=kind,
            namespaced=bool(r.get("namespaced")), verbs=_strings(r.get("verbs")),
            short_names=_strings(r.get("shortNames")), categories=_strings(r.get("categories")),
            subresources=tuple(sorted(subs.get(plural, ()), key=lambda s: s.name))))
    group.versions.append(version)
    group.resources[version] = resources


def _build(groups: Sequence[_Group], failed: Mapping[str, str]) -> Registry:
    items: list[ResourceInfo] = []
    for g in groups:
        for version in g.versions:
            preferred = version == g.preferred
            items += [replace(r, preferred=preferred) for r in g.resources[version]]
    return Registry(items, group_order=[g.name for g in groups], failed=failed)


def registry_from_documents(api_doc: Mapping[str, Any], apis_doc: Mapping[str, Any],
                            resource_lists: Mapping[str, Mapping[str, Any]] | None = None,
                            failed: Mapping[str, str] | None = None) -> Registry:
    """A registry from ``/api`` and ``/apis`` in whichever form each came (aggregated v2 or
    v2beta1, or legacy plus ``resource_lists`` keyed by group-version); ``failed`` adds
    group-versions the caller could not fetch.
    """
    problems: dict[str, str] = dict(failed or {})
    lists = resource_lists or {}
    core_legacy, rest_legacy = _legacy_groups(api_doc, apis_doc, lists, problems)
    core = (_aggregated_groups(api_doc, problems) if _doc_kind(api_doc) == _AGGREGATED_KIND
            else core_legacy)
    rest = (_aggregated_groups(apis_doc, problems) if _doc_kind(apis_doc) == _AGGREGATED_KIND
            else rest_legacy)
    for doc, path in ((api_doc, "/api"), (apis_doc, "/apis")):
        if _doc_kind(doc) not in (_AGGREGATED_KIND, "APIVersions", "APIGroupList"):
            raise DiscoveryError(
                f"{path} answered a {_doc_kind(doc) or 'document without kind'}, not discovery;"
                " is the server URL a Kubernetes API server?")
    return _build([*core, *rest], problems)


def registry_from_aggregated(api_doc: Mapping[str, Any], apis_doc: Mapping[str, Any]) -> Registry:
    """A registry from aggregated discovery (``apidiscovery.k8s.io`` v2 or v2beta1)."""
    for doc in (api_doc, apis_doc):
        if _doc_kind(doc) != _AGGREGATED_KIND:
            raise DiscoveryError(f"expected an {_AGGREGATED_KIND}, got {_doc_kind(doc)!r}")
    return registry_from_documents(api_doc, apis_doc)


def registry_from_legacy(api_versions_doc: Mapping[str, Any],
                         api_group_list_doc: Mapping[str, Any],
                         resource_lists: Mapping[str, Mapping[str, Any]],
                         failed: Mapping[str, str] | None = None) -> Registry:
    """A registry from legacy discovery: ``/api`` (APIVersions), ``/apis`` (APIGroupList) and
    one APIResourceList per group-version (missing ones are reported in ``failed``)."""
    if _doc_kind(api_versions_doc) != "APIVersions":
        raise DiscoveryError(f"expected APIVersions, got {_doc_kind(api_versions_doc)!r}")
    if _doc_kind(api_group_list_doc) != "APIGroupList":
        raise DiscoveryError(f"expected APIGroupList, got {_doc_kind(api_group_list_doc)!r}")
    return registry_from_documents(api_versions_doc, api_group_list_doc, resource_lists, failed)
