"""Deployments, ReplicaSets, DaemonSets and StatefulSets (``pkg/apis/apps/validation``).

A workload's selector must be valid, non-empty and select its own pod template, whose pods
must restart ``Always``; it may not change once set. Strategy fields count as their defaults
(``RollingUpdate`` with 25%/25%, or 1/0 for DaemonSets) when absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import names
from .fields import (
    Cause,
    as_int,
    child,
    forbidden,
    invalid,
    nonnegative,
    not_supported,
    required,
    sorted_map,
)
from .godump import go_json
from .metadata import mapping
from .podspec import pod_template, restart_policy
from .selectors import converts, is_empty, matches, render, validate_selector
from .storage import pvc_spec

__all__ = ["deployment", "replica_set", "daemon_set", "stateful_set", "template_matches",
           "int_or_percent", "at_most_100_percent"]

_MISMATCH = "`selector` does not match template `labels`"


def template_labels(template: Any) -> Any:
    labels = mapping(mapping(template).get("metadata")).get("labels")
    return sorted_map(labels) if isinstance(labels, Mapping) else None


def template_matches(selector: Any, template: Any, path: str) -> list[Cause]:
    """The template's labels must be selected by a non-empty selector (none selects nothing)."""
    if is_empty(selector) or matches(selector, template_labels(template) or {}):
        return []
    return [invalid(child(path, "metadata", "labels"), template_labels(template), _MISMATCH)]


def _always_template(template: Any, path: str, kind: str) -> list[Cause]:
    spec = mapping(mapping(template).get("spec"))
    out: list[Cause] = []
    if restart_policy(spec) != "Always":
        out.append(not_supported(child(path, "spec", "restartPolicy"), restart_policy(spec),
                                 ("Always",)))
    if spec.get("activeDeadlineSeconds") is not None:
        out.append(forbidden(child(path, "spec", "activeDeadlineSeconds"),
                             f"activeDeadlineSeconds in {kind} is not Supported"))
    return out


def _percent_value(value: Any) -> int | None:
    if isinstance(value, str) and not names.percent(value):
        return int(value[:-1])
    return None


def int_or_percent(value: Any, path: str) -> list[Cause]:
    """``ValidatePositiveIntOrPercent``: a count of at least 0 or a percentage."""
    if isinstance(value, str):
        return [invalid(path, value, m) for m in names.percent(value)]
    return nonnegative(path, value)


def at_most_100_percent(value: Any, path: str) -> list[Cause]:
    pct = _percent_value(value)
    if pct is not None and pct > 100:
        return [invalid(path, value, "must not be greater than 100%")]
    return []


def _amount(value: Any) -> int:
    pct = _percent_value(value)
    if pct is not None:
        return pct
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value))
    except ValueError:
        return 0


def _selector_rules(spec: Mapping[str, Any], path: str, kind: str) -> list[Cause]:
    selector = spec.get("selector")
    if selector is None:
        return [required(child(path, "selector"))]
    out = validate_selector(selector, child(path, "selector"))
    if is_empty(selector):
        out.append(invalid(child(path, "selector"), render(selector),
                           f"empty selector is invalid for {kind}"))
    return out


def _replica_template(spec: Mapping[str, Any], path: str, kind: str) -> list[Cause]:
    selector = spec.get("selector")
    if not converts(selector):
        return [invalid(child(path, "selector"), render(selector), "invalid label selector")]
    tpath = child(path, "template")
    out = template_matches(selector, spec.get("template"), tpath)
    out += pod_template(spec.get("template"), tpath)
    return out + _always_template(spec.get("template"), tpath, kind)


