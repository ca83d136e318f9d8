"""Field sets: which fields of an object a manager owns, as structured-merge-diff computes them.

A field set is a ``set`` of paths; a path is a tuple of FieldsV1 keys: ``f:<name>`` for a map
key, ``k:{"name":"x"}`` for an item of a list keyed by ``name``, ``v:"a"`` for an item of a set
list. Which lists are keyed or sets, and which maps are atomic, comes from :class:`FieldRules`
(:data:`BUILTIN_FIELD_RULES` for built-in kinds, :func:`rules_from_schema` for CRDs); any other
list is atomic (owned as one value), any other map is granular.

* :func:`fields_to_set` / :func:`set_to_fields` -- decode and encode ``fieldsV1`` trees.
* :func:`object_field_set` -- the fields an applied configuration sets.
* :func:`compare` -- added, modified and removed paths between two objects.
* :func:`path_string` -- a path as conflict messages print it.

:mod:`.fieldmanager` builds managedFields and server-side apply on top of these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dynakube.apiserver.merge.patching import BUILTIN_MERGE_KEYS

__all__ = [
    "Path",
    "FieldSet",
    "MISSING",
    "FieldRules",
    "BUILTIN_FIELD_RULES",
    "rules_from_schema",
    "fields_to_set",
    "set_to_fields",
    "element_rank",
    "object_field_set",
    "compare",
    "ignore_paths",
    "path_string",
]

Path = tuple[str, ...]
FieldSet = set[Path]
MISSING: Any = object()  # "no value here" while two objects are compared or merged
_V = TypeVar("_V")
_STRIP: frozenset[Path] = frozenset(
    {("f:apiVersion",), ("f:kind",), ("f:metadata",)}
    | {("f:metadata", f"f:{n}") for n in ("name", "namespace", "creationTimestamp", "selfLink",
                                          "uid", "clusterName", "generation", "managedFields",
                                          "resourceVersion")})


@dataclass(frozen=True)
class FieldRules:
    """How a kind's lists and maps are owned. Paths are field names only (list items are
    transparent); ``"*"`` matches any one name.

    ``lists`` maps a list's path to its key fields (``()`` for a set of scalars); a list not
    named is atomic. ``atomic`` names maps and structs owned as one value. ``key_defaults``
    maps a keyed list's path to the schema defaults of its key fields: an item that omits such
    a key is identified by the default (``containerPort: 80`` is ``k:{"containerPort":80,
    "protocol":"TCP"}``), as structured-merge-diff does, without owning the omitted field.
    """

    lists: Mapping[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    atomic: frozenset[tuple[str, ...]] = frozenset()
    key_defaults: Mapping[tuple[str, ...], Mapping[str, Any]] = field(default_factory=dict)

    def list_keys(self, path: tuple[str, ...]) -> tuple[str, ...] | None:
        return _lookup(self.lists, path)

    def elements(self, path: tuple[str, ...], items: list[Any]) -> list[str] | None:
        """The path elements of a list's items, or None when the list is owned as one value."""
        keys = self.list_keys(path)
        if keys is None:
            return None
        return _list_elements(items, keys, _lookup(self.key_defaults, path) or {})

    def is_atomic(self, path: tuple[str, ...]) -> bool:
        return path in self.atomic or any(_matches(p, path) for p in self.atomic if "*" in p)


def _lookup(table: Mapping[tuple[str, ...], _V], path: tuple[str, ...]) -> _V | None:
    if path in table:
        return table[path]
    for pattern, value in table.items():
        if _matches(pattern, path):
            return value
    return None


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path,
                                                                            strict=True))


# Server-side apply keys the same lists as strategic merge patch, sometimes by more fields.
_WIDER_KEYS = {"containerPort": ("containerPort", "protocol"), "port": ("port", "protocol"),
               "topologyKey": ("topologyKey", "whenUnsatisfiable")}
_KEY_DEFAULTS = {"containerPort": {"protocol": "TCP"}, "port": {"protocol": "TCP"}}
_SELECTOR = frozenset({("spec", "selector")})


def _builtin_rules(kind: str, merge_keys: Mapping[tuple[str, ...], str]) -> FieldRules:
    lists = {path: (_WIDER_KEYS.get(key, (key,)) if key else ()) for path, key in
             merge_keys.items()}
    if kind == "Namespace":
        lists[("spec", "finalizers")] = ()
    atomic = _SELECTOR if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet",
                                   "Service") else frozenset()
    defaults = {path: _KEY_DEFAULTS[key] for path, key in merge_keys.items()
                if key in _KEY_DEFAULTS}
    return FieldRules(lists, atomic, defaults)


