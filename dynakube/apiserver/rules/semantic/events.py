"""Events, core and ``events.k8s.io`` (``ValidateEventCreate``).

Both are one object inside the server: an ``events.k8s.io/v1`` Event's ``note`` is checked
as ``message`` and its ``regarding`` as ``involvedObject``, which is why the real causes name
those fields. Core ``v1`` Events keep the lenient legacy checks only, names included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import names
from .fields import Cause, invalid, required
from .metadata import mapping

__all__ = ["core_event", "event", "event_strict"]

_LIMITS = {"reportingInstance": 128, "action": 128, "reason": 128}
_NOTE_LIMIT = 1024


def _legacy(namespace: str, involved_ns: str, fields: Mapping[str, Any],
            controller_field: str) -> list[Cause]:
    out: list[Cause] = []
    if not fields.get("eventTime"):
        if involved_ns and namespace != involved_ns or \
                not involved_ns and namespace not in ("", "default"):
            out.append(invalid("involvedObject.namespace", involved_ns,
                               "does not match event.namespace"))
    else:
        if not involved_ns and namespace not in ("default", "kube-system"):
            out.append(invalid("involvedObject.namespace", involved_ns,
                               "does not match event.namespace"))
        controller = str(fields.get("reportingController") or "")
        if not controller:
            out.append(required(controller_field))
        out += [invalid(controller_field, controller, m) for m in names.qualified_name(controller)]
        for name, limit in _LIMITS.items():
            value = str(fields.get(name) or "")
            if not value:
                out.append(required(name))
            if len(value) > limit:
                out.append(invalid(name, "", f"can have at most {limit} characters"))
        if len(str(fields.get("message") or "")) > _NOTE_LIMIT:
            out.append(invalid("message", "", f"can have at most {_NOTE_LIMIT} characters"))
    return out + [invalid("namespace", namespace, m) for m in names.dns1123_subdomain(namespace)]


def core_event(obj: Mapping[str, Any]) -> list[Cause]:
    namespace = str(mapping(obj.get("metadata")).get("namespace") or "")
    fields = {"eventTime": obj.get("eventTime"), "action": obj.get("action"),
              "reason": obj.get("reason"), "message": obj.get("message"),
              "reportingController": obj.get("reportingComponent"),
              "reportingInstance": obj.get("reportingInstance")}
    involved = str(mapping(obj.get("involvedObject")).get("namespace") or "")
    return _legacy(namespace, involved, fields, "reportingComponent")


def event(obj: Mapping[str, Any]) -> list[Cause]:
    """The legacy checks of an ``events.k8s.io/v1`` Event (its metadata comes next, then
    :func:`event_strict`)."""
    namespace = str(mapping(obj.get("metadata")).get("namespace") or "")
    fields = {**obj, "message": obj.get("note")}
    involved = str(mapping(obj.get("regarding")).get("namespace") or "")
    return _legacy(namespace, involved, fields, "reportingController")


def event_strict(obj: Mapping[str, Any]) -> list[Cause]:
    """What only ``events.k8s.io`` requires: an event time, a known type, no legacy fields."""
    out: list[Cause] = []
    if not obj.get("eventTime"):
        out.append(required("eventTime"))
    kind = obj.get("type")
    if kind not in ("Normal", "Warning"):
        out.append(invalid("type", "", f"has invalid value: {kind or ''}"))
    for name in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp"):
        if obj.get(name):
            shown = "firstTimestamp" if "First" in name else "lastTimestamp"
            out.append(invalid(shown, "", "needs to be unset"))
    if obj.get("deprecatedCount"):
        out.append(invalid("count", "", "needs to be unset"))
    if mapping(obj.get("deprecatedSource")):
        out.append(invalid("source", "", "needs to be unset"))
    return out
