"""Field sets: which fields of an object a manager owns, as structured-merge-diff computes them.

A field set is a ``set`` of paths; a path is a tuple of FieldsV1 keys: ``f:<name>`` for a map
key, ``k:{"name":"x"}`` for an item of a list keyed by ``name``, ``v:"a"`` for an item of a set
list. Which lists are keyed or sets, and which maps are atomic, comes from :class:`FieldRules`:
:func:`builtin_field_rules` reads a built-in kind's OpenAPI schema (:class:`SchemaFieldRules`,
which also knows the fields every Go object has), :func:`rules_from_schema` a CRD's. Any other
list is atomic (owned as one value), any other map is granular.

* :func:`fields_to_set` / :func:`set_to_fields` -- decode and encode ``fieldsV1`` trees.
* :func:`object_field_set` -- the fields an applied configuration sets.
* :func:`compare` -- added, modified and removed paths between two objects (a create: between
  the type's zero object and the new one).
* :func:`path_string` -- a path as conflict messages print it.

:mod:`.fieldmanager` builds managedFields and server-side apply on top of these.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from dynakube.apiserver.merge.patching import BUILTIN_MERGE_KEYS

__all__ = [
    "Path",
    "FieldSet",
    "MISSING",
    "FieldRules",
    "BUILTIN_FIELD_RULES",
    "SchemaFieldRules",
    "builtin_field_rules",
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

    def always_present(self, path: tuple[str, ...]) -> Any:
        """What a Go object serializes at ``path`` when the field is unset (``{}`` for a struct
        held by value, ``None`` for a list or map without ``omitempty``), or :data:`MISSING`
        when an unset field is simply absent. Unstructured objects (custom resources) have no
        such fields."""
        return MISSING


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


_META_LISTS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("metadata", "finalizers"): (), ("metadata", "ownerReferences"): ("uid",)}
"""ObjectMeta's keyed and set lists, which a custom resource's metadata has too."""


class _Node(NamedTuple):
    """Where a field path lands in a kind's schema."""

    own: Mapping[str, Any]  # the field's own schema (extensions, default)
    target: Mapping[str, Any]  # the schema it refers to
    target_name: str  # that one's component name ('' inline)
    holder_name: str  # the component schema of the struct holding the field
    keep: bool  # a path of schema fields only: the answer may be kept


class SchemaFieldRules(FieldRules):
    """The rules of a built-in kind, read from its OpenAPI schema as structured-merge-diff reads
    kube-apiserver's own models.

    A list is keyed or a set by its ``x-kubernetes-list-type`` (``map`` with its
    ``x-kubernetes-list-map-keys``; no type is atomic), a map, a struct or a list's items are
    atomic by ``x-kubernetes-map-type`` (an object without any schema, a ``RawExtension``, too),
    and a key field's schema default stands in for an omitted key. A struct held by value
    (``default: {}``) and the fields in ``always`` are in every Go object: comparing, such a
    field is never added or removed itself, as in the zero object kube-apiserver compares a
    new object with. ``always`` maps a component schema to those of its fields the schema does
    not show, with their zero values (fields without ``omitempty``).
    """

    _schemas: Mapping[str, Mapping[str, Any]]
    _always: Mapping[str, Mapping[str, Any]]
    # answers kept, as every write asks them again; only for paths of schema fields, which
    # the schema bounds (a path through a map's keys, or off the schema, is worked out again)
    _nodes: dict[tuple[str, ...], _Node]
    _map_values: dict[tuple[str, ...], _Node]  # a map's path: the node of any of its keys
    _atomic: dict[tuple[str, ...], bool]
    _present: dict[tuple[str, ...], Any]

    def __init__(self, root: str, schemas: Mapping[str, Mapping[str, Any]],
                 always: Mapping[str, Mapping[str, Any]] | None = None):
        super().__init__()
        object.__setattr__(self, "_schemas", schemas)
        object.__setattr__(self, "_always", always or {})
        object.__setattr__(self, "_nodes", {(): _Node({}, *self._resolve({"$ref": root}), "",
                                                        True)})
        object.__setattr__(self, "_map_values", {})
        object.__setattr__(self, "_atomic", {})
        object.__setattr__(self, "_present", {})

    def _resolve(self, node: Any) -> tuple[Mapping[str, Any], str]:
        """``node`` with its ``$ref`` (or a one-reference ``allOf``) followed, and the name of
        the component schema it ended at ('' for an inline one)."""
        name = ""
        for _ in range(64):  # references chain, they do not loop
            if not isinstance(node, Mapping):
                break
            ref = node.get("$ref")
            all_of = node.get("allOf")
            if ref is None and isinstance(all_of, list) and len(all_of) == 1 \
                    and isinstance(all_of[0], Mapping):
                ref = all_of[0].get("$ref")
            if not isinstance(ref, str):
                return node, name
            name = ref.rpartition("/")[2]
            node = self._schemas.get(name)
        return {}, ""

    def _node(self, path: tuple[str, ...]) -> _Node | None:
        """Where ``path`` lands in the schema; None off the schema."""
        if path in self._nodes:
            return self._nodes[path]
        if path[:-1] in self._map_values:
            return self._map_values[path[:-1]]
        above = self._node(path[:-1])
        found = None
        if above is not None:
            holder, holder_name = above.target, above.target_name
            while holder.get("type") == "array":  # list items are transparent
                holder, holder_name = self._resolve(holder.get("items"))
            properties = holder.get("properties")
            extra = holder.get("additionalProperties")
            if isinstance(properties, Mapping) and isinstance(properties.get(path[-1]), Mapping):
                own = properties[path[-1]]
                found = _Node(own, *self._resolve(own), holder_name, above.keep)
            elif isinstance(extra, Mapping):
                found = _Node(extra, *self._resolve(extra), "", False)
                if above.keep and not properties:
                    self._map_values[path[:-1]] = found
        if found is not None and found.keep:
            self._nodes[path] = found
        return found

    def _extension(self, path: tuple[str, ...], name: str) -> Any:
        node = self._node(path)
        return None if node is None else node.own.get(name, node.target.get(name))

    def list_keys(self, path: tuple[str, ...]) -> tuple[str, ...] | None:
        list_type = self._extension(path, "x-kubernetes-list-type")
        if list_type == "set":
            return ()
        if list_type == "map":
            return tuple(str(k) for k in self._extension(path, "x-kubernetes-list-map-keys") or ())
        return None

    def elements(self, path: tuple[str, ...], items: list[Any]) -> list[str] | None:
        keys = self.list_keys(path)
        if keys is None:
            return None
        node = self._node(path)
        item = self._resolve(node.target.get("items"))[0] if node is not None else {}
        fields = item.get("properties") or {}
        defaults = {k: fields[k]["default"] for k in keys
                    if isinstance(fields.get(k), Mapping) and "default" in fields[k]}
        return _list_elements(items, keys, defaults)

    def is_atomic(self, path: tuple[str, ...]) -> bool:
        known = self._atomic.get(path)
        if known is None:
            node = self._node(path)
            known = self._find_atomic(node)
            if node is not None and node.keep:
                self._atomic[path] = known
        return known

    def _find_atomic(self, node: _Node | None) -> bool:
        if node is None:
            return False
        own, target = node.own, node.target
        if target.get("type") == "array":  # asked of an item: the items' own schema says
            own, target = {}, self._resolve(target.get("items"))[0]
        if own.get("x-kubernetes-map-type", target.get("x-kubernetes-map-type")) == "atomic":
            return True
        return target.get("type") == "object" and not any(
            k in target for k in ("properties", "additionalProperties",
                                  "x-kubernetes-preserve-unknown-fields"))

    def always_present(self, path: tuple[str, ...]) -> Any:
        """(Read-only: the ``{}`` answered is shared.)"""
        if path in self._present:
            return self._present[path]
        node = self._node(path)
        if node is None or not path:
            return MISSING
        if node.own.get("default") == {} and "properties" in node.target:
            present: Any = {}
        else:
            present = self._always.get(node.holder_name, {}).get(path[-1], MISSING)
        if node.keep:
            self._present[path] = present
        return present