def _deployment_strategy(strategy: Mapping[str, Any], path: str) -> list[Cause]:
    kind = strategy.get("type") or "RollingUpdate"
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [forbidden(child(path, "rollingUpdate"),
                              "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if kind != "RollingUpdate":
        shown = None if rolling is None else {
            "MaxUnavailable": mapping(rolling).get("maxUnavailable"),
            "MaxSurge": mapping(rolling).get("maxSurge")}
        return [not_supported(path, {"Type": kind, "RollingUpdate": shown},
                              ("Recreate", "RollingUpdate"))]
    ru = mapping(rolling)
    rpath = child(path, "rollingUpdate")
    unavailable, surge = ru.get("maxUnavailable", "25%"), ru.get("maxSurge", "25%")
    out = int_or_percent(unavailable, child(rpath, "maxUnavailable"))
    out += int_or_percent(surge, child(rpath, "maxSurge"))
    if _amount(unavailable) == 0 and _amount(surge) == 0:
        out.append(invalid(child(rpath, "maxUnavailable"), unavailable,
                           "may not be 0 when `maxSurge` is 0"))
    return out + at_most_100_percent(unavailable, child(rpath, "maxUnavailable"))


def _immutable_selector(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    if old is None:
        return []
    selector = mapping(new.get("spec")).get("selector")
    if render(selector) != render(mapping(old.get("spec")).get("selector")):
        return [invalid("spec.selector", render(selector), "field is immutable")]
    return []


def deployment(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    out = nonnegative("spec.replicas", spec.get("replicas"))
    out += _selector_rules(spec, "spec", "deployment")
    out += _replica_template(spec, "spec", "Deployment")
    out += _deployment_strategy(mapping(spec.get("strategy")), "spec.strategy")
    out += nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    out += nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    deadline = as_int(spec.get("progressDeadlineSeconds"))
    if deadline is not None:
        out += nonnegative("spec.progressDeadlineSeconds", deadline)
        if deadline <= (as_int(spec.get("minReadySeconds")) or 0):
            out.append(invalid("spec.progressDeadlineSeconds", deadline,
                               "must be greater than minReadySeconds"))
    return out + _immutable_selector(obj, old)


def replica_set(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    out = nonnegative("spec.replicas", spec.get("replicas"))
    out += nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    out += _selector_rules(spec, "spec", "deployment")
    out += _replica_template(spec, "spec", "ReplicaSet")
    return out + _immutable_selector(obj, old)


def _daemon_strategy(strategy: Mapping[str, Any], path: str) -> list[Cause]:
    kind = strategy.get("type") or "RollingUpdate"
    if kind == "OnDelete":
        return []
    rolling = strategy.get("rollingUpdate")
    if kind != "RollingUpdate":
        shown = None if rolling is None else {
            "MaxUnavailable": mapping(rolling).get("maxUnavailable"),
            "MaxSurge": mapping(rolling).get("maxSurge")}
        return [not_supported(path, {"Type": kind, "RollingUpdate": shown},
                              ("RollingUpdate", "OnDelete"))]
    ru = mapping(rolling)
    rpath = child(path, "rollingUpdate")
    unavailable, surge = ru.get("maxUnavailable", 1), ru.get("maxSurge", 0)
    out: list[Cause] = []
    for name, value in (("maxUnavailable", unavailable), ("maxSurge", surge)):
        out += int_or_percent(value, child(rpath, name))
    for name, value in (("maxUnavailable", unavailable), ("maxSurge", surge)):
        out += at_most_100_percent(value, child(rpath, name))
    has_unavailable, has_surge = _amount(unavailable) != 0, _amount(surge) != 0
    if has_unavailable and has_surge:
        out.append(invalid(child(rpath, "maxSurge"), surge,
                           "may not be set when maxUnavailable is non-zero"))
    elif not has_unavailable and not has_surge:
        out.append(required(child(rpath, "maxUnavailable"), "cannot be 0 when maxSurge is 0"))
    return out


def daemon_set(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    out = _immutable_selector(obj, old)
    selector = spec.get("selector")
    out += validate_selector(selector, "spec.selector")
    if converts(selector) and not matches(selector, template_labels(spec.get("template")) or {}):
        out.append(invalid("spec.template.metadata.labels", template_labels(spec.get("template")),
                           _MISMATCH))
    if isinstance(selector, Mapping) and is_empty(selector):
        out.append(invalid("spec.selector", render(selector),
                           "empty selector is invalid for daemonset"))
    out += pod_template(spec.get("template"), "spec.template")
    out += _always_template(spec.get("template"), "spec.template", "DaemonSet")
    out += nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    out += _daemon_strategy(mapping(spec.get("updateStrategy")), "spec.updateStrategy")
    return out + nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))


_STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def stateful_set(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    out: list[Cause] = []
    policy = spec.get("podManagementPolicy") or "OrderedReady"
    if policy not in ("OrderedReady", "Parallel"):
        out.append(invalid("spec.podManagementPolicy", policy,
                           "must be 'OrderedReady' or 'Parallel'"))
    strategy = mapping(spec.get("updateStrategy"))
    kind = strategy.get("type") or "RollingUpdate"
    if kind not in ("RollingUpdate", "OnDelete"):
        shown = go_json("StatefulSetUpdateStrategy", dict(strategy, type=kind))
        out.append(invalid("spec.updateStrategy", shown, "must be 'RollingUpdate' or 'OnDelete'"))
    elif kind == "OnDelete" and strategy.get("rollingUpdate") is not None:
        out.append(invalid("spec.updateStrategy.rollingUpdate",
                           go_json("RollingUpdateStatefulSetStrategy",
                                   mapping(strategy.get("rollingUpdate"))),
                           "only allowed for updateStrategy 'RollingUpdate'"))
    out += nonnegative("spec.replicas", spec.get("replicas"))
    out += nonnegative("spec.minReadySeconds", spec.get("minReadySeconds"))
    out += _selector_rules(spec, "spec", "statefulset")
    selector = spec.get("selector")
    if not converts(selector):
        out.append(invalid("spec.selector", render(selector), ""))
    else:
        out += template_matches(selector, spec.get("template"), "spec.template")
        out += pod_template(spec.get("template"), "spec.template")
    out += _always_template(spec.get("template"), "spec.template", "StatefulSet")
    claims = spec.get("volumeClaimTemplates")
    for i, claim in enumerate(claims if isinstance(claims, list) else []):
        out += pvc_spec(mapping(claim).get("spec"), f"spec.volumeClaimTemplates[{i}].spec")
    if old is not None:
        frozen = [k for k in set(spec) | set(mapping(old.get("spec"))) if k not in _STS_MUTABLE]
        if any(spec.get(k) != mapping(old.get("spec")).get(k) for k in frozen):
            out.append(forbidden("spec", "updates to statefulset spec for fields other than "
                                 + ", ".join(f"'{k}'" for k in _STS_MUTABLE[:-1])
                                 + f" and '{_STS_MUTABLE[-1]}' are forbidden"))
    return out
