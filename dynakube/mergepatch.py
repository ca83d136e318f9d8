"""kubectl's client-side apply patch, computed purely: three-way patches and last-applied.

``kubectl apply`` (without ``--server-side``) keeps the file it applied last in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation and sends a patch made
from three documents: that *original*, the *modified* file and the *current* live object.
Fields the file sets are changed where the live object differs; fields the file stopped
setting (present in the original, absent now) are removed; everything else, such as an
env var another manager added, is left alone.

* :func:`three_way_strategic_patch` is apimachinery's ``CreateThreeWayMergePatch`` (built-in
  kinds): lists merge by the key their schema names, with the ``$retainKeys``,
  ``$setElementOrder/`` and ``$deleteFromPrimitiveList/`` directives kubectl emits.
* :func:`three_way_merge_patch` is ``CreateThreeWayJSONMergePatch`` (custom resources).
* :func:`modified_configuration` is the object with its annotation, serialized exactly as
  kubectl serializes it (Go's ``encoding/json``: sorted keys, ``<>&`` escaped, a final
  newline), so kubectl and dynakube can take turns applying the same object.

The patch strategies come in as data (a :class:`PatchSchema`, which ``dynakube.schema``
builds from the server's OpenAPI v3); nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from ._record import Record
from .errors import InvalidArgumentError

__all__ = ["LAST_APPLIED", "PatchMeta", "PatchSchema", "NO_SCHEMA", "go_json",
           "modified_configuration", "original_configuration", "three_way_strategic_patch",
           "three_way_merge_patch"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


class PatchMeta(Record):
    """One field's ``x-kubernetes-patch-strategy`` (split at commas) and merge key."""

    strategies: tuple[str, ...] = ()
    merge_key: str = ""


class PatchSchema(Protocol):
    """The patch metadata of an object's fields, one level at a time."""

    def lookup(self, key: str) -> tuple[PatchMeta, PatchSchema]:
        """``key``'s metadata and the schema of its value (of its items, for a list)."""
        ...


class _NoSchema:
    """No strategies anywhere: maps merge, lists are replaced whole."""

    def lookup(self, key: str) -> tuple[PatchMeta, PatchSchema]:
        return PatchMeta(), self


NO_SCHEMA: PatchSchema = _NoSchema()


# -- kubectl's serialization --------------------------------------------------------------

_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                             "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _go_float(value: float) -> str:
    """``encoding/json``'s float64: positional from 1e-6 to 1e21, else ``1e-7`` style."""
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidArgumentError(f"{value} cannot be written as JSON")
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if 1e-6 <= abs(value) < 1e21:
        return format(Decimal(repr(value)), "f")
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    sign, digits = exponent[0], exponent[1:].lstrip("0") or "0"
    return f"{mantissa}e{sign}{digits}"


def go_json(value: Any) -> str:
    """``value`` as Go's ``json.Marshal`` writes a decoded object (what kubectl stores)."""
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{go_json(str(k))}:{go_json(value[k])}"
                              for k in sorted(value)) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).translate(_GO_ESCAPES)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    raise InvalidArgumentError(f"a {type(value).__name__} cannot be written as JSON")


