"""Versions that are views of one stored resource, and the conversions between them.

kube-apiserver stores some resources once and serves them under several versions:
``events.k8s.io/v1`` Events are core ``v1`` Events (one etcd key, ``kubectl get
events.v1.events.k8s.io`` lists what ``v1`` created), and ``autoscaling/v1`` HPAs are
``autoscaling/v2`` ones. :func:`storage_resource` names the resource both views share (so the
store keeps one bucket), :func:`to_storage` turns a written object into the storage version, and
:func:`convert` turns a stored object into the version a request asked for, as the Go
conversion functions do (``pkg/apis/events/v1``, ``pkg/apis/autoscaling/v1``): what ``v1`` HPAs
cannot hold travels in the ``autoscaling.alpha.kubernetes.io/*`` annotations.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from dynakube.apiserver.kinds.defaults import apply_defaults
from dynakube.apiserver.kinds.object_defaults import HPA_METRICS_ANNOTATION
from dynakube.apiserver.kinds.workload_defaults import job_labels

__all__ = ["convert", "storage_resource", "storage_version", "to_storage"]

Obj = dict[str, Any]

_SHARED_RESOURCES = {("events.k8s.io", "events"): ("", "events")}
_STORAGE_VERSIONS = {("", "Event"): "v1", ("events.k8s.io", "Event"): "v1",
                     ("autoscaling", "HorizontalPodAutoscaler"): "autoscaling/v2"}
_METRICS = HPA_METRICS_ANNOTATION
_CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
_BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
_ROUND_TRIP = (_METRICS, _CURRENT_METRICS, _BEHAVIOR, _CONDITIONS)


def storage_resource(group: str, plural: str) -> tuple[str, str]:
    """The ``(group, plural)`` a resource is stored as (itself, unless it is another's view)."""
    return _SHARED_RESOURCES.get((group, plural), (group, plural))


def storage_version(api_version: str, kind: str) -> str:
    """The ``apiVersion`` objects of this kind are stored in (their own for most kinds)."""
    group = api_version.rpartition("/")[0]
    return _STORAGE_VERSIONS.get((group, kind), api_version)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _put(out: Obj, key: str, value: Any) -> None:
    """Go's ``omitempty``: absent, ``None``, ``""``, ``0``, ``[]`` and ``{}`` are left out."""
    if value not in (None, "", 0, [], {}):
        out[key] = copy.deepcopy(value)


# -- Events ------------------------------------------------------------------------------------

def _core_to_events(obj: Obj) -> Obj:
    out: Obj = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": copy.deepcopy(obj.get("metadata") or {}),
                "eventTime": obj.get("eventTime")}
    _put(out, "series", obj.get("series"))
    _put(out, "reportingController", obj.get("reportingComponent"))
    _put(out, "reportingInstance", obj.get("reportingInstance"))
    for key in ("action", "reason"):
        _put(out, key, obj.get(key))
    out["regarding"] = copy.deepcopy(obj.get("involvedObject") or {})
    _put(out, "related", obj.get("related"))
    _put(out, "note", obj.get("message"))
    _put(out, "type", obj.get("type"))
    out["deprecatedSource"] = copy.deepcopy(obj.get("source") or {})
    out["deprecatedFirstTimestamp"] = obj.get("firstTimestamp")
    out["deprecatedLastTimestamp"] = obj.get("lastTimestamp")
    _put(out, "deprecatedCount", obj.get("count"))
    return out


def _events_to_core(obj: Obj) -> Obj:
    out: Obj = {"apiVersion": "v1", "kind": "Event",
                "metadata": copy.deepcopy(obj.get("metadata") or {}),
                "involvedObject": copy.deepcopy(obj.get("regarding") or {})}
    _put(out, "reason", obj.get("reason"))
    _put(out, "message", obj.get("note"))
    out["source"] = copy.deepcopy(obj.get("deprecatedSource") or {})
    out["firstTimestamp"] = obj.get("deprecatedFirstTimestamp")
    out["lastTimestamp"] = obj.get("deprecatedLastTimestamp")
    _put(out, "count", obj.get("deprecatedCount"))
    _put(out, "type", obj.get("type"))
    out["eventTime"] = obj.get("eventTime")
    for key in ("series", "action", "related"):
        _put(out, key, obj.get(key))
    out["reportingComponent"] = obj.get("reportingController") or ""
    out["reportingInstance"] = obj.get("reportingInstance") or ""
    return out


