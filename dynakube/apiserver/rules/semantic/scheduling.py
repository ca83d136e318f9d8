"""PriorityClasses, PodDisruptionBudgets and Leases: the objects that steer scheduling,
eviction and leader election."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .fields import Cause, as_int, forbidden, invalid, nonnegative, not_supported
from .metadata import mapping
from .selectors import render, validate_selector
from .workloads import at_most_100_percent, int_or_percent

__all__ = ["priority_class", "disruption_budget", "lease"]

_MAX_USER_PRIORITY = 1000000000
_SYSTEM_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}


def priority_class(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    out: list[Cause] = []
    name = str(mapping(obj.get("metadata")).get("name") or "")
    value = as_int(obj.get("value"))
    if old is None and name.startswith("system-"):
        known = _SYSTEM_CLASSES.get(name)
        problem = f"{name} is not a known system priority class" if known is None else (
            None if known == value else f"value of {name} PriorityClass must be {known}")
        if problem:
            out.append(forbidden("metadata.name", "priority class names with 'system-' prefix "
                                 f"are reserved for system use only. error: {problem}"))
    elif old is None and value is not None and value > _MAX_USER_PRIORITY:
        out.append(forbidden("value", "maximum allowed value of a user defined priority is "
                             f"{_MAX_USER_PRIORITY}"))
    policy = obj.get("preemptionPolicy")
    if policy is not None and policy not in ("PreemptLowerPriority", "Never"):
        out.append(not_supported("preemptionPolicy", policy, ("PreemptLowerPriority", "Never")))
    if old is not None:
        if obj.get("value") != old.get("value"):
            out.append(forbidden("value", "may not be changed in an update."))
        if policy != old.get("preemptionPolicy"):
            out.append(invalid("preemptionPolicy", policy, "field is immutable"))
    return out


def disruption_budget(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    out: list[Cause] = []
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    if low is not None and high is not None:
        policy = spec.get("unhealthyPodEvictionPolicy")
        shown = {"MinAvailable": low, "Selector": render(spec.get("selector")),
                 "MaxUnavailable": high, "UnhealthyPodEvictionPolicy": policy}
        out.append(invalid("spec", shown, "minAvailable and maxUnavailable cannot be both set"))
    for name, value in (("minAvailable", low), ("maxUnavailable", high)):
        if value is not None:
            out += int_or_percent(value, f"spec.{name}")
            out += at_most_100_percent(value, f"spec.{name}")
    out += validate_selector(spec.get("selector"), "spec.selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in ("AlwaysAllow", "IfHealthyBudget"):
        out.append(not_supported("spec.unhealthyPodEvictionPolicy", policy,
                                 ("AlwaysAllow", "IfHealthyBudget")))
    return out


def lease(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    out: list[Cause] = []
    duration = as_int(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        out.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    return out + nonnegative("spec.leaseTransitions", spec.get("leaseTransitions"))
