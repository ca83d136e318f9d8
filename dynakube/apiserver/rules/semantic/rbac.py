"""RBAC roles and bindings (``pkg/apis/rbac/validation``): every rule needs verbs and either
resources with API groups or, cluster-wide only, non-resource URLs; a binding's ``roleRef``
names a Role or ClusterRole of ``rbac.authorization.k8s.io`` and never changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import names
from .fields import Cause, child, index, invalid, not_supported, required
from .metadata import mapping

__all__ = ["role", "binding", "GROUP"]

GROUP = "rbac.authorization.k8s.io"


def _rule(rule: Mapping[str, Any], namespaced: bool, path: str) -> list[Cause]:
    out: list[Cause] = []
    if not rule.get("verbs"):
        out.append(required(child(path, "verbs"), "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs")
    if urls:
        if namespaced:
            out.append(invalid(child(path, "nonResourceURLs"), urls,
                               "namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            out.append(invalid(child(path, "nonResourceURLs"), urls, "rules cannot apply to both "
                               "regular resources and non-resource URLs"))
        return out
    if not rule.get("apiGroups"):
        out.append(required(child(path, "apiGroups"),
                            "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        out.append(required(child(path, "resources"),
                            "resource rules must supply at least one resource"))
    return out


def role(obj: Mapping[str, Any], namespaced: bool) -> list[Cause]:
    rules = obj.get("rules")
    out: list[Cause] = []
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        out += _rule(mapping(rule), namespaced, index("rules", i))
    return out


def _subject(subject: Mapping[str, Any], namespaced: bool, path: str) -> list[Cause]:
    out: list[Cause] = []
    name, kind, group = subject.get("name") or "", subject.get("kind"), subject.get("apiGroup")
    if not name:
        out.append(required(child(path, "name")))
    if kind == "ServiceAccount":
        if name:
            out += [invalid(child(path, "name"), name, m) for m in names.dns1123_subdomain(name)]
        if group:
            out.append(not_supported(child(path, "apiGroup"), group, ("",)))
        if not namespaced and not subject.get("namespace"):
            out.append(required(child(path, "namespace")))
    elif kind in ("User", "Group"):
        if group not in (None, "", GROUP):
            out.append(not_supported(child(path, "apiGroup"), group, (GROUP,)))
    else:
        out.append(not_supported(child(path, "kind"), kind,
                                 ("ServiceAccount", "User", "Group")))
    return out


def _go_role_ref(ref: Mapping[str, Any]) -> dict[str, Any]:
    return {"APIGroup": ref.get("apiGroup", ""), "Kind": ref.get("kind", ""),
            "Name": ref.get("name", "")}


def binding(obj: Mapping[str, Any], old: Mapping[str, Any] | None,
            namespaced: bool) -> list[Cause]:
    ref = mapping(obj.get("roleRef"))
    out: list[Cause] = []
    if ref.get("apiGroup") != GROUP:
        out.append(not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), (GROUP,)))
    kinds = ("Role", "ClusterRole") if namespaced else ("ClusterRole",)
    if ref.get("kind") not in kinds:
        out.append(not_supported("roleRef.kind", ref.get("kind", ""), kinds))
    name = ref.get("name") or ""
    if not name:
        out.append(required("roleRef.name"))
    else:
        out += [invalid("roleRef.name", name, m) for m in names.path_segment_name(name)]
    subjects = obj.get("subjects")
    for i, subject in enumerate(subjects if isinstance(subjects, list) else []):
        out += _subject(mapping(subject), namespaced, index("subjects", i))
    if old is not None and _go_role_ref(ref) != _go_role_ref(mapping(old.get("roleRef"))):
        out.append(invalid("roleRef", _go_role_ref(ref), "cannot change roleRef"))
    return out
