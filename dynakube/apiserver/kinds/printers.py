"""Server-side printing: the columns of ``as=Table`` lists and how each cell is computed.

Built-in kinds get the columns a Kubernetes 1.36 server prints for them (with descriptions of
our own); custom resources get a Name column followed by their CRD's
``additionalPrinterColumns``, whose cells come from simple JSONPath expressions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AGE_COLUMN",
    "BUILTIN_COLUMNS",
    "NAME_COLUMN",
    "Cell",
    "PrinterColumn",
    "crd_columns",
    "human_duration",
    "jsonpath_value",
]

Cell = Callable[[Mapping[str, Any], float], Any]
"""Computes one table cell from an object and the current time (seconds since the epoch)."""



@dataclass(frozen=True)
class PrinterColumn:
    """One column of a server-side table (``as=Table``) and how to compute its cells."""

    name: str
    type: str
    cell: Cell = field(compare=False)
    format: str = ""
    description: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        """The ``columnDefinitions`` entry, keys in the order the server writes them."""
        return {
            "description": self.description,
            "format": self.format,
            "name": self.name,
            "priority": self.priority,
            "type": self.type,
        }


# ---------------------------------------------------------------- cells and durations


def human_duration(seconds: float) -> str:
    """The server's short age format (``0s``, ``2m5s``, ``28m``, ``5h3m``, ``3d``...)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _age_of(value: Any, now: float) -> str:
    created = _parse_time(value)
    return "<unknown>" if created is None else human_duration(now - created)


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    current: Any = obj
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def _name_cell(obj: Mapping[str, Any], now: float) -> Any:
    return _get(obj, "metadata", "name")


def _age_cell(obj: Mapping[str, Any], now: float) -> Any:
    return _age_of(_get(obj, "metadata", "creationTimestamp"), now)


NAME_COLUMN = PrinterColumn(
    "Name", "string", _name_cell, "name", "The object's name, unique within its namespace."
)
AGE_COLUMN = PrinterColumn(
    "Age", "string", _age_cell, "", "When the object was created (RFC 3339, UTC), shown as an age."
)


def _col(name: str, description: str, cell: Cell, priority: int = 0, kind: str = "string") -> (
    PrinterColumn
):
    return PrinterColumn(name, kind, cell, "", description, priority)


def _count(*path: str) -> Cell:
    def cell(obj: Mapping[str, Any], now: float) -> Any:
        return sum(len(v) for p in path if isinstance(v := _get(obj, p), (dict, list)))

    return cell


def _field(*path: str, default: Any = "") -> Cell:
    def cell(obj: Mapping[str, Any], now: float) -> Any:
        value = _get(obj, *path)
        return default if value is None else value

    return cell


def _none_if_empty(values: list[str]) -> str:
    return ",".join(values) if values else "<none>"


def _selector_text(selector: Any) -> str:
    if not isinstance(selector, Mapping) or not selector:
        return "<none>"
    labels = selector.get("matchLabels", selector) if "matchExpressions" not in selector else {}
    parts = [f"{k}={v}" for k, v in sorted(labels.items()) if isinstance(v, str)]
    for expr in selector.get("matchExpressions") or []:
        if isinstance(expr, Mapping):
            values = ",".join(expr.get("values") or [])
            op = str(expr.get("operator", ""))
            parts.append(f"{expr.get('key')} {op.lower()} ({values})" if values else
                         f"{'!' if op == 'DoesNotExist' else ''}{expr.get('key')}")
    return _none_if_empty(parts)


def _containers(obj: Mapping[str, Any], *path: str) -> list[Mapping[str, Any]]:
    items = _get(obj, *path)
    return [c for c in items if isinstance(c, Mapping)] if isinstance(items, list) else []


def _pod_ready(obj: Mapping[str, Any], now: float) -> str:
    statuses = _containers(obj, "status", "containerStatuses")
    ready = sum(1 for s in statuses if s.get("ready") is True)
    return f"{ready}/{len(_containers(obj, 'spec', 'containers'))}"


