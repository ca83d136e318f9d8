"""The three PATCH body formats the embedded API server accepts, applied as kube-apiserver does.

* :func:`apply_json_patch` -- RFC 6902 with the quirks of the library kube-apiserver uses
  (``evanphx/json-patch`` v4): ``replace`` of a missing object key adds it, a ``test`` of a
  missing key passes only against ``null``, the root path ``""`` is refused.
* :func:`apply_merge_patch` -- RFC 7386.
* :func:`apply_strategic_merge_patch` -- Kubernetes' strategic merge patch for built-in kinds:
  lists merge by a key per field (:data:`BUILTIN_MERGE_KEYS`), plus the ``$patch``,
  ``$retainKeys``, ``$deleteFromPrimitiveList/<field>`` and ``$setElementOrder/<field>``
  directives.

Every function is pure: inputs are never mutated. Failures raise :class:`PatchError`, whose
``code`` (400 / 422 / 500) and :meth:`PatchError.status` give the ``Status`` body the real server
sends. Message formats:

* 400 (the body is not a patch document): ``json: cannot unmarshal <type> into Go value of type
  jsonpatch.Patch`` (or ``jsonpatch.Operation`` for an element), and strategic-merge format
  errors such as ``Unrecognized $patch directive: "x"``. The ``Status`` message is the text.
* 422 (a JSON patch that cannot be applied): kube-apiserver answers with the fixed message
  ``the server rejected our request due to an error in our request`` and empty ``details``;
  the library's own text (``testing value /data/a failed: test failed``, ``add operation does
  not apply: doc is missing path: "/a/b": missing value``...) is kept in ``PatchError.detail``.
* 500 (a strategic merge patch that contradicts the kind's merge keys, e.g. a list item
  without its merge key): ``Internal error occurred: <text>``, as the real server does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from dynakube.apiserver.kinds.decoding import go_json_kind
from dynakube.errors import DynakubeError

__all__ = [
    "PatchError",
    "MergeKeys",
    "PRIMITIVE_MERGE",
    "REPLACE",
    "BUILTIN_MERGE_KEYS",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
]

UNPROCESSABLE_MESSAGE = "the server rejected our request due to an error in our request"

MergeKeys = Mapping[tuple[str, ...], str]
"""Field-name path (list items are transparent, ``"*"`` matches any one name) -> merge key.

