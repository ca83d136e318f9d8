"""Server-side printing: the columns of ``as=Table`` lists and how each cell is computed.

The per-kind columns of built-ins are in :mod:`.tables` (kinds without a printer get
:data:`DEFAULT_COLUMNS`); custom resources get a Name column followed by their CRD's
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
    "DEFAULT_COLUMNS",
    "NAME_COLUMN",
    "Cell",
    "PrinterColumn",
    "age_of",
    "as_int",
    "bool_text",
    "column",
    "count_cell",
    "crd_columns",
    "field_cell",
    "get",
    "human_duration",
    "items",
    "jsonpath_value",
    "label_selector_text",
    "labels_text",
    "number_cell",
    "parse_time",
    "selector_cell",
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


def parse_time(value: Any) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp, None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def age_of(value: Any, now: float) -> str:
    """The age of the timestamp ``value`` at ``now`` (``<unknown>`` when it is not one)."""
    created = parse_time(value)
    return "<unknown>" if created is None else human_duration(now - created)


def get(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...``, None where a step is missing or not a mapping."""
    current: Any = obj
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def _name_cell(obj: Mapping[str, Any], now: float) -> Any:
    return get(obj, "metadata", "name")


def _age_cell(obj: Mapping[str, Any], now: float) -> Any:
    return age_of(get(obj, "metadata", "creationTimestamp"), now)


NAME_COLUMN = PrinterColumn(
    "Name", "string", _name_cell, "name", "The object's name, unique within its namespace."
)
AGE_COLUMN = PrinterColumn(
    "Age", "string", _age_cell, "", "When the object was created (RFC 3339, UTC), shown as an age."
)


# ---------------------------------------------------------------- building blocks of columns


def column(name: str, description: str, cell: Cell, priority: int = 0,
         kind: str = "string") -> PrinterColumn:
    return PrinterColumn(name, kind, cell, "", description, priority)


def items(obj: Any, *path: str) -> list[Mapping[str, Any]]:
    items = get(obj, *path)
    return [c for c in items if isinstance(c, Mapping)] if isinstance(items, list) else []


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def field_cell(*path: str, default: Any = "") -> Cell:
    return lambda obj, now: default if (value := get(obj, *path)) is None else value


def number_cell(*path: str) -> Cell:
    return lambda obj, now: as_int(get(obj, *path))


def count_cell(*paths: str) -> Cell:
    return lambda obj, now: sum(len(v) for p in paths if isinstance(v := get(obj, p), (dict, list)))


def bool_text(value: Any) -> str:
    return "<unset>" if not isinstance(value, bool) else ("True" if value else "False")


def labels_text(labels: Any) -> str:
    """``labels.FormatLabels``: ``a=b,c=d`` sorted by key, ``<none>`` when empty."""
    if not isinstance(labels, Mapping) or not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def label_selector_text(selector: Any) -> str:
    """``metav1.FormatLabelSelector``: ``app=x,tier in (a,b),!gone``; ``<none>`` when empty."""
    if not isinstance(selector, Mapping):
        return "<none>"
    labels = selector.get("matchLabels")
    parts = [f"{k}={labels[k]}" for k in sorted(labels)] if isinstance(labels, Mapping) else []
    for expr in items(selector, "matchExpressions"):
        op, key = str(expr.get("operator", "")), expr.get("key")
        values = ",".join(str(v) for v in expr.get("values") or [])
        if op in ("In", "NotIn"):
            parts.append(f"{key} {'in' if op == 'In' else 'notin'} ({values})")
        else:
            parts.append(f"{'!' if op == 'DoesNotExist' else ''}{key}")
    return ",".join(parts) or "<none>"


def selector_cell(*path: str) -> Cell:
    return lambda obj, now: label_selector_text(get(obj, *path))



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
            created = parse_time(value)
            return None if created is None else human_duration(now - created)
        return value

    return cell


# ---------------------------------------------------------------- default and CRD columns

DEFAULT_COLUMNS = (
    NAME_COLUMN,
    PrinterColumn("Created At", "date",
                  lambda obj, now: get(obj, "metadata", "creationTimestamp"), "",
                  "When the object was created."),
)
"""The table of kinds without a printer (kube-apiserver's default table convertor)."""

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