def _pod_status(obj: Mapping[str, Any], now: float) -> str:
    reason = _get(obj, "status", "reason") or _get(obj, "status", "phase") or "Pending"
    for status in _containers(obj, "status", "containerStatuses"):
        state = status.get("state")
        if isinstance(state, Mapping):
            waiting = _get(state, "waiting", "reason")
            terminated = _get(state, "terminated", "reason")
            if waiting:
                reason = waiting
            elif terminated:
                reason = terminated
    if _get(obj, "metadata", "deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def _pod_restarts(obj: Mapping[str, Any], now: float) -> int:
    return sum(
        s.get("restartCount", 0)
        for s in _containers(obj, "status", "containerStatuses")
        if isinstance(s.get("restartCount", 0), int)
    )


def _service_external_ip(obj: Mapping[str, Any], now: float) -> str:
    kind = _get(obj, "spec", "type") or "ClusterIP"
    external = [ip for ip in _get(obj, "spec", "externalIPs") or [] if isinstance(ip, str)]
    if kind == "ExternalName":
        return str(_get(obj, "spec", "externalName") or "<none>")
    if kind == "LoadBalancer":
        ingress = _get(obj, "status", "loadBalancer", "ingress") or []
        ips = [i.get("ip") or i.get("hostname") for i in ingress if isinstance(i, Mapping)]
        found = [x for x in ips if x] + external
        return ",".join(found) if found else "<pending>"
    return _none_if_empty(external)


def _service_ports(obj: Mapping[str, Any], now: float) -> str:
    parts = []
    for port in _containers(obj, "spec", "ports"):
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return _none_if_empty(parts)


def _deployment_ready(obj: Mapping[str, Any], now: float) -> str:
    ready = _get(obj, "status", "readyReplicas") or 0
    return f"{ready}/{_get(obj, 'spec', 'replicas') or 0}"


def _join(*path: str, key: str) -> Cell:
    def cell(obj: Mapping[str, Any], now: float) -> str:
        return ",".join(str(c.get(key, "")) for c in _containers(obj, *path))

    return cell


def _event_object(obj: Mapping[str, Any], now: float) -> str:
    ref = _get(obj, "involvedObject") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def _event_last_seen(obj: Mapping[str, Any], now: float) -> str:
    when = _get(obj, "lastTimestamp") or _get(obj, "eventTime") or _get(obj, "metadata",
                                                                        "creationTimestamp")
    return _age_of(when, now)


def _event_source(obj: Mapping[str, Any], now: float) -> str:
    component = _get(obj, "source", "component") or _get(obj, "reportingComponent") or ""
    host = _get(obj, "source", "host")
    return f"{component}, {host}" if host else str(component)


def _created_at(obj: Mapping[str, Any], now: float) -> Any:
    return _get(obj, "metadata", "creationTimestamp")


# ---------------------------------------------------------------- custom resource columns

_PATH_TOKEN = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\[['\"]([^'\"]+)['\"]\]")


def jsonpath_value(obj: Any, path: str) -> tuple[bool, Any]:
    """Evaluate a simple JSONPath (``.a.b``, ``.a[0]``, ``.a['k.x']``); ``(found, value)``.

    ``{...}`` braces around the path are accepted, as in ``additionalPrinterColumns``.
    Anything more elaborate counts as not found (the cell is then empty).
    """
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if text.startswith("$"):
        text = text[1:]
    position, current = 0, obj
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if match is None:
            return False, None
        position = match.end()
        key, index, quoted = match.groups()
        if index is not None:
            if not isinstance(current, list) or int(index) >= len(current):
                return False, None
            current = current[int(index)]
        else:
            name = key if key is not None else quoted
            if not isinstance(current, Mapping) or name not in current:
                return False, None
            current = current[name]
    return True, current


def _custom_cell(path: str, kind: str) -> Cell:
    def cell(obj: Mapping[str, Any], now: float) -> Any:
        found, value = jsonpath_value(obj, path)
        if not found or value is None:
            return None
        if kind == "string":
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, (dict, list)):
                return json.dumps(value, separators=(",", ":"), sort_keys=True)
            return str(value)
        if kind == "integer":
            if isinstance(value, float) and value.is_integer():
                return int(value)
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        if kind == "number":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            return float(value) if ok else None
        if kind == "boolean":
            return value if isinstance(value, bool) else None
        if kind == "date":
            created = _parse_time(value)
            return None if created is None else human_duration(now - created)
        return value

    return cell


# ---------------------------------------------------------------- per-kind columns


def _selector_cell(obj: Mapping[str, Any], now: float) -> str:
    return _selector_text(_get(obj, "spec", "selector"))


def _first_seen(obj: Mapping[str, Any], now: float) -> str:
    return _age_of(_get(obj, "firstTimestamp"), now)


def _no_gates(obj: Mapping[str, Any], now: float) -> str:
    gates = _get(obj, "spec", "readinessGates")
    if not isinstance(gates, list) or not gates:
        return "<none>"
    conditions = _containers(obj, "status", "conditions")
    true = {c.get("type") for c in conditions if c.get("status") == "True"}
    ok = sum(1 for g in gates if isinstance(g, Mapping) and g.get("conditionType") in true)
    return f"{ok}/{len(gates)}"


_TEMPLATE_CONTAINERS = ("spec", "template", "spec", "containers")

BUILTIN_COLUMNS: dict[str, tuple[PrinterColumn, ...]] = {
    "Namespace": (
        NAME_COLUMN,
        _col("Status", "The namespace's lifecycle phase.", _field("status", "phase")),
        AGE_COLUMN,
    ),
    "ConfigMap": (
        NAME_COLUMN,
        _col("Data", "How many keys data and binaryData hold.", _count("data", "binaryData")),
        AGE_COLUMN,
    ),
    "Secret": (
        NAME_COLUMN,
        _col("Type", "The secret's type.", _field("type")),
        _col("Data", "How many keys the secret holds.", _count("data")),
        AGE_COLUMN,
    ),
    "Service": (
        NAME_COLUMN,
        _col("Type", "How the service is exposed.", _field("spec", "type")),
        _col("Cluster-IP", "The virtual IP inside the cluster.", _field("spec", "clusterIP")),
        _col("External-IP", "Addresses reachable from outside.", _service_external_ip),
        _col("Port(s)", "The ports the service exposes.", _service_ports),
        AGE_COLUMN,
        _col("Selector", "The pods this service routes to.", _selector_cell, 1),
    ),
    "Pod": (
        NAME_COLUMN,
        _col("Ready", "Ready containers out of all containers.", _pod_ready),
        _col("Status", "The pod's aggregate state.", _pod_status),
        _col("Restarts", "Container restarts, all containers together.", _pod_restarts),
        AGE_COLUMN,
        _col("IP", "The pod's IP address.", _field("status", "podIP", default="<none>"), 1),
        _col("Node", "The node the pod runs on.", _field("spec", "nodeName", default="<none>"), 1),
        _col("Nominated Node", "The node the scheduler nominated.",
             _field("status", "nominatedNodeName", default="<none>"), 1),
        _col("Readiness Gates", "Readiness gates that are true, out of all.", _no_gates, 1),
    ),
    "ServiceAccount": (
        NAME_COLUMN,
        _col("Secrets", "How many secrets are listed.", _count("secrets")),
        AGE_COLUMN,
    ),
    "Event": (
        _col("Last Seen", "When the event was last seen.", _event_last_seen),
        _col("Type", "Normal or Warning.", _field("type")),
        _col("Reason", "A short machine-readable reason.", _field("reason")),
        _col("Object", "The object the event is about.", _event_object),
        _col("Subobject", "The part of the object involved.",
             _field("involvedObject", "fieldPath"), 1),
        _col("Source", "The component that reported it.", _event_source, 1),
        _col("Message", "What happened.", _field("message")),
        _col("First Seen", "When the event was first seen.", _first_seen, 1),
        _col("Count", "How many times it happened.", _field("count", default=1), 1),
        PrinterColumn("Name", "string", _name_cell, "name", NAME_COLUMN.description, 1),
    ),
    "Deployment": (
        NAME_COLUMN,
        _col("Ready", "Ready replicas out of desired replicas.", _deployment_ready),
        _col("Up-to-date", "Replicas running the latest template.",
             _field("status", "updatedReplicas", default=0)),
        _col("Available", "Replicas available to serve.",
             _field("status", "availableReplicas", default=0)),
        AGE_COLUMN,
        _col("Containers", "Names of the pod template's containers.",
             _join(*_TEMPLATE_CONTAINERS, key="name"), 1),
        _col("Images", "Images of the pod template's containers.",
             _join(*_TEMPLATE_CONTAINERS, key="image"), 1),
        _col("Selector", "The label selector of the pods.", _selector_cell, 1),
    ),
    "Lease": (
        NAME_COLUMN,
        _col("Holder", "The current holder of the lease.", _field("spec", "holderIdentity")),
        AGE_COLUMN,
    ),
    "CustomResourceDefinition": (
        NAME_COLUMN,
        PrinterColumn("Created At", "date", _created_at, "", "When the object was created."),
    ),
}
"""Columns of the built-in kinds' tables, by kind."""

_DEFAULT_CRD_COLUMNS = ({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},)


def crd_columns(printer_columns: Sequence[Mapping[str, Any]] | None) -> tuple[PrinterColumn, ...]:
    """Name, then a CRD version's ``additionalPrinterColumns`` (an Age column if it has none)."""
    columns = [NAME_COLUMN]
    for column in printer_columns or _DEFAULT_CRD_COLUMNS:
        path = str(column.get("jsonPath", ""))
        description = column.get("description") or (
            f"Custom resource definition column (in JSONPath format): {path}"
        )
        kind = str(column.get("type", "string"))
        priority = column.get("priority", 0)
        columns.append(PrinterColumn(
            str(column.get("name", "")), kind, _custom_cell(path, kind),
            str(column.get("format", "") or ""), str(description),
            priority if isinstance(priority, int) else 0,
        ))
    return tuple(columns)