@functools.cache
def builtin_field_rules(schema_name: str) -> SchemaFieldRules:
    """The rules of the built-in kind whose component schema is ``schema_name``."""
    from dynakube.apiserver.kinds.data import BUILTIN_SCHEMAS
    from dynakube.apiserver.kinds.object_defaults import ALWAYS_SERIALIZED

    return SchemaFieldRules(schema_name, BUILTIN_SCHEMAS, ALWAYS_SERIALIZED)


@functools.cache
def _schema_names_by_kind() -> dict[str, str]:
    from dynakube.apiserver.kinds.data import load

    names: dict[str, str] = {}
    for key, schema_name in sorted(load()["kinds"].items()):  # the core group first
        names.setdefault(key.rpartition("/")[2], str(schema_name))
    return {kind: names[kind] for kind in BUILTIN_MERGE_KEYS if kind in names}


class _RulesByKind(Mapping[str, FieldRules]):
    """:data:`BUILTIN_FIELD_RULES`: read from the schemas on first use."""

    def __getitem__(self, kind: str) -> FieldRules:
        return builtin_field_rules(_schema_names_by_kind()[kind])

    def __iter__(self) -> Iterator[str]:
        return iter(_schema_names_by_kind())

    def __len__(self) -> int:
        return len(_schema_names_by_kind())


BUILTIN_FIELD_RULES: Mapping[str, FieldRules] = _RulesByKind()
"""The rules of the built-in kinds by kind name (the core group's where two groups have one):
:func:`builtin_field_rules` of each kind's schema."""


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
        ref = b if b is not MISSING and b is not None else a
        # a null is there but empty: its children are compared, it is not added or removed
        both = a is MISSING or b is MISSING or a is None or b is None or type(a) is type(b)
        if isinstance(ref, dict) and both and not rules.is_atomic(names) and _some(a, b):
            left = a if isinstance(a, dict) else {}
            right = b if isinstance(b, dict) else {}
            for key in list(left) + [k for k in right if k not in left]:
                lhs, rhs = left.get(key, MISSING), right.get(key, MISSING)
                if lhs is MISSING or rhs is MISSING:  # what the Go object has even so
                    zero = rules.always_present(names + (key,))
                    if lhs is MISSING and isinstance(a, dict):
                        lhs = zero
                    if rhs is MISSING and isinstance(b, dict):
                        rhs = zero
                walk(lhs, rhs, path + (f"f:{key}",), names + (key,))
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

