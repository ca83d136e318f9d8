"""The ``LimitRanger`` admission plugin for a new Pod: default resources, then min and max.

A namespace's LimitRanges of type ``Container`` give every container its default limits and
requests where it has none (recorded in the ``kubernetes.io/limit-ranger`` annotation), and
refuse a container above a ``max`` or below a ``min``. Pods are not mutated on update: their
containers' resources cannot change there anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dynakube.apiserver.kinds.podspec_defaults import AdmissionRefused, mapping, quantity

__all__ = ["admit_limit_ranges"]

Obj = dict[str, Any]
_ANNOTATION = "kubernetes.io/limit-ranger"


def _container_items(limit_range: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    limits = (limit_range.get("spec") or {}).get("limits") or []
    return [i for i in limits if isinstance(i, dict) and i.get("type") == "Container"]


def _merge(container: Obj, requests: Mapping[str, Any], limits: Mapping[str, Any],
           prefix: str, notes: list[str]) -> None:
    resources = dict(mapping(container, "resources"))
    set_for: dict[str, list[str]] = {"request": [], "limit": []}
    for kind, defaults, word in (("limits", limits, "limit"), ("requests", requests, "request")):
        given = dict(resources.get(kind) or {})
        for key, value in defaults.items():
            if key not in given:
                given[key] = value
                set_for[word].append(key)
        if given:
            resources[kind] = given
    container["resources"] = resources
    for word in ("request", "limit"):
        if set_for[word]:
            notes.append(f"{', '.join(sorted(set_for[word]))} {word} for {prefix} "
                         f"{container.get('name')}")


def _check(container: Mapping[str, Any], item: Mapping[str, Any]) -> None:
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for key, bound in (item.get("min") or {}).items():
        if key not in requests:
            raise AdmissionRefused(f"minimum {key} usage per Container is {bound}.  No request "
                                   "is specified")
        if quantity(requests[key]) < quantity(bound):
            raise AdmissionRefused(f"minimum {key} usage per Container is {bound}, but request "
                                   f"is {requests[key]}")
    for key, bound in (item.get("max") or {}).items():
        if key not in limits:
            raise AdmissionRefused(f"maximum {key} usage per Container is {bound}.  No limit "
                                   "is specified")
        if quantity(limits[key]) > quantity(bound):
            raise AdmissionRefused(f"maximum {key} usage per Container is {bound}, but limit "
                                   f"is {limits[key]}")


def admit_limit_ranges(pod: Obj, limit_ranges: list[Mapping[str, Any]]) -> None:
    """Apply ``limit_ranges`` (the namespace's stored LimitRanges) to a Pod being created."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    for limit_range in limit_ranges:
        requests: dict[str, Any] = {}
        limits: dict[str, Any] = {}
        for item in _container_items(limit_range):
            requests.update(item.get("defaultRequest") or {})
            limits.update(item.get("default") or {})
        notes: list[str] = []
        for group, prefix in (("containers", "container"), ("initContainers", "init container")):
            for container in spec.get(group) or []:
                if isinstance(container, dict):
                    _merge(container, requests, limits, prefix, notes)
        if notes:
            meta = pod.setdefault("metadata", {})
            annotations = dict(mapping(meta, "annotations"))
            annotations[_ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
            meta["annotations"] = annotations
        for item in _container_items(limit_range):
            for group in ("containers", "initContainers"):
                for container in spec.get(group) or []:
                    if isinstance(container, dict):
                        _check(container, item)
