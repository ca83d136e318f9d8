"""managedFields and server-side apply for the embedded API server, as kube-apiserver records them.

A field set is a ``set`` of paths; a path is a tuple of FieldsV1 keys: ``f:<name>`` for a map
key, ``k:{"name":"x"}`` for an item of a list keyed by ``name``, ``v:"a"`` for an item of a set
list. Which lists are keyed or sets, and which maps are atomic, comes from :class:`FieldRules`
(:data:`BUILTIN_FIELD_RULES` for built-in kinds, :func:`rules_from_schema` for CRDs); any other
list is atomic (owned as one value), any other map is granular.

* :func:`update_managed_fields` -- an ``Update`` (create, replace, patch): the manager gets the
  fields it added or changed, other managers lose them and every removed field.
* :func:`server_side_apply` -- an ``Apply``: merge, prune what the manager stopped applying,
  raise :class:`ApplyConflictError` when another manager owns a field being changed.
* :func:`check_field_manager` -- the 422 ``Status`` for a missing or too long ``fieldManager``.

Known simplifications: no cap of ten Update managers, no version conversion of field sets
(an entry keeps the apiVersion it was recorded with), a no-op apply keeps its previous time.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dynakube.errors import DynakubeError
from dynakube.testing.patching import BUILTIN_MERGE_KEYS, PatchError

__all__ = [
    "FieldRules",
    "BUILTIN_FIELD_RULES",
    "rules_from_schema",
    "fields_to_set",
    "set_to_fields",
    "object_field_set",
    "update_managed_fields",
    "server_side_apply",
    "ApplyConflictError",
    "check_field_manager",
    "default_manager",
    "format_time",
    "path_string",
    "FIELD_MANAGER_MAX_LENGTH",
]

Path = tuple[str, ...]
FieldSet = set[Path]
_MISSING: Any = object()
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
    named is atomic. ``atomic`` names maps and structs owned as one value.
    """

    lists: Mapping[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    atomic: frozenset[tuple[str, ...]] = frozenset()

    def list_keys(self, path: tuple[str, ...]) -> tuple[str, ...] | None:
        return _lookup(self.lists, path)

    def is_atomic(self, path: tuple[str, ...]) -> bool:
        return path in self.atomic or any(_matches(p, path) for p in self.atomic if "*" in p)


def _lookup(table: Mapping[tuple[str, ...], tuple[str, ...]],
            path: tuple[str, ...]) -> tuple[str, ...] | None:
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
_SELECTOR = frozenset({("spec", "selector")})


def _builtin_rules(kind: str, merge_keys: Mapping[tuple[str, ...], str]) -> FieldRules:
    lists = {path: (_WIDER_KEYS.get(key, (key,)) if key else ()) for path, key in
             merge_keys.items()}
    if kind == "Namespace":
        lists[("spec", "finalizers")] = ()
    atomic = _SELECTOR if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet",
                                   "Service") else frozenset()
    return FieldRules(lists, atomic)


BUILTIN_FIELD_RULES: dict[str, FieldRules] = {
    kind: _builtin_rules(kind, keys) for kind, keys in BUILTIN_MERGE_KEYS.items()}
"""List types of the built-in kinds (their ``x-kubernetes-list-type`` / ``list-map-keys``)."""
_META_LISTS = dict(BUILTIN_FIELD_RULES["ConfigMap"].lists)


def rules_from_schema(schema: Mapping[str, Any]) -> FieldRules:
    """FieldRules from a CRD version's structural schema (``openAPIV3Schema``)."""
    lists: dict[tuple[str, ...], tuple[str, ...]] = dict(_META_LISTS)
    atomic: set[tuple[str, ...]] = set()

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if not isinstance(node, Mapping):
            return
        list_type = node.get("x-kubernetes-list-type")
        if list_type == "set":
            lists[path] = ()
        elif list_type == "map":
            lists[path] = tuple(node.get("x-kubernetes-list-map-keys") or ())
        if node.get("x-kubernetes-map-type") == "atomic":
            atomic.add(path)
        for name, sub in (node.get("properties") or {}).items():
            walk(sub, path + (str(name),))
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            walk(extra, path + ("*",))
        walk(node.get("items"), path)

    walk(schema, ())
    return FieldRules(lists, frozenset(atomic))


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


def _element_rank(element: str) -> tuple[Any, ...]:
    kind, _, rest = element.partition(":")
    if kind == "f":
        return (0, rest)
    if kind == "k":
        decoded = json.loads(rest)
        return (1, tuple((k, _value_rank(v)) for k, v in sorted(decoded.items())))
    if kind == "v":
        return (2, _value_rank(json.loads(rest)))
    return (3, int(rest) if rest.isdigit() else 0)


