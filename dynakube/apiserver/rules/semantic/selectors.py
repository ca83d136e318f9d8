"""Label selectors: ``ValidateLabelSelector``, whether one converts to a selector at all, and
whether it matches a set of labels (what ties a workload to its pod template)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import names
from .fields import Cause, child, forbidden, index, invalid, required, sorted_map
from .metadata import label_map

__all__ = ["validate_selector", "converts", "matches", "render", "is_empty"]

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def render(selector: Any) -> Any:
    """A ``LabelSelector`` as Go's JSON encoder writes it (``omitempty``, maps sorted)."""
    if not isinstance(selector, Mapping):
        return None
    out: dict[str, Any] = {}
    if selector.get("matchLabels"):
        out["matchLabels"] = sorted_map(selector["matchLabels"])
    if selector.get("matchExpressions"):
        exprs = []
        for e in selector["matchExpressions"]:
            if not isinstance(e, Mapping):
                continue
            item: dict[str, Any] = {"key": e.get("key", ""), "operator": e.get("operator", "")}
            if e.get("values"):
                item["values"] = e["values"]
            exprs.append(item)
        out["matchExpressions"] = exprs
    return out


def is_empty(selector: Any) -> bool:
    return isinstance(selector, Mapping) and not selector.get("matchLabels") and \
        not selector.get("matchExpressions")


def _expressions(selector: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    exprs = selector.get("matchExpressions")
    return [e for e in exprs if isinstance(e, Mapping)] if isinstance(exprs, list) else []


def validate_selector(selector: Any, path: str) -> list[Cause]:
    if not isinstance(selector, Mapping):
        return []
    out = label_map(selector.get("matchLabels"), child(path, "matchLabels"))
    for i, expr in enumerate(_expressions(selector)):
        epath = index(child(path, "matchExpressions"), i)
        op, values = expr.get("operator"), expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                out.append(required(child(epath, "values"),
                                    "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                out.append(forbidden(child(epath, "values"), "may not be specified when "
                                     "`operator` is 'Exists' or 'DoesNotExist'"))
        else:
            out.append(invalid(child(epath, "operator"), op, "not a valid selector operator"))
        out += [invalid(child(epath, "key"), expr.get("key", ""), m)
                for m in names.qualified_name(str(expr.get("key", "")))]
        for j, v in enumerate(values if isinstance(values, list) else []):
            out += [invalid(index(child(epath, "values"), j), v, m)
                    for m in names.label_value(str(v))]
    return out


def converts(selector: Any) -> bool:
    """Whether ``LabelSelectorAsSelector`` accepts it (``None`` converts to "nothing")."""
    if not isinstance(selector, Mapping):
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if names.qualified_name(str(k)) or names.label_value(str(v)):
            return False
    for expr in _expressions(selector):
        op, values = expr.get("operator"), expr.get("values") or []
        if op not in _OPERATORS or (op in ("In", "NotIn")) != bool(values):
            return False
        if names.qualified_name(str(expr.get("key", ""))):
            return False
    return True


def matches(selector: Any, target: Any) -> bool:
    """Whether ``selector`` selects ``target`` labels; no selector selects nothing."""
    if not isinstance(selector, Mapping):
        return False
    have = target if isinstance(target, Mapping) else {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if have.get(k) != v:
            return False
    for expr in _expressions(selector):
        k, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = k in have
        if op == "In" and not (present and have[k] in values):
            return False
        if op == "NotIn" and present and have[k] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True
