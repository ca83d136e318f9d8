"""LimitRanges (``ValidateLimitRange``): qualified limit types, resource names per type, and
the order ``min <= defaultRequest <= default <= max`` for each resource.

The real server validates after defaulting, and a ``Container`` item's defaults come from its
other bounds (``default`` from ``max``, ``defaultRequest`` from ``default``, then ``min``); the
rule works on those effective values so an undefaulted object is judged the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from . import names
from .fields import Cause, child, duplicate, forbidden, index, invalid, key, required
from .metadata import mapping
from .podspec import container_resource_name, resource_name
from .quantity import format_quantity, parse_quantity

__all__ = ["limit_range", "container_defaults"]

_STANDARD_TYPES = frozenset({"Pod", "Container", "PersistentVolumeClaim"})
_OVERCOMMIT_FORBIDDEN = ("hugepages-",)


def container_defaults(item: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``SetDefaults_LimitRangeItem``: a ``Container`` item's effective ``default`` and
    ``defaultRequest`` (other types keep what they have)."""
    default = dict(mapping(item.get("default")))
    request = dict(mapping(item.get("defaultRequest")))
    if item.get("type") == "Container":
        for name, value in mapping(item.get("max")).items():
            default.setdefault(name, value)
        for name, value in default.items():
            request.setdefault(name, value)
        for name, value in mapping(item.get("min")).items():
            request.setdefault(name, value)
    return default, request


def _type_name(value: str, path: str) -> list[Cause]:
    out = [invalid(path, value, m) for m in names.qualified_name(value)]
    if not out and "/" not in value and value not in _STANDARD_TYPES:
        out.append(invalid(path, value, "must be a standard limit type or fully qualified"))
    return out


def _resource(limit_type: str, name: str, path: str) -> list[Cause]:
    if limit_type in ("Pod", "Container"):
        return container_resource_name(name, path)
    return resource_name(name, path)


def _overcommit_allowed(name: str) -> bool:
    return not name.startswith(_OVERCOMMIT_FORBIDDEN) and ("/" not in name or name.startswith(
        ("kubernetes.io/", "requests.")))


def _bounds(name: str, path: str, q: Mapping[str, Any]) -> list[Cause]:
    """The pairwise checks of one resource, in the Go order; ``q`` maps a bound to its value."""
    def value(bound: str) -> Fraction | None:
        return parse_quantity(q[bound]) if bound in q else None

    def shown(bound: str) -> str:
        return format_quantity(q[bound])

    low, high, dflt, req = value("min"), value("max"), value("default"), value("defaultRequest")
    out: list[Cause] = []
    at = {b: key(child(path, b), name) for b in ("min", "default", "defaultRequest")}
    if low is not None and high is not None and low > high:
        out.append(invalid(at["min"], shown("min"),
                           f"min value {shown('min')} is greater than max value {shown('max')}"))
    if req is not None and low is not None and low > req:
        out.append(invalid(at["defaultRequest"], shown("defaultRequest"),
                           f"min value {shown('min')} is greater than default request value "
                           f"{shown('defaultRequest')}"))
    if req is not None and high is not None and req > high:
        out.append(invalid(at["defaultRequest"], shown("defaultRequest"),
                           f"default request value {shown('defaultRequest')} is greater than "
                           f"max value {shown('max')}"))
    if req is not None and dflt is not None and req > dflt:
        out.append(invalid(at["defaultRequest"], shown("defaultRequest"),
                           f"default request value {shown('defaultRequest')} is greater than "
                           f"default limit value {shown('default')}"))
    if dflt is not None and low is not None and low > dflt:
        out.append(invalid(at["default"], shown("min"), f"min value {shown('min')} is greater "
                           f"than default value {shown('default')}"))
    if dflt is not None and high is not None and dflt > high:
        out.append(invalid(at["default"], shown("max"), f"default value {shown('default')} is "
                           f"greater than max value {shown('max')}"))
    ratio = value("maxLimitRequestRatio")
    rpath = key(child(path, "maxLimitRequestRatio"), name)
    if ratio is not None and ratio < 1:
        out.append(invalid(rpath, shown("maxLimitRequestRatio"),
                           f"ratio {shown('maxLimitRequestRatio')} is less than 1"))
    if ratio is not None and low and high is not None and ratio > high / low:
        out.append(invalid(rpath, shown("maxLimitRequestRatio"),
                           f"ratio {shown('maxLimitRequestRatio')} is greater than max/min = "
                           f"{float(high / low):f}"))
    if not _overcommit_allowed(name) and dflt is not None and req is not None and dflt != req:
        out.append(invalid(at["defaultRequest"], shown("defaultRequest"),
                           f"default value {shown('default')} must equal to defaultRequest "
                           f"value {shown('defaultRequest')} in {name}"))
    return out


def _item(item: Mapping[str, Any], path: str, seen: set[str]) -> list[Cause]:
    given = item.get("type")
    limit_type = given if isinstance(given, str) else ""
    out = _type_name(limit_type, child(path, "type"))
    if limit_type in seen:
        out.append(duplicate(child(path, "type"), limit_type))
    seen.add(limit_type)
    default, request = container_defaults(item)
    bounds: dict[str, dict[str, Any]] = {}

    def collect(bound: str, values: Mapping[str, Any]) -> None:
        nonlocal out
        for name in sorted(values):
            out += _resource(limit_type, name, key(child(path, bound), name))
            bounds.setdefault(name, {})[bound] = values[name]

    collect("max", mapping(item.get("max")))
    collect("min", mapping(item.get("min")))
    if limit_type == "Pod":
        for bound, values in (("default", default), ("defaultRequest", request)):
            if values:
                out.append(forbidden(child(path, bound), "may not be specified when `type` is "
                                     "'Pod'"))
    else:
        collect("default", default)
        collect("defaultRequest", request)
    if limit_type == "PersistentVolumeClaim" and "storage" not in mapping(item.get("min")) \
            and "storage" not in mapping(item.get("max")):
        out.append(required(child(path, "limits"), "either minimum or maximum storage value is "
                            "required, but neither was provided"))
    collect("maxLimitRequestRatio", mapping(item.get("maxLimitRequestRatio")))
    for name in sorted(bounds):
        out += _bounds(name, path, bounds[name])
    return out


def limit_range(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    limits = mapping(obj.get("spec")).get("limits")
    out: list[Cause] = []
    seen: set[str] = set()
    for i, item in enumerate(limits if isinstance(limits, list) else []):
        if not isinstance(item, Mapping):
            continue
        out += _item(item, index("spec.limits", i), seen)
    return out
