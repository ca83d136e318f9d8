"""What a Pod update may change (``ValidatePodUpdate``): container images, a shorter
``activeDeadlineSeconds``, added tolerations and little else; and the ``resourceVersion`` a
custom resource update must carry."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .fields import Cause, as_int, forbidden, invalid, required
from .godump import go_diff
from .metadata import mapping

__all__ = ["pod_update", "custom_resource_update", "POD_UPDATABLE"]

POD_UPDATABLE = ("`spec.containers[*].image`,`spec.initContainers[*].image`,"
                 "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
                 "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if "
                 "it was previously negative)")
_MAX_INT32 = 2147483647


def _containers(spec: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    items = spec.get(name)
    return [dict(c) for c in items if isinstance(c, Mapping)] if isinstance(items, list) else []


def _image_updates(new: Mapping[str, Any], old: Mapping[str, Any], name: str) -> list[Cause]:
    fresh, before = _containers(new, name), _containers(old, name)
    if len(fresh) != len(before):
        return [forbidden(f"spec.{name}", "pod updates may not add or remove containers")]
    return [required(f"spec.{name}[{i}].image") for i, c in enumerate(fresh)
            if not str(c.get("image") or "").strip()]


def _tolerations_kept(new: Any, old: Any) -> bool:
    fresh = [t for t in new if isinstance(t, Mapping)] if isinstance(new, list) else []
    for tol in old if isinstance(old, list) else []:
        if not isinstance(tol, Mapping):
            continue
        base = {k: v for k, v in tol.items() if k != "tolerationSeconds"}
        if not any({k: v for k, v in t.items() if k != "tolerationSeconds"} == base
                   for t in fresh):
            return False
    return True


def _deadline(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    fresh = as_int(new.get("activeDeadlineSeconds"))
    before = as_int(old.get("activeDeadlineSeconds"))
    if fresh is not None:
        if not 0 <= fresh <= _MAX_INT32:
            return [invalid("spec.activeDeadlineSeconds", fresh,
                            f"must be between 0 and {_MAX_INT32}, inclusive")]
        if before is not None and before < fresh:
            return [invalid("spec.activeDeadlineSeconds", fresh,
                            "must be less than or equal to previous value")]
    elif before is not None:
        return [invalid("spec.activeDeadlineSeconds", None,
                        "must not update from a positive integer to nil value")]
    return []


def pod_update(obj: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    new_spec, old_spec = mapping(obj.get("spec")), mapping(old.get("spec"))
    out: list[Cause] = []
    for name in ("containers", "initContainers"):
        errs = _image_updates(new_spec, old_spec, name)
        if errs and errs[0]["reason"] == "FieldValueForbidden":
            return out + errs
        out += errs
    out += _deadline(new_spec, old_spec)
    if not _tolerations_kept(new_spec.get("tolerations"), old_spec.get("tolerations")):
        out.append(forbidden("spec.tolerations",
                             "existing toleration can not be modified except its "
                             "tolerationSeconds"))
    munged = copy.deepcopy(dict(new_spec))
    for name in ("containers", "initContainers"):
        fresh, before = _containers(new_spec, name), _containers(old_spec, name)
        if fresh:
            munged[name] = [{**c, "image": b.get("image")} if "image" in b else c
                            for c, b in zip(fresh, before, strict=True)]
    for name in ("activeDeadlineSeconds", "tolerations"):
        munged.pop(name, None)
        if name in old_spec:
            munged[name] = old_spec[name]
    grace, old_grace = munged.get("terminationGracePeriodSeconds"), \
        old_spec.get("terminationGracePeriodSeconds")
    if grace == 1 and isinstance(old_grace, int) and old_grace < 0:
        munged["terminationGracePeriodSeconds"] = old_grace
    if munged != dict(old_spec):
        out.append(forbidden("spec", "pod updates may not change fields other than "
                             + POD_UPDATABLE + "\n" + go_diff("PodSpec", old_spec, munged)))
    return out


def custom_resource_update(obj: Mapping[str, Any]) -> list[Cause]:
    """A custom resource replaced without ``metadata.resourceVersion`` is refused (built-in
    kinds take it as an unconditional update). The real server frames this one with the
    resource, not the kind: ``widgets.example.dynakube.io "w1" is invalid: ...``."""
    if mapping(obj.get("metadata")).get("resourceVersion"):
        return []
    return [invalid("metadata.resourceVersion", 0, "must be specified for an update")]