def fields_to_set(fields: Any) -> FieldSet:
    """Decode a ``fieldsV1`` tree into a field set (invalid parts are ignored)."""
    out: FieldSet = set()

    def walk(node: Any, path: Path) -> None:
        if not isinstance(node, Mapping):
            return
        if not node and path:
            out.add(path)
        for key, child in node.items():
            if key == ".":
                if path:
                    out.add(path)
            elif isinstance(key, str) and key[:2] in ("f:", "k:", "v:", "i:"):
                walk(child, path + (key,))

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
        for key in sorted(node, key=_element_rank):
            out[key] = emit(node[key], path + (key,))
        return out

    return emit(tree, ())


def _item_element(item: Any, keys: tuple[str, ...]) -> str | None:
    if not keys:
        return None if isinstance(item, (dict, list)) else "v:" + _json(item)
    if not isinstance(item, dict) or any(k not in item for k in keys):
        return None
    return "k:" + _json({k: item[k] for k in keys})


def _list_elements(items: list[Any], keys: tuple[str, ...]) -> list[str] | None:
    elements = [_item_element(i, keys) for i in items]
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
        keys = rules.list_keys(names) if isinstance(value, list) else None
        elements = _list_elements(value, keys) if keys is not None else None
        if elements is None:
            out.add(path)
            return
        for element, item in zip(elements, value, strict=True):
            walk(item, path + (element,), names)
            out.add(path + (element,))

    walk(obj, (), ())
    return _strip(out)


def _compare(lhs: Any, rhs: Any, rules: FieldRules) -> tuple[FieldSet, FieldSet, FieldSet]:
    """Added, modified and removed paths between two objects (structured-merge-diff Compare)."""
    added: FieldSet = set()
    modified: FieldSet = set()
    removed: FieldSet = set()

    def walk(a: Any, b: Any, path: Path, names: tuple[str, ...]) -> None:
        if a is not _MISSING and b is not _MISSING and type(a) is type(b) and a == b:
            return
        ref = b if b is not _MISSING else a
        both = a is _MISSING or b is _MISSING or type(a) is type(b)
        if isinstance(ref, dict) and both and not rules.is_atomic(names) and _some(a, b):
            left = a if isinstance(a, dict) else {}
            right = b if isinstance(b, dict) else {}
            for key in list(left) + [k for k in right if k not in left]:
                walk(left.get(key, _MISSING), right.get(key, _MISSING), path + (f"f:{key}",),
                     names + (key,))
        elif isinstance(ref, list) and both and _some(a, b) and rules.list_keys(names) is not None:
            keys = rules.list_keys(names) or ()
            left_items = a if isinstance(a, list) else []
            right_items = b if isinstance(b, list) else []
            le = _list_elements(left_items, keys)
            re_ = _list_elements(right_items, keys)
            if le is None or re_ is None:
                _leaf(a, b, path)
                return
            lmap = dict(zip(le, left_items, strict=True))
            rmap = dict(zip(re_, right_items, strict=True))
            for element in le + [e for e in re_ if e not in lmap]:
                walk(lmap.get(element, _MISSING), rmap.get(element, _MISSING),
                     path + (element,), names)
        else:
            _leaf(a, b, path)
            return
        if a is _MISSING:
            added.add(path)
        elif b is _MISSING:
            removed.add(path)

    def _leaf(a: Any, b: Any, path: Path) -> None:
        if a is _MISSING:
            added.add(path)
        elif b is _MISSING:
            removed.add(path)
        elif type(a) is not type(b) or a != b:
            modified.add(path)

    walk(lhs, rhs, (), ())
    return _strip(added), _strip(modified), _strip(removed)


def _some(a: Any, b: Any) -> bool:
    """False when both sides are missing or empty: then the node is compared as one value."""
    return (a is not _MISSING and bool(a)) or (b is not _MISSING and bool(b))


def _strip(paths: FieldSet) -> FieldSet:
    return {p for p in paths if p and p not in _STRIP}


def _ignore(paths: FieldSet, ignore_fields: Iterable[tuple[str, ...]]) -> FieldSet:
    prefixes = [tuple(f"f:{n}" for n in names) for names in ignore_fields]
    return {p for p in paths if not any(p[:len(x)] == x for x in prefixes)}


# --- managedFields entries -------------------------------------------------------------------

