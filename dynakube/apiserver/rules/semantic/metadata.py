"""Object metadata (``ValidateObjectMeta``) and ConfigMap content.

Names follow each kind's rule (DNS label, DNS subdomain or, for RBAC, a URL path segment);
labels, annotations and finalizers follow ``k8s.io/apimachinery``'s formats; ConfigMap keys
must be usable as file names and the whole object must fit in etcd's 1 MiB.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from . import names
from .fields import Cause, child, forbidden, invalid, key, required, too_long

__all__ = [
    "MAX_OBJECT_DATA",
    "name_rule",
    "object_meta",
    "label_map",
    "annotation_map",
    "finalizer",
    "configmap",
    "decoded_size",
    "mapping",
]

MAX_OBJECT_DATA = 1024 * 1024
_MAX_ANNOTATIONS = 256 * 1024
_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
_LABEL_NAMED = frozenset({("", "Namespace"), ("", "Service")})
_RBAC = "rbac.authorization.k8s.io"

NameRule = Callable[[str], list[str]]


def name_rule(group: str, kind: str) -> NameRule:
    """The name format of a kind: Namespaces and Services are DNS labels, RBAC objects URL
    path segments, everything else (custom resources too) a DNS subdomain."""
    if (group, kind) in _LABEL_NAMED:
        return names.dns1123_label
    if group == _RBAC:
        return names.path_segment_name
    return names.dns1123_subdomain


def _mask_trailing_dash(prefix: str) -> str:
    """A generateName may end in ``-``: Go checks it as if that were a letter."""
    return prefix[:-1] + "a" if len(prefix) > 1 and prefix.endswith("-") else prefix


def label_map(value: Any, path: str) -> list[Cause]:
    """``ValidateLabels``: qualified-name keys and label values, each problem its own cause."""
    if not isinstance(value, Mapping):
        return []
    out: list[Cause] = []
    for k in sorted(value):
        out += [invalid(path, k, m) for m in names.qualified_name(str(k))]
        v = value[k]
        if isinstance(v, str):
            out += [invalid(path, v, m) for m in names.label_value(v)]
    return out


def annotation_map(value: Any, path: str) -> list[Cause]:
    """``ValidateAnnotations``: qualified-name keys (case-insensitive) and 256 KiB in all."""
    if not isinstance(value, Mapping):
        return []
    out: list[Cause] = []
    total = 0
    for k in sorted(value):
        out += [invalid(path, k, m) for m in names.qualified_name(str(k).lower())]
        v = value[k]
        total += len(str(k).encode()) + (len(v.encode()) if isinstance(v, str) else 0)
    if total > _MAX_ANNOTATIONS:
        out.append(too_long(path, _MAX_ANNOTATIONS))
    return out


def finalizer(value: str, path: str, indexed_path: str | None = None) -> list[Cause]:
    """A finalizer is a qualified name, and fully qualified unless it is a standard one."""
    out = [invalid(path, value, m) for m in names.qualified_name(value)]
    if "/" not in value and value not in _STANDARD_FINALIZERS:
        out.append(invalid(indexed_path or path, value,
                           "name is neither a standard finalizer name nor is it fully qualified"))
    return out


def object_meta(meta: Any, rule: NameRule, *, update: bool, custom: bool = False,
                path: str = "metadata") -> list[Cause]:
    """``ValidateObjectMeta`` (create) or the parts ``ValidateObjectMetaUpdate`` re-checks."""
    if not isinstance(meta, Mapping):
        return []
    out: list[Cause] = []
    if not update:
        generate = meta.get("generateName")
        if isinstance(generate, str) and generate:
            out += [invalid(child(path, "generateName"), generate, m)
                    for m in rule(_mask_trailing_dash(generate))]
        name = meta.get("name")
        if not name:
            out.append(required(child(path, "name"), "name or generateName is required"))
        elif isinstance(name, str):
            out += [invalid(child(path, "name"), name, m) for m in rule(name)]
    out += label_map(meta.get("labels"), child(path, "labels"))
    out += annotation_map(meta.get("annotations"), child(path, "annotations"))
    finalizers = meta.get("finalizers")
    if isinstance(finalizers, list):
        fpath = child(path, "finalizers")
        for f in finalizers:
            if isinstance(f, str):
                out += [invalid(fpath, f, m) for m in names.qualified_name(f)]
        if not custom:
            for i, f in enumerate(finalizers):
                if isinstance(f, str) and "/" not in f and f not in _STANDARD_FINALIZERS:
                    out.append(invalid(f"{fpath}[{i}]", f, "name is neither a standard "
                                       "finalizer name nor is it fully qualified"))
    return out


def mapping(value: Any) -> Mapping[str, Any]:
    """A map field, or an empty one when absent or malformed (decoding reports those)."""
    return value if isinstance(value, Mapping) else {}


def decoded_size(value: Any) -> int:
    """The byte length of a base64 ``data`` value (what the real server stores)."""
    if not isinstance(value, str):
        return 0
    try:
        return len(base64.b64decode("".join(value.split()), validate=False))
    except (binascii.Error, ValueError):
        return len(value)


def configmap(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    """``ValidateConfigMap`` (and, on update, ``immutable: true`` freezing the content)."""
    out: list[Cause] = []
    if old is not None and old.get("immutable") is True:
        if obj.get("immutable") is not True:
            out.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        for name in ("data", "binaryData"):
            if (obj.get(name) or {}) != (old.get(name) or {}):
                out.append(forbidden(name, "field is immutable when `immutable` is set"))
    data, binary = mapping(obj.get("data")), mapping(obj.get("binaryData"))
    total = 0
    for k in sorted(data):
        out += [invalid(key("data", k), k, m) for m in names.config_key(k)]
        if k in binary:
            out.append(invalid(key("data", k), k, "duplicate of key present in binaryData"))
        v = data[k]
        total += len(v.encode()) if isinstance(v, str) else 0
    for k in sorted(binary):
        out += [invalid(key("binaryData", k), k, m) for m in names.config_key(k)]
        total += decoded_size(binary[k])
    if total > MAX_OBJECT_DATA:
        out.append(too_long("[]", MAX_OBJECT_DATA))
    return out