# -- HorizontalPodAutoscalers: metrics ---------------------------------------------------------

def _v1_metric(metric: Obj, current: bool) -> Obj:
    """A v2 MetricSpec (``current``: MetricStatus) in the v1 annotation's shape."""
    kind = metric.get("type")
    out: Obj = {"type": kind}
    word = "current" if current else "target"
    if kind == "External" and isinstance(metric.get("external"), dict):
        src = metric["external"]
        ident, value = src.get("metric") or {}, src.get(word) or {}
        ext: Obj = {"metricName": ident.get("name", "")}
        _put(ext, "metricSelector", ident.get("selector"))
        ext[f"{word}Value"] = value.get("value", "0")
        _put(ext, f"{word}AverageValue", value.get("averageValue"))
        out["external"] = ext
    elif kind == "Object" and isinstance(metric.get("object"), dict):
        src = metric["object"]
        ident, value = src.get("metric") or {}, src.get(word) or {}
        obj: Obj = {"target": copy.deepcopy(src.get("describedObject") or {}),
                    "metricName": ident.get("name", ""), f"{word}Value": value.get("value", "0")}
        _put(obj, "selector", ident.get("selector"))
        _put(obj, "averageValue", value.get("averageValue"))
        out["object"] = obj
    elif kind == "Pods" and isinstance(metric.get("pods"), dict):
        src = metric["pods"]
        ident, value = src.get("metric") or {}, src.get(word) or {}
        pods: Obj = {"metricName": ident.get("name", ""),
                     f"{word}AverageValue": value.get("averageValue", "0")}
        _put(pods, "selector", ident.get("selector"))
        out["pods"] = pods
    for source in ("resource", "containerResource"):
        if kind == source[0].upper() + source[1:] and isinstance(metric.get(source), dict):
            src = metric[source]
            value = src.get(word) or {}
            res: Obj = {"name": src.get("name", "")}
            _put(res, f"{word}AverageUtilization", value.get("averageUtilization"))
            _put(res, f"{word}AverageValue", value.get("averageValue"))
            if source == "containerResource":
                res["container"] = src.get("container", "")
            out[source] = res
    return out


def _v2_metric(metric: Obj, current: bool) -> Obj:
    """A v1 annotation metric back in the v2 shape (the inverse of :func:`_v1_metric`)."""
    kind = metric.get("type")
    out: Obj = {"type": kind}
    word = "current" if current else "target"
    if kind == "External" and isinstance(metric.get("external"), dict):
        src = metric["external"]
        ident: Obj = {"name": src.get("metricName", "")}
        _put(ident, "selector", src.get("metricSelector"))
        average = src.get(f"{word}AverageValue")
        value: Obj = {} if current else {"type": "Value" if average is None else "AverageValue"}
        _put(value, "value", src.get(f"{word}Value"))
        _put(value, "averageValue", average)
        out["external"] = {"metric": ident, word: value}
    elif kind == "Object" and isinstance(metric.get("object"), dict):
        src = metric["object"]
        ident = {"name": src.get("metricName", "")}
        _put(ident, "selector", src.get("selector"))
        average = src.get("averageValue")
        value = {} if current else {"type": "Value" if average is None else "AverageValue"}
        _put(value, "value", src.get(f"{word}Value"))
        _put(value, "averageValue", average)
        out["object"] = {"describedObject": copy.deepcopy(src.get("target") or {}),
                         "metric": ident, word: value}
    elif kind == "Pods" and isinstance(metric.get("pods"), dict):
        src = metric["pods"]
        ident = {"name": src.get("metricName", "")}
        _put(ident, "selector", src.get("selector"))
        value = {} if current else {"type": "AverageValue"}
        _put(value, "averageValue", src.get(f"{word}AverageValue"))
        out["pods"] = {"metric": ident, word: value}
    for source in ("resource", "containerResource"):
        if kind == source[0].upper() + source[1:] and isinstance(metric.get(source), dict):
            src = metric[source]
            average = src.get(f"{word}AverageValue")
            value = {} if current else {
                "type": "AverageValue" if average is not None else "Utilization"}
            _put(value, "averageUtilization", src.get(f"{word}AverageUtilization"))
            _put(value, "averageValue", average)
            res: Obj = {"name": src.get("name", ""), word: value}
            if source == "containerResource":
                res["container"] = src.get("container", "")
            out[source] = res
    return out