@dataclass
class _Entry:
    manager: str
    operation: str
    api_version: str
    subresource: str
    time: str | None
    fields: FieldSet

    @property
    def ident(self) -> tuple[str, str, str, str]:
        version = self.api_version if self.operation == "Update" else ""
        return (self.manager, self.operation, version, self.subresource)

    def label(self) -> str:
        """How kube-apiserver names this manager in a conflict message."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def identifier(self) -> str:
        """The JSON manager identifier kube-apiserver sorts conflicting managers by."""
        ident: dict[str, str] = {"manager": self.manager, "operation": self.operation}
        if self.operation == "Update":
            ident["apiVersion"] = self.api_version
        if self.subresource:
            ident["subresource"] = self.subresource
        return json.dumps(ident, separators=(",", ":"))

    def encode(self) -> dict[str, Any]:
        out: dict[str, Any] = {"apiVersion": self.api_version, "fieldsType": "FieldsV1",
                               "fieldsV1": set_to_fields(self.fields), "manager": self.manager,
                               "operation": self.operation}
        if self.subresource:
            out["subresource"] = self.subresource
        if self.time is not None:
            out["time"] = self.time
        return out


def _decode(entries: Any) -> dict[tuple[str, str, str, str], _Entry] | None:
    """Entries by manager identity; None when ``entries`` is not a valid managedFields list."""
    if not isinstance(entries, list):
        return None
    out: dict[tuple[str, str, str, str], _Entry] = {}
    for raw in entries:
        if not isinstance(raw, Mapping) or raw.get("operation") not in ("Apply", "Update"):
            return None
        if raw.get("fieldsType", "FieldsV1") != "FieldsV1":
            return None
        time = raw.get("time")
        entry = _Entry(str(raw.get("manager") or ""), str(raw["operation"]),
                       str(raw.get("apiVersion") or ""), str(raw.get("subresource") or ""),
                       time if isinstance(time, str) else None,
                       fields_to_set(raw.get("fieldsV1") or {}))
        out[entry.ident] = entry
    return out


def _managed_of(obj: Mapping[str, Any] | None) -> Any:
    metadata = obj.get("metadata") if obj else None
    return metadata.get("managedFields") if isinstance(metadata, Mapping) else None


def _decode_live_or_new(old: Mapping[str, Any] | None, new: Mapping[str, Any],
                        subresource: str) -> dict[tuple[str, str, str, str], _Entry]:
    """managedFields sent in the request win (``[]`` / ``[{}]`` reset them), else the live ones."""
    requested = _managed_of(new)
    if not subresource and isinstance(requested, list):
        if requested == [] or requested == [{}]:
            return {}
        decoded = _decode(requested)
        if decoded:
            return decoded
    return _decode(_managed_of(old)) or {}


def _without_managed(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    out = copy.deepcopy(dict(obj or {}))
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return out


def _encode(entries: Iterable[_Entry]) -> list[dict[str, Any]]:
    kept = [e for e in entries if e.fields]
    kept.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource))
    return [e.encode() for e in kept]


def update_managed_fields(old_obj: Mapping[str, Any] | None, new_obj: Mapping[str, Any], *,
                          manager: str, api_version: str, time: str | None,
                          operation: str = "Update", subresource: str | None = None,
                          rules: FieldRules | None = None,
                          ignore_fields: Iterable[tuple[str, ...]] = ()) -> list[dict[str, Any]]:
    """The managedFields after an Update (create, replace, non-apply patch) by ``manager``.

    ``old_obj`` is the stored object (None for a create), ``new_obj`` the object about to be
    stored (after defaulting, before server-set fields such as a Namespace's status). The
    managedFields in ``new_obj`` are honoured as kube-apiserver does: a non-empty valid list
    replaces the stored one, ``[]`` / ``[{}]`` resets it. ``time`` is None for a scale
    subresource (the real server records no time there). ``ignore_fields`` lists field-name
    paths the request may not set (``("status",)`` on the main resource of a kind with a
    status subresource). An empty result means: drop ``metadata.managedFields``.
    """
    if operation != "Update":
        raise ValueError("update_managed_fields records Update operations; use server_side_apply")
    rules = rules or FieldRules()
    managed = _decode_live_or_new(old_obj, new_obj, subresource or "")
    added, modified, removed = _compare(_without_managed(old_obj), _without_managed(new_obj),
                                        rules)
    ignore = list(ignore_fields)
    changed = _ignore(added | modified, ignore)
    removed = _ignore(removed, ignore)
    for entry in managed.values():
        entry.fields -= changed | removed
    if changed:
        me = _Entry(manager, "Update", api_version, subresource or "", time, set(changed))
        previous = managed.get(me.ident)
        if previous is not None:
            me.fields |= previous.fields
        managed[me.ident] = me
    return _encode(managed.values())


# --- server-side apply ------------------------------------------------------------------------

class ApplyConflictError(DynakubeError):
    """An apply would change fields another manager owns; ``conflicts`` is (field, manager label).

    :meth:`status` renders the 409 ``Status`` kube-apiserver sends.
    """

    def __init__(self, conflicts: list[tuple[str, str]], message: str | None = None):
        self.conflicts = list(conflicts)
        if message is None:
            groups: dict[str, list[str]] = {}
            for path, manager in self.conflicts:
                groups.setdefault(manager, []).append(path)
            message = _conflict_message(list(groups.items()))
        self.message = message
        super().__init__(self.message)

    def status(self) -> dict[str, Any]:
        causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {manager}",
                   "field": path} for path, manager in self.conflicts]
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": "Conflict", "details": {"causes": causes},
                "code": 409}


def _conflict_message(groups: list[tuple[str, list[str]]]) -> str:
    total = sum(len(paths) for _, paths in groups)
    if total == 1:
        return f"Apply failed with 1 conflict: conflict with {groups[0][0]}: {groups[0][1][0]}"
    lines: list[str] = []
    for label, paths in groups:
        lines.append(f"conflicts with {label}:")
        lines.extend(f"- {p}" for p in paths)
    return f"Apply failed with {total} conflicts: " + "\n".join(lines)


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


def _merge(live: Any, applied: Any, rules: FieldRules, names: tuple[str, ...]) -> Any:
    if isinstance(live, dict) and isinstance(applied, dict) and not rules.is_atomic(names):
        out = dict(live)
        for key, value in applied.items():
            out[key] = _merge(live.get(key, _MISSING), value, rules, names + (key,))
        return out
    keys = rules.list_keys(names)
    if isinstance(live, list) and isinstance(applied, list) and keys is not None:
        merged = _merge_list(live, applied, keys, rules, names)
        if merged is not None:
            return merged
    return copy.deepcopy(applied)


def _merge_list(live: list[Any], applied: list[Any], keys: tuple[str, ...], rules: FieldRules,
                names: tuple[str, ...]) -> list[Any] | None:
    """structured-merge-diff's list merge: applied order, live-only items kept in place."""
    lpes, rpes = _list_elements(live, keys), _list_elements(applied, keys)
    if lpes is None or rpes is None:
        return None
    lmap = dict(zip(lpes, live, strict=True))
    rmap = dict(zip(rpes, applied, strict=True))
    shared = [pe for pe in rpes if pe in lmap]
    next_shared = shared.pop(0) if shared else None
    out: list[Any] = []
    done: set[str] = set()
    li = ri = 0
    while li < len(lpes) or ri < len(rpes):
        if li < len(lpes) and ri < len(rpes):
            pe = lpes[li]
            if pe == rpes[ri]:
                done.add(pe)
                out.append(_merge(lmap[pe], rmap[pe], rules, names))
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in rmap and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(lpes):
            pe = lpes[li]
            if pe not in rmap:
                out.append(lmap[pe])
                li += 1
                continue
            if pe in done:
                li += 1
                continue
        if ri < len(rpes):
            pe = rpes[ri]
            done.add(pe)
            out.append(_merge(lmap.get(pe, _MISSING), rmap[pe], rules, names))
            ri += 1
            if next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out


def _prune(obj: Any, remove: FieldSet, rules: FieldRules) -> Any:
    """Drop the paths in ``remove`` (and containers left empty by it) from ``obj``."""
    def walk(value: Any, path: Path, names: tuple[str, ...]) -> tuple[bool, Any]:
        if isinstance(value, dict) and not rules.is_atomic(names):
            out = {}
            for key, child in value.items():
                keep, new = walk(child, path + (f"f:{key}",), names + (key,))
                if keep:
                    out[key] = new
            return not (path in remove and not out), out
        keys = rules.list_keys(names) if isinstance(value, list) else None
        elements = _list_elements(value, keys) if keys is not None else None
        if elements is None:
            return path not in remove, value
        items = []
        for element, item in zip(elements, value, strict=True):
            keep, new = walk(item, path + (element,), names)
            if keep:
                items.append(new)
        return not (path in remove and not items), items

    return walk(obj, (), ())[1]


def _drop_nulls(value: Any) -> Any:
    """An applied ``null`` sets nothing (and so owns nothing)."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def server_side_apply(live: Mapping[str, Any] | None, applied: Mapping[str, Any], *,
                      manager: str, force: bool, api_version: str, time: str,
                      rules: FieldRules | None = None,
                      ignore_fields: Iterable[tuple[str, ...]] = ()) -> dict[str, Any]:
    """The object after ``manager`` applies ``applied`` to ``live`` (None: not created yet).

    The result carries the new ``metadata.managedFields`` (the key is dropped when empty);
    identity fields (uid, resourceVersion, creationTimestamp...) are whatever ``live`` had, so
    for a create the caller fills them in. Raises :class:`ApplyConflictError` (409) when
    another manager owns a field this apply changes and ``force`` is false, and
    :class:`~dynakube.testing.patching.PatchError` (400) when ``applied`` carries managedFields
    or another apiVersion than the request's.
    """
    version = applied.get("apiVersion")
    if isinstance(version, str) and version != api_version:
        raise PatchError("Incorrect version specified in apply patch. Specified patch version: "
                         f"{version}, expected: {api_version}", code=400)
    if _managed_of(applied) is not None:
        raise PatchError("metadata.managedFields must be nil", code=400)
    rules = rules or FieldRules()
    ignore = list(ignore_fields)
    managed = _decode(_managed_of(live)) or {}
    before = _without_managed(live)
    config = _drop_nulls(_without_managed(applied))
    merged = _merge(before, config, rules, ())
    applied_set = _ignore(object_field_set(config, rules), ignore)
    me = _Entry(manager, "Apply", api_version, "", time, applied_set)
    previous = managed.get(me.ident)
    if previous is not None and previous.fields:
        others: FieldSet = set()
        for ident, entry in managed.items():
            if ident != me.ident:
                others |= entry.fields
        merged = _prune(merged, previous.fields - applied_set - others, rules)
    added, modified, removed = _compare(before, merged, rules)
    changed = _ignore(added | modified, ignore)
    removed = _ignore(removed, ignore)
    groups: list[tuple[_Entry, list[Path]]] = []
    for ident, entry in managed.items():
        clash = entry.fields & changed if ident != me.ident else set()
        if clash:
            groups.append((entry, sorted(clash, key=lambda p: [_element_rank(e) for e in p])))
    if groups and not force:
        groups.sort(key=lambda g: g[0].identifier())
        conflicts = [(path_string(p), e.label()) for e, paths in groups for p in paths]
        message = _conflict_message([(e.label(), [path_string(p) for p in paths])
                                     for e, paths in groups])
        raise ApplyConflictError(conflicts, message)
    for ident, entry in managed.items():
        if ident != me.ident:
            entry.fields -= changed | removed
    if previous is not None and merged == before:
        me.time = previous.time or time
    managed[me.ident] = me
    entries = _encode(managed.values())
    result: dict[str, Any] = merged if isinstance(merged, dict) else {}
    metadata = result.setdefault("metadata", {})
    if entries:
        metadata["managedFields"] = entries
    return result


# --- request checks ---------------------------------------------------------------------------

FIELD_MANAGER_MAX_LENGTH = 128


def check_field_manager(field_manager: str | None, *, apply: bool,
                        options_kind: str = "PatchOptions") -> dict[str, Any] | None:
    """The 422 ``Status`` for a bad ``fieldManager`` query parameter, or None when it is fine.

    ``options_kind`` is ``CreateOptions`` / ``UpdateOptions`` / ``PatchOptions`` by verb.
    """
    if apply and not field_manager:
        cause = {"reason": "FieldValueRequired", "field": "fieldManager",
                 "message": "Required value: is required for apply patch"}
    elif field_manager and len(field_manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        cause = {"reason": "FieldValueTooLong", "field": "fieldManager",
                 "message": f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"}
    else:
        return None
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f'{options_kind}.meta.k8s.io "" is invalid: fieldManager: '
                       f'{cause["message"]}',
            "reason": "Invalid",
            "details": {"kind": options_kind, "group": "meta.k8s.io", "causes": [cause]},
            "code": 422}


def default_manager(field_manager: str | None, user_agent: str | None) -> str:
    """The manager an Update is recorded under: ``fieldManager``, else the User-Agent's product
    (``python-requests/2.32`` -> ``python-requests``)."""
    if field_manager:
        return field_manager
    return (user_agent or "").split("/")[0]


def format_time(seconds: float | None = None) -> str:
    """A managedFields / creationTimestamp time: ``2026-11-22T02:26:13Z`` (UTC, no fraction)."""
    import time as _time

    return _time.strftime("%Y-%m-%dT%H:%M:%SZ",
                          _time.gmtime(_time.time() if seconds is None else seconds))