BUILTIN_FIELD_RULES: dict[str, FieldRules] = {
    kind: _builtin_rules(kind, keys) for kind, keys in BUILTIN_MERGE_KEYS.items()}
"""List types of the built-in kinds (their ``x-kubernetes-list-type`` / ``list-map-keys``)."""
_META_LISTS = dict(BUILTIN_FIELD_RULES["ConfigMap"].lists)


def rules_from_schema(schema: Mapping[str, Any]) -> FieldRules:
    """FieldRules from a CRD version's structural schema (``openAPIV3Schema``)."""
    lists: dict[tuple[str, ...], tuple[str, ...]] = dict(_META_LISTS)
    atomic: set[tuple[str, ...]] = set()
    key_defaults: dict[tuple[str, ...], dict[str, Any]] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if not isinstance(node, Mapping):
            return
        list_type = node.get("x-kubernetes-list-type")
        if list_type == "set":
            lists[path] = ()
        elif list_type == "map":
            keys = lists[path] = tuple(node.get("x-kubernetes-list-map-keys") or ())
            item = node.get("items")
            fields = item.get("properties") if isinstance(item, Mapping) else None
            defaults = {k: fields[k]["default"] for k in keys if isinstance(fields, Mapping)
                        and isinstance(fields.get(k), Mapping) and "default" in fields[k]}
            if defaults:
                key_defaults[path] = defaults
        if node.get("x-kubernetes-map-type") == "atomic":
            atomic.add(path)
        for name, sub in (node.get("properties") or {}).items():
            walk(sub, path + (str(name),))
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            walk(extra, path + ("*",))
        walk(node.get("items"), path)

    walk(schema, ())
    return FieldRules(lists, frozenset(atomic), key_defaults)


# --- FieldsV1 encoding -----------------------------------------------------------------------

def _json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _value_rank(value: Any) -> tuple[Any, ...]:
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, tuple(_value_rank(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k, _value_rank(v)) for k, v in sorted(value.items())))
    return (5,)


def element_rank(element: str) -> tuple[Any, ...]:
    """Sort key of a path element, in the order kube-apiserver writes ``fieldsV1``."""
    kind, _, rest = element.partition(":")
    if kind == "f":
        return (0, rest)
    if kind == "k":
        decoded = json.loads(rest)
        return (1, tuple((k, _value_rank(v)) for k, v in sorted(decoded.items())))
    if kind == "v":
        return (2, _value_rank(json.loads(rest)))
    return (3, int(rest) if rest.isdigit() else 0)