A list whose path is absent is replaced as a whole. :data:`PRIMITIVE_MERGE` marks a list of
scalars merged as a set (``patchStrategy: merge`` without a key, like ``metadata.finalizers``).
"""

PRIMITIVE_MERGE = ""

REPLACE = "$replace"
"""Marks a map field with ``patchStrategy: replace``: a patch replaces it whole."""


class PatchError(DynakubeError):
    """A patch body that is malformed (``code`` 400) or cannot be applied (422, 500)."""

    def __init__(self, message: str, *, code: int = 422, detail: str | None = None):
        self.code = code
        self.message = message
        self.detail = detail
        super().__init__(f"{message}: {detail}" if detail else message)

    def status(self) -> dict[str, Any]:
        """The ``Status`` body kube-apiserver answers with for this failure."""
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Failure"}
        if self.code == 400:
            body.update(message=self.message, reason="BadRequest")
        elif self.code == 422:
            body.update(message=self.message, reason="Invalid", details={})
        else:
            body.update(message=f"Internal error occurred: {self.message}",
                        reason="InternalError", details={"causes": [{"message": self.message}]})
        body["code"] = self.code
        return body


def _failed(detail: str) -> PatchError:
    return PatchError(UNPROCESSABLE_MESSAGE, code=422, detail=detail)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _index(key: str, size: int, *, allow_end: bool) -> int | None:
    if not key.lstrip("-").isdigit():
        return None
    idx = int(key)
    limit = size if allow_end else size - 1
    return idx if 0 <= idx <= limit else None


def _find_parent(doc: Any, path: Any) -> tuple[Any, str] | None:
    """The container holding the last token of ``path`` and that token, or None (missing)."""
    if not isinstance(path, str):
        return None
    parts = path.split("/")
    if len(parts) < 2:
        return None
    node = doc
    for raw in parts[1:-1]:
        part = _unescape(raw)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list):
            idx = _index(part, len(node), allow_end=False)
            node = node[idx] if idx is not None else None
        else:
            return None
        if not isinstance(node, (dict, list)):
            return None
    return node, _unescape(parts[-1])


def _get(con: Any, key: str, path: str, verb: str) -> Any:
    if isinstance(con, dict):
        return con.get(key)
    idx = _index(key, len(con), allow_end=False)
    if idx is None:
        where = "from" if verb == "copy" else "path"
        raise _failed(f"error in {verb} for {where}: '{path}': Unable to access invalid index: "
                      f"{key}: invalid index referenced")
    return con[idx]


def _add(con: Any, key: str, value: Any, path: str) -> None:
    if isinstance(con, dict):
        con[key] = value
        return
    if key == "-":
        con.append(value)
        return
    if not key.lstrip("-").isdigit():
        raise _failed(f"error in add for path: '{path}': value was not a proper array index: "
                      f"'{key}': strconv.Atoi: parsing {json.dumps(key)}: invalid syntax")
    idx = _index(key, len(con), allow_end=True)
    if idx is None:
        raise _failed(f"error in add for path: '{path}': Unable to access invalid index: "
                      f"{key}: invalid index referenced")
    con.insert(idx, value)


def _remove(con: Any, key: str, path: str, verb: str = "remove") -> Any:
    if isinstance(con, dict):
        if key not in con:
            raise _failed(f"error in {verb} for path: '{path}': Unable to remove nonexistent "
                          f"key: {key}: missing value")
        return con.pop(key)
    idx = _index(key, len(con), allow_end=False)
    if idx is None:
        raise _failed(f"error in {verb} for path: '{path}': Unable to access invalid index: "
                      f"{key}: invalid index referenced")
    return con.pop(idx)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return bool(a == b)


def _apply_op(doc: Any, op: dict[str, Any]) -> None:
    kind = op.get("op")
    kind = kind if isinstance(kind, str) else "unknown"
    path = op.get("path")
    if kind not in ("add", "remove", "replace", "move", "copy", "test"):
        raise _failed(f"Unexpected kind: {kind}")
    if not isinstance(path, str):
        raise _failed(f"{kind} operation failed to decode path: missing value")
    if kind in ("move", "copy"):
        source = op.get("from")
        if not isinstance(source, str):
            raise _failed(f"{kind} operation failed to decode from: missing value")
        found = _find_parent(doc, source)
        if found is None:
            raise _failed(f"{kind} operation does not apply: doc is missing from path: "
                          f"{source}: missing value")
        con, key = found
        if kind == "move":
            value = _remove(con, key, source, "move")
        else:
            value = copy.deepcopy(_get(con, key, source, "copy"))
        dest = _find_parent(doc, path)
        if dest is None:
            raise _failed(f"{kind} operation does not apply: doc is missing destination path: "
                          f"{path}: missing value")
        _add(dest[0], dest[1], value, path)
        return
    found = _find_parent(doc, path)
    if found is None:
        quoted = json.dumps(path) if kind in ("add", "remove") else path
        where = "is missing path" if kind == "test" else "doc is missing path"
        raise _failed(f"{kind} operation does not apply: {where}: {quoted}: missing value")
    con, key = found
    value = copy.deepcopy(op.get("value"))
    if kind == "add":
        _add(con, key, value, path)
    elif kind == "remove":
        _remove(con, key, path)
    elif kind == "replace":
        if isinstance(con, dict):
            con[key] = value
        else:
            idx = _index(key, len(con), allow_end=False)
            if idx is None:
                raise _failed(f"replace operation does not apply: doc is missing key: {path}: "
                              "missing value")
            con[idx] = value
    else:  # test
        current = _get(con, key, path, "test")
        if current is None and "value" in op and op["value"] is None:
            return
        if current is None or "value" not in op or not _json_equal(current, op["value"]):
            raise _failed(f"testing value {path} failed: test failed")


def apply_json_patch(doc: Any, operations: Any) -> Any:
    """Apply an RFC 6902 JSON patch (a decoded JSON array of operations) to a copy of ``doc``."""
    if not isinstance(operations, list):
        raise PatchError(f"json: cannot unmarshal {go_json_kind(operations)} into Go value of type "
                         "jsonpatch.Patch", code=400)
    for op in operations:
        if not isinstance(op, dict):
            raise PatchError(f"json: cannot unmarshal {go_json_kind(op)} into Go value of type "
                             "jsonpatch.Operation", code=400)
    result = copy.deepcopy(doc)
    for op in operations:
        _apply_op(result, op)
    return result


def apply_merge_patch(doc: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch: ``null`` deletes, a non-object patch replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


# --- strategic merge patch -------------------------------------------------------------------

_POD_SPEC: dict[tuple[str, ...], str] = {
    ("containers",): "name",
    ("initContainers",): "name",
    ("ephemeralContainers",): "name",
    ("volumes",): "name",
    ("imagePullSecrets",): "name",
    ("hostAliases",): "ip",
    ("topologySpreadConstraints",): "topologyKey",
    ("resourceClaims",): "name",
    ("schedulingGates",): "name",
}
for _c in ("containers", "initContainers", "ephemeralContainers"):
    _POD_SPEC[(_c, "ports")] = "containerPort"
    _POD_SPEC[(_c, "env")] = "name"
    _POD_SPEC[(_c, "volumeMounts")] = "mountPath"
    _POD_SPEC[(_c, "volumeDevices")] = "devicePath"
    _POD_SPEC[(_c, "resizePolicy")] = "resourceName"

_METADATA: dict[tuple[str, ...], str] = {
    ("metadata", "finalizers"): PRIMITIVE_MERGE,
    ("metadata", "ownerReferences"): "uid",
}


def _with_pod_spec(prefix: tuple[str, ...], **extra: str) -> dict[tuple[str, ...], str]:
    table = dict(_METADATA)
    table.update({prefix + path: key for path, key in _POD_SPEC.items()})
    table.update({tuple(k.split(".")): v for k, v in extra.items()})
    return table


_TEMPLATE = ("spec", "template", "spec")
_CONDITIONS = {"status.conditions": "type"}

BUILTIN_MERGE_KEYS: dict[str, dict[tuple[str, ...], str]] = {
    "Pod": _with_pod_spec(("spec",), **_CONDITIONS),
    "Deployment": _with_pod_spec(_TEMPLATE, **_CONDITIONS),
    "ReplicaSet": _with_pod_spec(_TEMPLATE, **_CONDITIONS),
    "StatefulSet": _with_pod_spec(_TEMPLATE, **_CONDITIONS),
    "DaemonSet": _with_pod_spec(_TEMPLATE, **_CONDITIONS),
    "Job": _with_pod_spec(_TEMPLATE, **_CONDITIONS),
    "CronJob": _with_pod_spec(("spec", "jobTemplate", "spec", "template", "spec")),
    "ReplicationController": _with_pod_spec(_TEMPLATE, **_CONDITIONS),
    "PodTemplate": _with_pod_spec(("template", "spec")),
    "ValidatingWebhookConfiguration": {**_METADATA, ("webhooks",): "name"},
    "MutatingWebhookConfiguration": {**_METADATA, ("webhooks",): "name"},
    "Service": {**_METADATA, ("spec", "ports"): "port", ("status", "conditions"): "type"},
    "Namespace": {**_METADATA, ("status", "conditions"): "type"},
    "ConfigMap": dict(_METADATA),
    "Secret": dict(_METADATA),
    "ServiceAccount": {**_METADATA, ("secrets",): "name", ("imagePullSecrets",): "name"},
    "Event": dict(_METADATA),
    "Lease": dict(_METADATA),
    "CustomResourceDefinition": dict(_METADATA),
}
"""List keys of some built-in kinds, hand-kept for server-side apply's field sets
(:mod:`.fieldset`). Strategic merge patch reads each kind's schema instead
(:func:`.strategy.patch_strategies`)."""

_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_ORDER = "$setElementOrder/"


def _merge_key(keys: MergeKeys, path: tuple[str, ...]) -> str | None:
    if path in keys:
        return keys[path]
    for pattern, key in keys.items():
        if len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path,
                                                                            strict=True)):
            return key
    return None


def _check_directive(value: Any) -> str:
    if value not in ("replace", "delete", "merge"):
        raise PatchError(f"Unrecognized $patch directive: {json.dumps(value)}", code=400)
    return str(value)


def _smp_map(original: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...],
             keys: MergeKeys) -> dict[str, Any] | None:
    directive = _check_directive(patch[_DIRECTIVE]) if _DIRECTIVE in patch else "merge"
    if directive == "delete":
        return None
    if directive == "replace":
        return _smp_map({}, {k: v for k, v in patch.items() if k != _DIRECTIVE}, path, keys)
    result = dict(original)
    if _RETAIN in patch:
        retain = patch[_RETAIN]
        if not isinstance(retain, list):
            raise PatchError("invalid patch format for retainKeys: must be a list", code=400)
        result = {k: v for k, v in result.items() if k in retain}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN):
            continue
        if key.startswith(_ORDER):
            if not isinstance(value, list):
                raise PatchError(f"invalid patch format for {key}: must be a list", code=400)
            orders[key[len(_ORDER):]] = value
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE):]
            if not isinstance(value, list):
                raise PatchError(f"invalid patch format for {key}: must be a list", code=400)
            current = result.get(field)
            if isinstance(current, list):
                result[field] = [x for x in current if x not in value]
            continue
        if value is None:
            result.pop(key, None)
            continue
        child = path + (key,)
        current = result.get(key)
        if isinstance(value, dict) and _merge_key(keys, child) == REPLACE:
            result[key] = _fresh(value, child, keys)
        elif isinstance(value, dict):
            merged = _smp_map(current if isinstance(current, dict) else {}, value, child, keys)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _smp_list(current if isinstance(current, list) else [], value, child,
                                    keys)
        else:
            result[key] = copy.deepcopy(value)
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _reorder(result[field], order, _merge_key(keys, path + (field,)))
    return result


def _fresh(item: Any, path: tuple[str, ...], keys: MergeKeys) -> Any:
    """A patch value with nothing to merge into: directives and nulls are dropped."""
    if isinstance(item, dict):
        return _smp_map({}, item, path, keys)
    if isinstance(item, list):
        return _smp_list([], item, path, keys)
    return copy.deepcopy(item)


def _go_value(value: Any) -> str:
    """``value`` as Go's ``%v`` prints a decoded JSON value: ``map[name:web port:80]``."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _smp_list(original: list[Any], patch: list[Any], path: tuple[str, ...],
              keys: MergeKeys) -> list[Any]:
    key = _merge_key(keys, path)
    replace = {_DIRECTIVE: "replace"} in patch
    items = [p for p in patch if p != {_DIRECTIVE: "replace"}]
    if key is None:
        return [v for v in (_fresh(i, path, keys) for i in items) if v is not None]
    result = [] if replace else list(original)
    if key == PRIMITIVE_MERGE:
        for item in items:
            if item not in result:
                result.append(copy.deepcopy(item))
        return _patch_order(result, original, items, None)
    for item in items:
        if not isinstance(item, dict) or key not in item:
            raise PatchError(f"map: {_go_value(item)} does not contain declared merge key: "
                             f"{key}", code=500)
        at = [i for i, o in enumerate(result) if isinstance(o, dict) and o.get(key) == item[key]]
        if item.get(_DIRECTIVE) == "delete":
            result = [o for i, o in enumerate(result) if i not in at]
            continue
        merged = _smp_map(result[at[0]] if at else {}, item, path, keys)
        if at:
            result[at[0]] = merged
        elif merged is not None:
            result.append(merged)
    return _patch_order([o for o in result if o is not None], original, items, key)


