"""Field errors worded as k8s.io/apimachinery's ``field.Error`` words them.

kube-apiserver renders every validation failure as ``<field>: <type>: <value>: <detail>``;
these builders return the ``details.causes`` entries (``status.cause``) with that wording, so
the rules read like the Go code they mirror and the messages match a real server's exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ...status import cause
from .godump import GoDump

__all__ = [
    "Cause",
    "go_value",
    "sorted_map",
    "required",
    "invalid",
    "not_supported",
    "duplicate",
    "forbidden",
    "too_long",
    "not_found",
    "nonnegative",
    "child",
    "index",
    "key",
    "as_int",
]

Cause = dict[str, str]


def go_value(value: Any) -> str:
    """A value as ``field.Error`` prints it: strings quoted, numbers bare, the rest as JSON.

    Mappings keep the order they come in: callers pass Go structs field by field, and maps
    (labels) sorted, as ``encoding/json`` writes them.
    """
    if value is None:
        return "null"
    if isinstance(value, GoDump):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sorted_map(value: Any) -> Any:
    """A Go map as ``encoding/json`` writes it (keys sorted), ``None`` staying ``null``."""
    if isinstance(value, Mapping):
        return {k: value[k] for k in sorted(value)}
    return value


def _with(detail: str) -> str:
    return f": {detail}" if detail else ""


def required(field: str, detail: str = "") -> Cause:
    return cause(field, "FieldValueRequired", "Required value" + _with(detail))


def invalid(field: str, value: Any, detail: str) -> Cause:
    return cause(field, "FieldValueInvalid", f"Invalid value: {go_value(value)}" + _with(detail))


def not_supported(field: str, value: Any, supported: Iterable[str]) -> Cause:
    listed = ", ".join(json.dumps(s) for s in supported)
    return cause(field, "FieldValueNotSupported",
                 f"Unsupported value: {go_value(value)}: supported values: {listed}")


def duplicate(field: str, value: Any) -> Cause:
    return cause(field, "FieldValueDuplicate", f"Duplicate value: {go_value(value)}")


def forbidden(field: str, detail: str) -> Cause:
    return cause(field, "FieldValueForbidden", f"Forbidden: {detail}")


def too_long(field: str, limit: int) -> Cause:
    return cause(field, "FieldValueTooLong", f"Too long: may not be more than {limit} bytes")


def not_found(field: str, value: Any) -> Cause:
    return cause(field, "FieldValueNotFound", f"Not found: {go_value(value)}")


def nonnegative(field: str, value: Any) -> list[Cause]:
    """``ValidateNonnegativeField``: integers below 0 are refused (absent fields are not)."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [invalid(field, value, "must be greater than or equal to 0")]
    return []


def child(path: str, *names: str) -> str:
    return ".".join([path, *names]) if path else ".".join(names)


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, name: str) -> str:
    return f"{path}[{name}]"


def as_int(value: Any) -> int | None:
    """An integer field's value, or ``None`` when absent or not an integer (decoding's job)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
