"""HorizontalPodAutoscalers, ``autoscaling/v2`` (``ValidateHorizontalPodAutoscaler``).

``minReplicas`` counts as 1 when unset, and scaling rules as having their default policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import names
from .fields import Cause, as_int, child, forbidden, index, invalid, not_supported, required
from .metadata import mapping

__all__ = ["horizontal_pod_autoscaler"]

_SOURCES = ("ContainerResource", "External", "Object", "Pods", "Resource")
_FIELDS = {"Object": "object", "Pods": "pods", "Resource": "resource", "External": "external",
           "ContainerResource": "containerResource"}
_MAX_WINDOW = 3600


def _target_ref(ref: Mapping[str, Any], path: str) -> list[Cause]:
    out: list[Cause] = []
    for name in ("kind", "name"):
        value = str(ref.get(name) or "")
        if not value:
            out.append(required(child(path, name)))
        else:
            out += [invalid(child(path, name), value, m) for m in names.path_segment_name(value)]
    version = str(ref.get("apiVersion") or "")
    if "/" not in version and version != "v1":
        out.append(invalid(child(path, "apiVersion"), version, "apiVersion must specify API group"))
    return out


def _target(target: Mapping[str, Any], path: str) -> list[Cause]:
    kind = target.get("type")
    out: list[Cause] = []
    if not kind:
        out.append(required(child(path, "type"), "must specify a metric target type"))
    if kind not in ("Utilization", "Value", "AverageValue"):
        out.append(invalid(child(path, "type"), kind or "",
                           "must be either Utilization, Value, or AverageValue"))
    utilization = as_int(target.get("averageUtilization"))
    if utilization is not None and utilization < 1:
        out.append(invalid(child(path, "averageUtilization"), utilization,
                           "must be greater than 0"))
    return out


def _metric(metric: Mapping[str, Any], path: str) -> list[Cause]:
    kind = metric.get("type") or ""
    out: list[Cause] = []
    if not kind:
        out.append(required(child(path, "type"), "must specify a metric source type"))
    if kind not in _SOURCES:
        out.append(not_supported(child(path, "type"), kind, _SOURCES))
    source = metric.get("resource")
    if isinstance(source, Mapping):
        out += _target(mapping(source.get("target")), child(path, "resource", "target"))
    if kind in _FIELDS:
        if metric.get(_FIELDS[kind]) is None:
            out.append(required(child(path, _FIELDS[kind]),
                                "must populate information for the given metric source"))
    else:
        out.append(not_supported(child(path, "type"), kind, _SOURCES))
    return out


def _rules(rules: Any, path: str) -> list[Cause]:
    if not isinstance(rules, Mapping):
        return []
    out: list[Cause] = []
    window = as_int(rules.get("stabilizationWindowSeconds"))
    if window is not None and window < 0:
        out.append(invalid(child(path, "stabilizationWindowSeconds"), window,
                           "must be greater than or equal to zero"))
    if window is not None and window > _MAX_WINDOW:
        out.append(invalid(child(path, "stabilizationWindowSeconds"), window,
                           f"must be less than or equal to {_MAX_WINDOW}"))
    policy = rules.get("selectPolicy")
    if policy is not None and policy not in ("Disabled", "Max", "Min"):
        out.append(not_supported(child(path, "selectPolicy"), policy, ("Disabled", "Max", "Min")))
    return out


def horizontal_pod_autoscaler(obj: Mapping[str, Any], old: Mapping[str, Any] | None,
                              ) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    low = as_int(spec.get("minReplicas"))
    low = 1 if low is None else low
    high = as_int(spec.get("maxReplicas")) or 0
    out: list[Cause] = []
    if low < 1:
        out.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    if high < 1:
        out.append(required("spec.maxReplicas", "must be set and greater than 0"))
    if high < low:
        out.append(invalid("spec.maxReplicas", high,
                           "must be greater than or equal to `minReplicas`"))
    out += _target_ref(mapping(spec.get("scaleTargetRef")), "spec.scaleTargetRef")
    metrics = spec.get("metrics") if isinstance(spec.get("metrics"), list) else []
    kinds = set()
    for i, metric in enumerate(metrics or []):
        out += _metric(mapping(metric), index("spec.metrics", i))
        kinds.add(mapping(metric).get("type"))
    if low == 0 and not kinds & {"Object", "External"}:
        out.append(forbidden("spec.metrics", "must specify at least one Object or External "
                             "metric to support scaling to zero replicas"))
    behavior = mapping(spec.get("behavior"))
    out += _rules(behavior.get("scaleUp"), "spec.behavior.scaleUp")
    return out + _rules(behavior.get("scaleDown"), "spec.behavior.scaleDown")
