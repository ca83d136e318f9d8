"""What the server serves, and which resource a name means: pure data and lookups, no I/O.

Discovery fetches documents, :mod:`dynakube.discovery.documents` reads them into
:class:`ResourceInfo` values, and this module indexes those and answers "what does ``deploy``
/ ``Widget.example.dynakube.io`` / ``hpa`` mean here?" the way kubectl does: case-insensitive
kind, plural, singular or short name, optionally qualified with a group (or a prefix of one,
``storageclasses.storage``) or ``plural.version.group``.

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

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._pattern import LazyPattern
from ..errors import (
    AmbiguousResourceError,
    DiscoveryError,
    InvalidArgumentError,
    UnknownResourceError,
)
from .documents import (
    AGGREGATED_KIND,
    DiscoveredGroup,
    ResourceInfo,
    SubresourceInfo,
    document_kind,
    legacy_group_versions,
    read_groups,
)

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

_VERSION = LazyPattern(r"^v\d+(?:(?:alpha|beta)\d+)?$")
_INDEX = frozenset({"_resources", "_version_rank", "_by_name", "_by_short", "_by_kind"})


def parse_api_version(api_version: str) -> tuple[str, str]:
    """``"apps/v1"`` -> ``("apps", "v1")``; ``"v1"`` -> ``("", "v1")``."""
    group, _, version = api_version.strip().rpartition("/")
    if not version or "/" in group:
        raise UnknownResourceError(f"apiVersion {api_version!r}", ())
    return group, version


class Registry:
    """Every resource the server serves (all versions) and the lookups over them.

    A registry made :meth:`from_groups` reads and indexes its resources on first use; until
    then :meth:`for_kind` reads only the group it is asked about.
    """

    # the index: built in __init__, or on first use for a registry made from_groups
    _resources: tuple[ResourceInfo, ...]
    _version_rank: dict[tuple[str, str], int]
    _by_name: dict[str, list[ResourceInfo]]
    _by_short: dict[str, list[ResourceInfo]]
    _by_kind: dict[str, list[ResourceInfo]]

    def __init__(self, resources: Iterable[ResourceInfo], *,
                 group_order: Sequence[str] = (), failed: Mapping[str, str] | None = None):
        items = list(resources)
        self._groups: tuple[DiscoveredGroup, ...] = ()
        self._group_rank = _ranks([*group_order, *(r.group for r in items)])
        self.failed: dict[str, str] = dict(failed or {})
        self._index(items)

    @classmethod
    def from_groups(cls, groups: Iterable[DiscoveredGroup], *,
                    failed: Mapping[str, str] | None = None) -> Registry:
        """A registry of ``groups`` (:func:`~.documents.read_groups`), read when first used."""
        registry = cls.__new__(cls)
        registry._groups = tuple(groups)
        registry._group_rank = _ranks([g.name for g in registry._groups])
        registry.failed = dict(failed or {})
        return registry

    def __getattr__(self, name: str) -> Any:
        # only reached for an attribute not set yet: the index of a from_groups registry
        if name in _INDEX and "_groups" in self.__dict__:
            self._index([r for g in self._groups for r in g.resources()])
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _index(self, items: list[ResourceInfo]) -> None:
        # each table is complete before it is set: another thread may be reading them
        version_rank: dict[tuple[str, str], int] = {}
        for r in items:
            version_rank.setdefault((r.group, r.version), len(version_rank))
        self._version_rank = version_rank
        by_name: dict[str, list[ResourceInfo]] = {}
        by_short: dict[str, list[ResourceInfo]] = {}
        by_kind: dict[str, list[ResourceInfo]] = {}
        resources = tuple(sorted(items, key=self._order))
        for r in resources:
            for key in {r.plural, r.singular}:
                by_name.setdefault(key.lower(), []).append(r)
            by_kind.setdefault(r.kind.lower(), []).append(r)
            for short in r.short_names:
                by_short.setdefault(short.lower(), []).append(r)
        self._by_name, self._by_short, self._by_kind = by_name, by_short, by_kind
        self._resources = resources  # last: its presence says the index is complete

    def _in_group(self, group: str) -> list[ResourceInfo]:
        """``group``'s resources in registry order, reading only that group when the index
        is not built yet."""
        if "_resources" in self.__dict__ or not self._groups:
            return [r for r in self._resources if r.group == group]
        found = [r for g in self._groups if g.name == group for r in g.resources()]
        rank = {v: i for i, v in enumerate(dict.fromkeys(r.version for r in found))}
        return sorted(found, key=lambda r: (rank[r.version], r.plural))

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
            raise InvalidArgumentError(
                f"sort_by must be 'group', 'name' or 'kind', not {sort_by!r}")

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
        in_version = [r for r in self._in_group(group) if r.version == version]
        found = ([r for r in in_version if r.kind == kind]
                 or [r for r in in_version if r.kind.lower() == kind.lower()])
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
                    return r.replace(deprecated=True,
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


def _ranks(groups: Iterable[str]) -> dict[str, int]:
    """Each group's place in the server's order (its first appearance)."""
    return {g: i for i, g in enumerate(dict.fromkeys(groups))}


# -- registries from discovery documents ----------------------------------------------------


def registry_from_documents(api_doc: Mapping[str, Any], apis_doc: Mapping[str, Any],
                            resource_lists: Mapping[str, Mapping[str, Any]] | None = None,
                            failed: Mapping[str, str] | None = None) -> Registry:
    """A registry from ``/api`` and ``/apis`` in whichever form each came (aggregated v2 or
    v2beta1, or legacy plus ``resource_lists`` keyed by group-version); ``failed`` adds
    group-versions the caller could not fetch. Resources are read on first use
    (:func:`~.documents.read_groups`).
    """
    groups, problems = read_groups(api_doc, apis_doc, resource_lists, failed)
    return Registry.from_groups(groups, failed=problems)


def registry_from_aggregated(api_doc: Mapping[str, Any], apis_doc: Mapping[str, Any]) -> Registry:
    """A registry from aggregated discovery (``apidiscovery.k8s.io`` v2 or v2beta1)."""
    for doc in (api_doc, apis_doc):
        if document_kind(doc) != AGGREGATED_KIND:
            raise DiscoveryError(f"expected an {AGGREGATED_KIND}, got {document_kind(doc)!r}")
    return registry_from_documents(api_doc, apis_doc)


def registry_from_legacy(api_versions_doc: Mapping[str, Any],
                         api_group_list_doc: Mapping[str, Any],
                         resource_lists: Mapping[str, Mapping[str, Any]],
                         failed: Mapping[str, str] | None = None) -> Registry:
    """A registry from legacy discovery: ``/api`` (APIVersions), ``/apis`` (APIGroupList) and
    one APIResourceList per group-version (missing ones are reported in ``failed``)."""
    if document_kind(api_versions_doc) != "APIVersions":
        raise DiscoveryError(f"expected APIVersions, got {document_kind(api_versions_doc)!r}")
    if document_kind(api_group_list_doc) != "APIGroupList":
        raise DiscoveryError(
            f"expected APIGroupList, got {document_kind(api_group_list_doc)!r}")
    return registry_from_documents(api_versions_doc, api_group_list_doc, resource_lists, failed)
