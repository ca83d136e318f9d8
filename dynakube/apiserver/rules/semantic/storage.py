"""PersistentVolumeClaims (and StatefulSet claim templates) and StorageClasses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import names
from .fields import Cause, child, forbidden, invalid, key, not_supported, required
from .godump import go_diff
from .metadata import mapping
from .quantity import parse_quantity
from .selectors import validate_selector

__all__ = ["pvc_spec", "pvc", "storage_class"]

_ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_VOLUME_MODES = ("Block", "Filesystem")
_RECLAIM = ("Delete", "Retain")
_BINDING = ("Immediate", "WaitForFirstConsumer")


def pvc_spec(spec: Any, path: str) -> list[Cause]:
    """``ValidatePersistentVolumeClaimSpec``."""
    spec = mapping(spec)
    out: list[Cause] = []
    modes = spec.get("accessModes") if isinstance(spec.get("accessModes"), list) else []
    if not modes:
        out.append(required(child(path, "accessModes"), "at least 1 access mode is required"))
    if spec.get("selector") is not None:
        out += validate_selector(spec.get("selector"), child(path, "selector"))
    once_pod = other = False
    for mode in modes:
        if mode not in _ACCESS_MODES:
            out.append(not_supported(child(path, "accessModes"), mode, _ACCESS_MODES))
        elif mode == "ReadWriteOncePod":
            once_pod = True
        else:
            other = True
    if once_pod and other:
        out.append(forbidden(child(path, "accessModes"),
                             "may not use ReadWriteOncePod with other access modes"))
    storage_path = key(child(path, "resources"), "storage")
    requests = mapping(mapping(spec.get("resources")).get("requests"))
    if "storage" not in requests:
        out.append(required(storage_path))
    else:
        amount = parse_quantity(requests["storage"])
        if amount is not None and amount <= 0:
            out.append(invalid(storage_path, str(requests["storage"]), "must be greater than zero"))
    klass = spec.get("storageClassName")
    if isinstance(klass, str) and klass:
        out += [invalid(child(path, "storageClassName"), klass, m)
                for m in names.dns1123_subdomain(klass)]
    mode = spec.get("volumeMode")
    if mode is not None and mode not in _VOLUME_MODES:
        out.append(not_supported(child(path, "volumeMode"), mode, _VOLUME_MODES))
    return out


def _resized_back(new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """The new claim's spec as it is compared with the old one: a bound claim may change its
    storage request (a resize), so that one is put back; nothing else is."""
    spec = dict(mapping(new.get("spec")))
    requests = mapping(spec.get("resources")).get("requests")
    if mapping(new.get("status")).get("phase") != "Bound" or not isinstance(requests, Mapping):
        return spec
    requests = dict(requests)
    old_storage = mapping(mapping(mapping(old.get("spec")).get("resources")).get(
        "requests")).get("storage")
    if old_storage is None:
        requests.pop("storage", None)
    else:
        requests["storage"] = old_storage
    spec["resources"] = dict(mapping(spec.get("resources")), requests=requests)
    return spec


def pvc(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    out = pvc_spec(obj.get("spec"), "spec")
    if old is not None:
        compared, old_spec = _resized_back(obj, old), mapping(old.get("spec"))
        if {k: v for k, v in compared.items() if k != "volumeAttributesClassName"} != {
                k: v for k, v in old_spec.items() if k != "volumeAttributesClassName"}:
            out.append(forbidden("spec", "spec is immutable after creation except "
                                 "resources.requests and volumeAttributesClassName for bound "
                                 "claims\n" + go_diff("PersistentVolumeClaimSpec", old_spec,
                                                      compared)))
    return out


def storage_class(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    out: list[Cause] = []
    if old is not None:
        for name in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"):
            if obj.get(name) != old.get(name):
                out.append(invalid(name, obj.get(name), "field is immutable"))
    provisioner = obj.get("provisioner")
    if not provisioner:
        out.append(required("provisioner", ""))
    elif isinstance(provisioner, str):
        out += [invalid("provisioner", provisioner.lower(), m)
                for m in names.qualified_name(provisioner.lower())]
    reclaim = obj.get("reclaimPolicy")
    if reclaim and reclaim not in _RECLAIM:
        out.append(not_supported("reclaimPolicy", reclaim, _RECLAIM))
    binding = obj.get("volumeBindingMode")
    if binding is not None and binding not in _BINDING:
        out.append(not_supported("volumeBindingMode", binding, _BINDING))
    return out