def _is_cpu_utilization(metric: Any, word: str) -> bool:
    resource = metric.get("resource") if isinstance(metric, dict) else None
    return metric.get("type") == "Resource" and isinstance(resource, dict) \
        and resource.get("name") == "cpu" \
        and (resource.get(word) or {}).get("averageUtilization") is not None


# -- HorizontalPodAutoscalers: behavior (the v1 annotation holds Go's internal struct) ---------

_RULES_GO = (("stabilizationWindowSeconds", "StabilizationWindowSeconds"),
             ("selectPolicy", "SelectPolicy"), ("policies", "Policies"),
             ("tolerance", "Tolerance"))
_POLICY_GO = (("type", "Type"), ("value", "Value"), ("periodSeconds", "PeriodSeconds"))


def _go_rules(rules: Any) -> Any:
    if not isinstance(rules, dict):
        return None
    out: Obj = {go: copy.deepcopy(rules.get(name)) for name, go in _RULES_GO}
    if isinstance(out["Policies"], list):
        out["Policies"] = [{go: p.get(name) for name, go in _POLICY_GO}
                           for p in out["Policies"] if isinstance(p, dict)]
    return out


def _api_rules(rules: Any) -> Any:
    if not isinstance(rules, dict):
        return None
    out: Obj = {}
    for name, go in _RULES_GO:
        _put(out, name, rules.get(go))
    if isinstance(out.get("policies"), list):
        out["policies"] = [{name: p.get(go) for name, go in _POLICY_GO if p.get(go) is not None}
                           for p in out["policies"] if isinstance(p, dict)]
    return out


# -- HorizontalPodAutoscalers: the objects -----------------------------------------------------

def _hpa_v2_to_v1(obj: Obj) -> Obj:
    meta = copy.deepcopy(obj.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k not in _ROUND_TRIP}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    out_spec: Obj = {"scaleTargetRef": copy.deepcopy(spec.get("scaleTargetRef") or {})}
    _put(out_spec, "minReplicas", spec.get("minReplicas"))
    out_spec["maxReplicas"] = spec.get("maxReplicas", 0)
    metrics = [m for m in spec.get("metrics") or [] if isinstance(m, dict)]
    cpu = next((m for m in metrics if _is_cpu_utilization(m, "target")), None)
    if cpu is not None:
        out_spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"][
            "averageUtilization"]
    others = [_v1_metric(m, False) for m in metrics if not _is_cpu_utilization(m, "target")]
    if others:
        annotations[_METRICS] = _json(others)
    current = [m for m in status.get("currentMetrics") or [] if isinstance(m, dict)]
    if current:
        annotations[_CURRENT_METRICS] = _json([_v1_metric(m, True) for m in current])
    if isinstance(spec.get("behavior"), dict):
        behavior = spec["behavior"]
        annotations[_BEHAVIOR] = _json({"ScaleUp": _go_rules(behavior.get("scaleUp")),
                                        "ScaleDown": _go_rules(behavior.get("scaleDown"))})
    conditions = status.get("conditions")
    if conditions:
        annotations[_CONDITIONS] = _json(conditions)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out_status: Obj = {}
    for key in ("observedGeneration", "lastScaleTime"):
        _put(out_status, key, status.get(key))
    out_status["currentReplicas"] = status.get("currentReplicas", 0)
    out_status["desiredReplicas"] = status.get("desiredReplicas", 0)
    cpu_now = next((m for m in current if _is_cpu_utilization(m, "current")), None)
    if cpu_now is not None:
        out_status["currentCPUUtilizationPercentage"] = cpu_now["resource"]["current"][
            "averageUtilization"]
    out: Obj = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                "metadata": meta, "spec": out_spec}
    if "status" in obj:
        out["status"] = out_status
    return out


