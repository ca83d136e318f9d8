"""ResourceQuotas (``ValidateResourceQuotaSpec``): standard quota resources, whole numbers
for the object counts, nothing below zero, and known scopes."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .fields import Cause, invalid, key
from .metadata import mapping
from .podspec import STANDARD_RESOURCES, resource_name
from .quantity import parse_quantity

__all__ = ["resource_quota", "canonical_quantity"]

_COUNTS = frozenset({"pods", "services", "replicationcontrollers", "resourcequotas", "secrets",
                     "configmaps", "persistentvolumeclaims", "services.nodeports",
                     "services.loadbalancers"})
_SCOPES = frozenset({"Terminating", "NotTerminating", "BestEffort", "NotBestEffort",
                     "PriorityClass", "CrossNamespacePodAffinity", "VolumeAttributesClass"})


def _is_quota_resource(name: str) -> bool:
    return name in STANDARD_RESOURCES or name.startswith(("count/", "requests.hugepages-")) \
        or name.endswith(".storageclass.storage.k8s.io/requests.storage")


def canonical_quantity(value: Any) -> str:
    """A quantity as ``resource.Quantity.String`` writes it, for the few shapes validation
    shows: whole numbers bare, fractions in milli-units."""
    amount = parse_quantity(value)
    if amount is None:
        return str(value)
    if amount.denominator == 1:
        return str(amount.numerator)
    milli = amount * 1000
    return f"{milli.numerator}m" if milli.denominator == 1 else str(value)


def resource_quota(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    hard = mapping(spec.get("hard"))
    out: list[Cause] = []
    for name in sorted(hard):
        path = key("spec.hard", name)
        out += resource_name(name, path)
        if "/" not in name and not _is_quota_resource(name):
            out.append(invalid(path, name, "must be a standard resource for quota"))
        amount = parse_quantity(hard[name])
        if amount is not None and amount < 0:
            out.append(invalid(path, canonical_quantity(hard[name]),
                               "must be greater than or equal to 0"))
        if (name in _COUNTS or name.startswith("count/")) and amount is not None \
                and (amount * 1000) % 1000 != Fraction(0):
            out.append(invalid(path, canonical_quantity(hard[name]), "must be an integer"))
    scopes = spec.get("scopes") if isinstance(spec.get("scopes"), list) else None
    for scope in scopes or []:
        if scope not in _SCOPES:
            out.append(invalid("spec.scopes", scopes, "unsupported scope"))
    return out
