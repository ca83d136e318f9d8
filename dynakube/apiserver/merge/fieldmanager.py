"""managedFields and server-side apply for the embedded API server, as kube-apiserver records them.

Field sets, the rules saying which lists are keyed and which maps atomic, and the comparison
of two objects live in :mod:`.fieldset`; this module keeps the per-manager entries on top.

* :func:`update_managed_fields` -- an ``Update`` (create, replace, patch): the manager gets the
  fields it added or changed, other managers lose them and every removed field.
* :func:`server_side_apply` -- an ``Apply``: merge, prune what the manager stopped applying,
  raise :class:`ApplyConflictError` when another manager owns a field being changed.
* :func:`check_field_manager` -- the 422 ``Status`` for a missing or too long ``fieldManager``.

At most ten Update entries are kept: the oldest merge into ``ancient-changes`` entries. The
first apply to an object without managedFields hands what it has to ``before-first-apply``.
Known simplifications: no version conversion of field sets (an entry keeps the apiVersion it
was recorded with), a no-op apply keeps its previous time.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dynakube.apiserver.merge.fieldset import (
    MISSING,
    FieldRules,
    FieldSet,
    Path,
    compare,
    element_rank,
    fields_to_set,
    ignore_paths,
    object_field_set,
    path_string,
    set_to_fields,
)
from dynakube.apiserver.merge.patching import PatchError
from dynakube.errors import DynakubeError

__all__ = [
    "update_managed_fields",
    "server_side_apply",
    "ApplyConflictError",
    "check_field_manager",
    "default_manager",
    "format_time",
    "FIELD_MANAGER_MAX_LENGTH",
    "MAX_UPDATE_MANAGERS",
    "ANCIENT_CHANGES",
    "BEFORE_FIRST_APPLY",
]


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
        try:
            fields = fields_to_set(raw.get("fieldsV1") or {}, strict=True)
        except ValueError:
            return None
        entry = _Entry(str(raw.get("manager") or ""), str(raw["operation"]),
                       str(raw.get("apiVersion") or ""), str(raw.get("subresource") or ""),
                       time if isinstance(time, str) else None, fields)
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


MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"


def _cap_update_managers(managed: dict[tuple[str, str, str, str], _Entry]) -> None:
    """kube-apiserver's cap on Update entries: while there are more than ten, the oldest (by
    the second, then by identifier) merge, apiVersion by apiVersion, into one
    :data:`ANCIENT_CHANGES` entry, which takes the time of the last one merged."""
    updaters = [i for i, e in managed.items() if e.operation == "Update" and e.fields]
    count = len(updaters)
    if count <= MAX_UPDATE_MANAGERS:
        return
    updaters.sort(key=lambda i: (managed[i].time or "", managed[i].identifier()))
    first_of: dict[str, tuple[str, str, str, str]] = {}
    for ident in updaters:
        if count <= MAX_UPDATE_MANAGERS:
            break
        entry = managed[ident]
        bucket = (ANCIENT_CHANGES, "Update", entry.api_version, "")
        first = first_of.setdefault(entry.api_version, ident)
        if first == ident or ident == bucket:
            continue
        if bucket not in managed:
            oldest = managed.pop(first)
            managed[bucket] = _Entry(ANCIENT_CHANGES, "Update", entry.api_version, "",
                                     oldest.time, set(oldest.fields))
        managed[bucket].fields |= entry.fields
        managed[bucket].time = entry.time
        del managed[ident]
        count -= 1


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
    added, modified, removed = compare(_without_managed(old_obj), _without_managed(new_obj),
                                        rules)
    ignore = list(ignore_fields)
    changed = ignore_paths(added | modified, ignore)
    removed = ignore_paths(removed, ignore)
    for entry in managed.values():
        entry.fields -= changed | removed
    if changed:
        me = _Entry(manager, "Update", api_version, subresource or "", time, set(changed))
        previous = managed.get(me.ident)
        if previous is not None:
            me.fields |= previous.fields
        managed[me.ident] = me
    _cap_update_managers(managed)
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



def _merge(live: Any, applied: Any, rules: FieldRules, names: tuple[str, ...]) -> Any:
    if isinstance(live, dict) and isinstance(applied, dict) and not rules.is_atomic(names):
        out = dict(live)
        for key, value in applied.items():
            out[key] = _merge(live.get(key, MISSING), value, rules, names + (key,))
        return out
    if isinstance(live, list) and isinstance(applied, list):
        merged = _merge_list(live, applied, rules, names)
        if merged is not None:
            return merged
    return copy.deepcopy(applied)


def _merge_list(live: list[Any], applied: list[Any], rules: FieldRules,
                names: tuple[str, ...]) -> list[Any] | None:
    """structured-merge-diff's list merge: applied order, live-only items kept in place."""
    lpes, rpes = rules.elements(names, live), rules.elements(names, applied)
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
            out.append(_merge(lmap.get(pe, MISSING), rmap[pe], rules, names))
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
        elements = rules.elements(names, value) if isinstance(value, list) else None
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
    :class:`~.patching.PatchError` (400) when ``applied`` carries managedFields
    or another apiVersion than the request's. A live object without managedFields has its
    fields owned first by a :data:`BEFORE_FIRST_APPLY` Update entry, as kube-apiserver does,
    so an apply that changes them conflicts.
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
    if live is not None and not managed:
        added, modified, _ = compare({}, before, rules)
        owned = ignore_paths(added | modified, ignore)
        if owned:
            first = _Entry(BEFORE_FIRST_APPLY, "Update", api_version, "", time, owned)
            managed[first.ident] = first
    config = _drop_nulls(_without_managed(applied))
    merged = _merge(before, config, rules, ())
    applied_set = ignore_paths(object_field_set(config, rules), ignore)
    me = _Entry(manager, "Apply", api_version, "", time, applied_set)
    previous = managed.get(me.ident)
    if previous is not None and previous.fields:
        others: FieldSet = set()
        for ident, entry in managed.items():
            if ident != me.ident:
                others |= entry.fields
        merged = _prune(merged, previous.fields - applied_set - others, rules)
    added, modified, removed = compare(before, merged, rules)
    changed = ignore_paths(added | modified, ignore)
    removed = ignore_paths(removed, ignore)
    groups: list[tuple[_Entry, list[Path]]] = []
    for ident, entry in managed.items():
        clash = entry.fields & changed if ident != me.ident else set()
        if clash:
            groups.append((entry, sorted(clash, key=lambda p: [element_rank(e) for e in p])))
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
    _cap_update_managers(managed)
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