def modified_configuration(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` with the last-applied annotation kubectl gives it: the object itself without
    that annotation (``annotations: {}`` when there is no other), as Go's JSON, plus a
    newline (kubectl's encoder ends with one)."""
    meta = obj.get("metadata")
    meta = dict(meta) if isinstance(meta, Mapping) else {}
    annotations = meta.get("annotations")
    annotations = {k: v for k, v in (annotations or {}).items() if k != LAST_APPLIED} \
        if isinstance(annotations, Mapping) else {}
    text = go_json({**obj, "metadata": {**meta, "annotations": annotations}}) + "\n"
    return json.loads(go_json({**obj, "metadata": {
        **meta, "annotations": {**annotations, LAST_APPLIED: text}}}))


def original_configuration(live: Mapping[str, Any]) -> dict[str, Any] | None:
    """The configuration last applied to ``live`` (None: it has no annotation, or it does
    not parse, which kubectl treats as no annotation too)."""
    meta = live.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    text = annotations.get(LAST_APPLIED) if isinstance(annotations, Mapping) else None
    if not isinstance(text, str) or not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


# -- JSON as Go decodes it ----------------------------------------------------------------

def _kind(value: Any) -> str:
    """The Go type of a decoded JSON value: every number is a float64."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "map" if isinstance(value, Mapping) else "slice"


def _equal(a: Any, b: Any) -> bool:
    """``reflect.DeepEqual`` of two decoded documents (``True`` is not ``1``)."""
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _text(value: Any) -> str:
    """Go's ``%v``, which strategic merge sorts and matches list items by."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "<nil>" if value is None else str(value)


def _split_strategies(meta: PatchMeta) -> tuple[bool, str]:
    """``(retainKeys?, the other strategy)``; two strategies must include retainKeys."""
    strategies = [s for s in meta.strategies if s]
    retain = "retainKeys" in strategies
    others = [s for s in strategies if s != "retainKeys"]
    if len(others) > 1 or len(strategies) > 2:
        raise InvalidArgumentError(f"unexpected patch strategy: {','.join(strategies)}")
    return retain, others[0] if others else ""


# -- strategic merge: the diff ------------------------------------------------------------

class _Diff(Record):
    ignore_deletions: bool = False
    ignore_changes: bool = False  # IgnoreChangesAndAdditions
    retain_keys: bool = False  # BuildRetainKeysDirective


def _diff_maps(original: Mapping[str, Any], modified: Mapping[str, Any], schema: PatchSchema,
               opts: _Diff) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    retain: list[str] = []
    for key, new in modified.items():
        if opts.retain_keys and new is not None:
            retain.append(key)
        if key not in original:
            if not opts.ignore_changes:
                patch[key] = new
            continue
        old = original[key]
        if key == _DIRECTIVE:
            if _text(old) != _text(new):
                patch[key] = new
            continue
        if _kind(old) != _kind(new):
            if not opts.ignore_changes:
                patch[key] = new
            continue
        if isinstance(old, Mapping):
            _diff_map_field(key, old, new, patch, schema, opts)
        elif isinstance(old, list):
            _diff_list_field(key, old, new, patch, schema, opts)
        elif not opts.ignore_changes and not _equal(old, new):
            patch[key] = new
    if not opts.ignore_deletions:
        patch.update({key: None for key in original if key not in modified})
    extra = any(v is not None and k not in modified for k, v in original.items())
    if retain and (patch or extra):
        patch[_RETAIN_KEYS] = sorted(retain)
    return patch


def _diff_map_field(key: str, old: Mapping[str, Any], new: Mapping[str, Any],
                    patch: dict[str, Any], schema: PatchSchema, opts: _Diff) -> None:
    meta, sub = schema.lookup(key)
    retain, strategy = _split_strategies(meta)
    if strategy == "replace":  # as apimachinery: a replaced map is always sent whole
        patch[key] = new
        return
    value = _diff_maps(old, new, sub, opts.replace(retain_keys=retain))
    if value:
        patch[key] = value


def _diff_list_field(key: str, old: list[Any], new: list[Any], patch: dict[str, Any],
                     schema: PatchSchema, opts: _Diff) -> None:
    meta, sub = schema.lookup(key)
    retain, strategy = _split_strategies(meta)
    if strategy != "merge":
        if not opts.ignore_changes and not _equal(old, new):
            patch[key] = new
        return
    added, deleted, order = _diff_lists(old, new, sub, meta.merge_key,
                                        opts.replace(retain_keys=retain))
    if added:
        patch[key] = added
    if deleted:
        patch[_DELETE_PRIMITIVE + key] = deleted
    if order:
        patch[_SET_ORDER + key] = order


def _list_kind(*lists: list[Any]) -> str:
    kinds = {_kind(v) for items in lists for v in items}
    if "slice" in kinds:
        raise InvalidArgumentError("lists of lists are not supported by strategic merge patch")
    if len(kinds) > 1:
        raise InvalidArgumentError(f"list element types are not identical: {list(lists)}")
    return kinds.pop() if kinds else "nil"


def _key_of(item: Any, merge_key: str) -> Any:
    if not isinstance(item, Mapping) or merge_key not in item:
        raise InvalidArgumentError(f"map: {item} does not contain declared merge key: "
                                   f"{merge_key}")
    return item[merge_key]


def _diff_lists(old: list[Any], new: list[Any], schema: PatchSchema, merge_key: str,
                opts: _Diff) -> tuple[list[Any], list[Any], list[Any]]:
    if _list_kind(old[:1] or new[:1]) == "map":
        added, deleted = _diff_lists_of_maps(old, new, schema, merge_key, opts)
        added = _normalize_order(added, new, merge_key, "map") + deleted
        same = len(old) == len(new) and all(
            _equal(_key_of(a, merge_key), _key_of(b, merge_key))
            for a, b in zip(old, new, strict=True))
        order: list[Any] = []
        if (not opts.ignore_changes and (added or not same)) or \
                (not opts.ignore_deletions and added):
            order = [{merge_key: item.get(merge_key)} for item in new]
        return added, [], order
    added, deleted = _diff_lists_of_scalars(old, new, opts)
    added = _normalize_order(added, new, "", "scalar")
    changed = (not opts.ignore_deletions and deleted) or \
        (not opts.ignore_changes and not _equal(old, new))
    return added, deleted, list(new) if changed else []


def _diff_lists_of_maps(old: list[Any], new: list[Any], schema: PatchSchema, merge_key: str,
                        opts: _Diff) -> tuple[list[Any], list[Any]]:
    def ordered(items: list[Any]) -> list[tuple[str, Any]]:
        return sorted(((_text(_key_of(i, merge_key)), i) for i in items), key=lambda p: p[0])

    patch: list[Any] = []
    deletions: list[Any] = []
    olds, news = ordered(old), ordered(new)
    i = j = 0
    while i < len(olds) or j < len(news):
        if i < len(olds) and j < len(news) and olds[i][0] == news[j][0]:
            value = _diff_maps(olds[i][1], news[j][1], schema, opts)
            if value:
                value[merge_key] = news[j][1][merge_key]
                patch.append(value)
            i, j = i + 1, j + 1
        elif i >= len(olds) or (j < len(news) and olds[i][0] > news[j][0]):
            if not opts.ignore_changes:
                patch.append(news[j][1])
            j += 1
        else:
            if not opts.ignore_deletions:
                deletions.append({_DIRECTIVE: "delete", merge_key: olds[i][1][merge_key]})
            i += 1
    return patch, deletions


def _diff_lists_of_scalars(old: list[Any], new: list[Any],
                           opts: _Diff) -> tuple[list[Any], list[Any]]:
    olds = sorted(old, key=_text)
    news = sorted(new, key=_text)
    added: list[Any] = []
    deleted: list[Any] = []
    i = j = 0
    while i < len(olds) or j < len(news):
        a = _text(olds[i]) if i < len(olds) else None
        b = _text(news[j]) if j < len(news) else None
        if a is not None and b is not None and a == b:
            i, j = i + 1, j + 1
        elif b is None or (a is not None and a < b):
            if not opts.ignore_deletions:
                deleted.append(olds[i])
            i += 1
        else:
            if not opts.ignore_changes:
                added.append(news[j])
            j += 1
    return added, _deduplicate(deleted)


def _deduplicate(items: list[Any]) -> list[Any]:
    """apimachinery's ``deduplicateScalars``, order quirks included (a duplicate's place is
    taken by the last item)."""
    items = list(items)
    last = len(items) - 1
    i = 0
    while i < last:
        j = i + 1
        while j <= last:
            if _equal(items[i], items[j]):
                items[j] = items[last]
                items.pop()
                last -= 1
                j -= 1
            j += 1
        i += 1
    return items


def _index(order: list[Any], item: Any, merge_key: str, kind: str) -> int:
    for i, candidate in enumerate(order):
        if kind == "map":
            if isinstance(candidate, Mapping) and isinstance(item, Mapping) and \
                    _equal(candidate.get(merge_key), item.get(merge_key)):
                return i
        elif _equal(candidate, item):
            return i
    return -1


def _normalize_order(items: list[Any], order: list[Any], merge_key: str,
                     kind: str) -> list[Any]:
    """``items`` in the order of ``order``; ``$patch: delete`` entries last."""
    deletes: list[Any] = []
    if kind == "map":
        for item in [*items, *order]:
            _key_of(item, merge_key)
        deletes = [i for i in items if i.get(_DIRECTIVE) == "delete"]
        items = [i for i in items if i.get(_DIRECTIVE) != "delete"]
    return sorted(items, key=lambda i: _index(order, i, merge_key, kind)) + deletes


# -- strategic merge: merging the deletions with the changes ------------------------------

def _merge_maps(original: Mapping[str, Any], patch: Mapping[str, Any],
                schema: PatchSchema) -> dict[str, Any]:
    """apimachinery's ``mergeMap`` of two patches (its options all off)."""
    if _DIRECTIVE in patch:
        if patch[_DIRECTIVE] == "replace":
            return {k: v for k, v in patch.items() if k != _DIRECTIVE}
        if patch[_DIRECTIVE] == "delete":
            return {}
        raise InvalidArgumentError(f"Unrecognized $patch directive: {patch[_DIRECTIVE]!r}")
    result = dict(original)
    for key, value in patch.items():
        if key == _RETAIN_KEYS or key.startswith(_SET_ORDER):
            if key in result and not _equal(result[key], value):
                raise InvalidArgumentError(f"the two patches disagree on {key}")
            result[key] = value
            continue
        if key.startswith(_DELETE_PRIMITIVE) or value is None or key not in result:
            result[key] = value
            continue
        current = result[key]
        if _kind(current) != _kind(value):
            result[key] = value
        elif isinstance(current, Mapping):
            meta, sub = schema.lookup(key)
            keep_whole = _split_strategies(meta)[1] == "replace"
            result[key] = value if keep_whole else _merge_maps(current, value, sub)
        elif isinstance(current, list):
            meta, sub = schema.lookup(key)
            if _split_strategies(meta)[1] == "merge":
                result[key] = _merge_lists(current, value, sub, meta.merge_key)
            else:
                result[key] = value
        else:
            result[key] = value
    return result


def _merge_lists(original: list[Any], patch: list[Any], schema: PatchSchema,
                 merge_key: str) -> list[Any]:
    if not original and not patch:
        return original
    kind = _list_kind(original, patch)
    if kind != "map":
        merged = _deduplicate(original + patch)
    else:
        if not merge_key:
            raise InvalidArgumentError("cannot merge lists without merge key")
        original = list(original)
        plain: list[Any] = []
        for item in patch:
            directive = item.get(_DIRECTIVE)
            if directive is None:
                plain.append(item)
            elif directive == "delete":
                key = _key_of(item, merge_key)
                original = [o for o in original if not _equal(o.get(merge_key), key)]
            elif directive == "replace":
                original, plain = [i for i in patch if _DIRECTIVE not in i], []
                break
            else:
                raise InvalidArgumentError(f"Unrecognized $patch directive: {directive!r}")
        merged = list(original)  # ``original`` stays the server's order (without additions)
        for item in plain:
            key = _key_of(item, merge_key)
            at = next((n for n, o in enumerate(original)
                       if _equal(o.get(merge_key), key)), None)
            if at is None:
                merged.append(item)
            else:
                merged[at] = original[at] = _merge_maps(original[at], item, schema)
        patch = plain
    in_patch = [m for m in merged if _index(patch, m, merge_key, kind) >= 0]
    server_only = [m for m in merged if _index(patch, m, merge_key, kind) < 0]
    return _interleave(_normalize_order(server_only, original, merge_key, kind),
                       _normalize_order(in_patch, patch, merge_key, kind),
                       original, merge_key, kind)


def _interleave(left: list[Any], right: list[Any], order: list[Any], merge_key: str,
                kind: str) -> list[Any]:
    """apimachinery's ``mergeSortedSlice``: both lists' own orders kept, ``left`` items
    placed before a ``right`` item that comes after them in ``order``."""
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(order, left[i], merge_key, kind)
            ri = _index(order, right[j], merge_key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def three_way_strategic_patch(original: Mapping[str, Any] | None,
                              modified: Mapping[str, Any], current: Mapping[str, Any],
                              schema: PatchSchema) -> dict[str, Any]:
    """``CreateThreeWayMergePatch(original, modified, current, schema, overwrite=true)``.

    The changes from ``current`` to ``modified`` (deletions ignored: what others added
    stays), plus the deletions from ``original`` to ``modified``; ``{}`` when nothing
    would change.
    """
    delta = _diff_maps(current, modified, schema, _Diff(ignore_deletions=True))
    deletions = _diff_maps(original or {}, modified, schema, _Diff(ignore_changes=True))
    return _merge_maps(deletions, delta, schema)


# -- JSON merge patch (custom resources) --------------------------------------------------

def _merge_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """evanphx/json-patch's ``CreateMergePatch`` of two objects."""
    out: dict[str, Any] = {}
    for key, new in b.items():
        if key not in a or _kind(a[key]) != _kind(new):
            out[key] = new
        elif isinstance(new, Mapping):
            sub = _merge_diff(a[key], new)
            if sub:
                out[key] = sub
        elif not _equal(a[key], new):
            out[key] = new
    out.update({key: None for key in a if key not in b})
    return out


def _filter_nulls(patch: Mapping[str, Any], keep_null: bool) -> dict[str, Any]:
    """Only the deletions (``keep_null``) or only the additions and changes of a patch."""
    out: dict[str, Any] = {}
    for key, value in patch.items():
        if value is None:
            if keep_null:
                out[key] = None
        elif isinstance(value, Mapping):
            if not value:  # an explicitly empty map is a value, not an empty patch
                if not keep_null:
                    out[key] = value
                continue
            sub = _filter_nulls(value, keep_null)
            if sub:
                out[key] = sub
        elif not keep_null:
            out[key] = value
    return out


def _merge_patches(doc: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        current = doc.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            doc[key] = _merge_patches(dict(current), value)
        else:
            doc[key] = value
    return doc


def three_way_merge_patch(original: Mapping[str, Any] | None, modified: Mapping[str, Any],
                          current: Mapping[str, Any]) -> dict[str, Any]:
    """``CreateThreeWayJSONMergePatch`` with kubectl's preconditions (``apiVersion``,
    ``kind`` and ``metadata.name`` must not change)."""
    changes = _filter_nulls(_merge_diff(current, modified), keep_null=False)
    deletions = _filter_nulls(_merge_diff(original or {}, modified), keep_null=True)
    patch = _merge_patches(deletions, changes)
    meta = patch.get("metadata")
    changed: list[str] = [k for k in ("apiVersion", "kind") if k in patch]
    if isinstance(meta, Mapping) and "name" in meta:
        changed.append("metadata.name")
    if changed:
        raise InvalidArgumentError(
            f"precondition failed for: {', '.join(changed)}: the file names another object "
            "than the one on the server")
    return patch