def _patch_order(merged: list[Any], original: list[Any], patch: list[Any],
                 key: str | None) -> list[Any]:
    """apimachinery's ``normalizeElementOrder``: the patch's items in the patch's order,
    merged with the server-only items by their live order; so a new item goes first."""
    def ident(item: Any) -> str:
        if key and isinstance(item, dict):
            return json.dumps(item.get(key), sort_keys=True)
        return json.dumps(item, sort_keys=True)

    patch_rank = {ident(p): i for i, p in reversed(list(enumerate(patch)))}
    live_rank = {ident(o): i for i, o in reversed(list(enumerate(original)))}
    from_patch = sorted((m for m in merged if ident(m) in patch_rank),
                        key=lambda m: patch_rank[ident(m)])
    server_only = [m for m in merged if ident(m) not in patch_rank]
    out: list[Any] = []
    while server_only or from_patch:
        if server_only and (not from_patch or (
                ident(from_patch[0]) in live_rank
                and live_rank[ident(server_only[0])] < live_rank[ident(from_patch[0])])):
            out.append(server_only.pop(0))
        else:
            out.append(from_patch.pop(0))
    return out


def _reorder(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    def ident(item: Any) -> Any:
        if key and isinstance(item, dict):
            return json.dumps(item.get(key), sort_keys=True)
        return json.dumps(item, sort_keys=True)

    rank = {ident(o): i for i, o in enumerate(order)}
    listed = sorted((i for i in items if ident(i) in rank), key=lambda i: rank[ident(i)])
    return listed + [i for i in items if ident(i) not in rank]


def apply_strategic_merge_patch(doc: Mapping[str, Any], patch: Any,
                                merge_keys: MergeKeys | None) -> dict[str, Any]:
    """Apply a strategic merge patch to a copy of ``doc``.

    ``merge_keys`` is the kind's table (``BUILTIN_MERGE_KEYS.get(kind)``); ``None`` or an empty
    table means every list is replaced as a whole, as for a kind without patch metadata.
    """
    if not isinstance(patch, dict):
        raise PatchError(f"json: cannot unmarshal {go_json_kind(patch)} into Go value of type "
                         "map[string]interface {}", code=400)
    merged = _smp_map(copy.deepcopy(dict(doc)), patch, (), merge_keys or {})
    return merged if merged is not None else {}