def _annotation(annotations: dict[str, Any], key: str) -> Any:
    try:
        return json.loads(annotations[key]) if key in annotations else None
    except (TypeError, ValueError):
        return None  # Go ignores an annotation it cannot decode


def _hpa_v1_to_v2(obj: Obj) -> Obj:
    meta = copy.deepcopy(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    out_spec: Obj = {"scaleTargetRef": copy.deepcopy(spec.get("scaleTargetRef") or {})}
    _put(out_spec, "minReplicas", spec.get("minReplicas"))
    out_spec["maxReplicas"] = spec.get("maxReplicas", 0)
    metrics: list[Obj] = []
    others = _annotation(annotations, _METRICS)
    if isinstance(others, list):
        metrics += [_v2_metric(m, False) for m in others if isinstance(m, dict)]
    cpu = spec.get("targetCPUUtilizationPercentage")
    if cpu is not None:
        metrics.append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}})
    if not metrics:  # v1's implicit default, made explicit
        metrics = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    out_spec["metrics"] = metrics
    behavior = _annotation(annotations, _BEHAVIOR)
    if isinstance(behavior, dict) and any(behavior.get(k) for k in ("ScaleUp", "ScaleDown")):
        out_spec["behavior"] = {k: v for k, v in (
            ("scaleUp", _api_rules(behavior.get("ScaleUp"))),
            ("scaleDown", _api_rules(behavior.get("ScaleDown")))) if v is not None}
    out_status: Obj = {}
    for key in ("observedGeneration", "lastScaleTime", "currentReplicas"):
        _put(out_status, key, status.get(key))
    out_status["desiredReplicas"] = status.get("desiredReplicas", 0)
    current = _annotation(annotations, _CURRENT_METRICS)
    current_metrics = [_v2_metric(m, True) for m in current if isinstance(m, dict)] \
        if isinstance(current, list) else []
    if not current_metrics and status.get("currentCPUUtilizationPercentage") is not None:
        current_metrics = [{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
    out_status["currentMetrics"] = current_metrics or None
    conditions = _annotation(annotations, _CONDITIONS)
    if isinstance(conditions, list) and conditions:
        out_status["conditions"] = conditions
    for key in _ROUND_TRIP:
        annotations.pop(key, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out: Obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": meta, "spec": out_spec}
    if "status" in obj:
        out["status"] = out_status
    return out


_CONVERTERS: dict[tuple[str, str, str], Callable[[Obj], Obj]] = {
    ("v1", "events.k8s.io/v1", "Event"): _core_to_events,
    ("events.k8s.io/v1", "v1", "Event"): _events_to_core,
    ("autoscaling/v2", "autoscaling/v1", "HorizontalPodAutoscaler"): _hpa_v2_to_v1,
    ("autoscaling/v1", "autoscaling/v2", "HorizontalPodAutoscaler"): _hpa_v1_to_v2,
}


def convert(obj: Obj, api_version: str, kind: str | None = None) -> Obj:
    """``obj`` as version ``api_version`` shows it: converted where the two versions differ in
    shape, relabelled otherwise (the same object when it already is that version)."""
    source = obj.get("apiVersion")
    if source == api_version:
        return obj
    convert_one = _CONVERTERS.get((str(source), api_version, str(kind or obj.get("kind"))))
    if convert_one is not None:
        return convert_one(obj)
    out = dict(obj)
    out["apiVersion"] = api_version
    return out


def to_storage(obj: Obj) -> Obj:
    """A written object as storage holds it: in its storage version, with that version's
    defaults (what decoding it from storage adds); ``obj`` itself for most kinds."""
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    stored = convert(obj, storage_version(api_version, kind), kind)
    if stored is not obj:
        apply_defaults(stored)
    elif (api_version, kind) == ("batch/v1", "Job"):
        job_labels(stored)  # decoded again, a Job takes its template's generated labels
    return stored