def _valid_element(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    kind, sep, rest = key.partition(":")
    if not sep or kind not in ("f", "k", "v", "i"):
        return False
    if kind == "i":
        return rest.isdigit()
    if kind in ("k", "v"):
        try:
            value = json.loads(rest)
        except ValueError:
            return False
        return kind == "v" or (isinstance(value, dict) and bool(value))
    return True


def fields_to_set(fields: Any, *, strict: bool = False) -> FieldSet:
    """Decode a ``fieldsV1`` tree into a field set. Invalid parts are ignored, or with
    ``strict`` raise ``ValueError`` (kube-apiserver then disregards the whole list)."""
    out: FieldSet = set()

    def walk(node: Any, path: Path) -> None:
        if not isinstance(node, Mapping):
            if strict:
                raise ValueError(f"fieldsV1 node {node!r} is not an object")
            return
        if not node and path:
            out.add(path)
        for key, child in node.items():
            if key == ".":
                if path:
                    out.add(path)
            elif _valid_element(key):
                walk(child, path + (key,))
            elif strict:
                raise ValueError(f"fieldsV1 key {key!r} is not a path element")

    walk(fields, ())
    return out


def set_to_fields(paths: Iterable[Path]) -> dict[str, Any]:
    """Encode a field set as a ``fieldsV1`` tree, in the order kube-apiserver writes it."""
    members: set[Path] = set(paths)
    tree: dict[str, Any] = {}
    for path in members:
        node = tree
        for element in path:
            node = node.setdefault(element, {})

    def emit(node: dict[str, Any], path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if node and path in members:
            out["."] = {}
        for key in sorted(node, key=element_rank):
            out[key] = emit(node[key], path + (key,))
        return out

    return emit(tree, ())


def _item_element(item: Any, keys: tuple[str, ...], defaults: Mapping[str, Any]) -> str | None:
    if not keys:
        return None if isinstance(item, (dict, list)) else "v:" + _json(item)
    if not isinstance(item, dict) or any(k not in item and k not in defaults for k in keys):
        return None
    return "k:" + _json({k: item[k] if k in item else defaults[k] for k in keys})


def _list_elements(items: list[Any], keys: tuple[str, ...],
                  defaults: Mapping[str, Any] | None = None) -> list[str] | None:
    """Each item's path element (``defaults`` stand in for omitted key fields), or None when
    the list cannot be owned item by item (an item without its keys, or a duplicate)."""
    elements = [_item_element(i, keys, defaults or {}) for i in items]
    if any(e is None for e in elements) or len(set(elements)) != len(elements):
        return None  # not representable item by item: owned as one value
    return [e for e in elements if e is not None]


def object_field_set(obj: Any, rules: FieldRules | None = None) -> FieldSet:
    """The fields an applied configuration sets (structured-merge-diff's ``ToFieldSet``)."""
    out: FieldSet = set()
    rules = rules or FieldRules()

    def walk(value: Any, path: Path, names: tuple[str, ...]) -> None:
        if isinstance(value, dict) and not rules.is_atomic(names):
            for key, child in value.items():
                walk(child, path + (f"f:{key}",), names + (key,))
            return
        elements = rules.elements(names, value) if isinstance(value, list) else None
        if elements is None:
            out.add(path)
            return
        for element, item in zip(elements, value, strict=True):
            walk(item, path + (element,), names)
            out.add(path + (element,))

    walk(obj, (), ())
    return _strip(out)


def compare(lhs: Any, rhs: Any, rules: FieldRules) -> tuple[FieldSet, FieldSet, FieldSet]:
    """Added, modified and removed paths between two objects (structured-merge-diff Compare)."""
    added: FieldSet = set()
    modified: FieldSet = set()
    removed: FieldSet = set()

    def walk(a: Any, b: Any, path: Path, names: tuple[str, ...]) -> None:
        if a is not MISSING and b is not MISSING and type(a) is type(b) and a == b:
            return
        ref = b if b is not MISSING else a
        both = a is MISSING or b is MISSING or type(a) is type(b)
        if isinstance(ref, dict) and both and not rules.is_atomic(names) and _some(a, b):
            left = a if isinstance(a, dict) else {}
            right = b if isinstance(b, dict) else {}
            for key in list(left) + [k for k in right if k not in left]:
                walk(left.get(key, MISSING), right.get(key, MISSING), path + (f"f:{key}",),
                     names + (key,))
        elif isinstance(ref, list) and both and _some(a, b) and rules.list_keys(names) is not None:
            left_items = a if isinstance(a, list) else []
            right_items = b if isinstance(b, list) else []
            le = rules.elements(names, left_items)
            re_ = rules.elements(names, right_items)
            if le is None or re_ is None:
                _leaf(a, b, path)
                return
            lmap = dict(zip(le, left_items, strict=True))
            rmap = dict(zip(re_, right_items, strict=True))
            for element in le + [e for e in re_ if e not in lmap]:
                walk(lmap.get(element, MISSING), rmap.get(element, MISSING),
                     path + (element,), names)
        else:
            _leaf(a, b, path)
            return
        if a is MISSING:
            added.add(path)
        elif b is MISSING:
            removed.add(path)

    def _leaf(a: Any, b: Any, path: Path) -> None:
        if a is MISSING:
            added.add(path)
        elif b is MISSING:
            removed.add(path)
        elif type(a) is not type(b) or a != b:
            modified.add(path)

    walk(lhs, rhs, (), ())
    return _strip(added), _strip(modified), _strip(removed)


def _some(a: Any, b: Any) -> bool:
    """False when both sides are missing or empty: then the node is compared as one value."""
    return (a is not MISSING and bool(a)) or (b is not MISSING and bool(b))


def _strip(paths: FieldSet) -> FieldSet:
    return {p for p in paths if p and p not in _STRIP}


def ignore_paths(paths: FieldSet, ignore_fields: Iterable[tuple[str, ...]]) -> FieldSet:
    """``paths`` without those under the field-name paths ``ignore_fields``."""
    prefixes = [tuple(f"f:{n}" for n in names) for names in ignore_fields]
    return {p for p in paths if not any(p[:len(x)] == x for x in prefixes)}


def path_string(path: Path) -> str:
    """A field path as conflict messages print it: ``.spec.containers[name="web"].image``."""
    out = []
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            out.append("." + rest)
        elif kind == "k":
            pairs = json.loads(rest)
            out.append("[" + ",".join(f"{k}={_json(v)}" for k, v in sorted(pairs.items())) + "]")
        elif kind == "v":
            out.append(f"[={rest}]")
        else:
            out.append(f"[{rest}]")
    return "".join(out)

