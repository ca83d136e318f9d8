"""A tiny garbage collector: what kube-controller-manager's does with ownerReferences.

A real cluster deletes dependents in the background, holds a ``Foreground`` delete until the
dependents are gone, and strips ownerReferences for an ``Orphan`` delete. The embedded server
has no controller manager, so these run synchronously right after the delete that needs them
(a bound Pod among the dependents still stops gracefully: see :mod:`.lifecycle`).
"""

from __future__ import annotations

from typing import Any

from ..call import ApiState
from ..kinds.specs import KindSpec
from ..objects import Obj, deep_copy
from ..storage.store import storage_key

__all__ = ["dependents", "delete_now", "collect_dependents", "finish", "owner_released"]


def dependents(api: ApiState, uid: Any) -> list[tuple[KindSpec, str, Obj]]:
    """Live objects whose ownerReferences name ``uid``, with their kind and storage key."""
    if not uid:
        return []
    specs = {api.bucket(s): s for s in api.table.all() if s is api.table.storage_spec(s)}
    found = []
    for bucket, key in sorted(api.store.dependents_of(str(uid))):
        obj = api.store.get(bucket, key)
        spec = specs.get(bucket)
        if obj is not None and spec is not None:
            found.append((spec, key, obj))
    return found


def delete_now(api: ApiState, spec: KindSpec, key: str) -> None:
    """Delete a stored object as the collector does (under ``write_lock``): a bound Pod
    gracefully, one with finalizers starts terminating, any other leaves storage (and its
    dependents follow). An object a cascade took away already is left alone."""
    api.delete_stored(spec, key)


def collect_dependents(api: ApiState, uid: Any) -> None:
    """Delete the dependents of a deleted owner (those with finalizers start terminating)."""
    for spec, key, _ in dependents(api, uid):
        delete_now(api, spec, key)


def _orphan(api: ApiState, uid: Any) -> None:
    for spec, key, obj in dependents(api, uid):
        updated = deep_copy(obj)
        refs = [r for r in updated["metadata"].get("ownerReferences") or []
                if not (isinstance(r, dict) and r.get("uid") == uid)]
        if refs:
            updated["metadata"]["ownerReferences"] = refs
        else:
            updated["metadata"].pop("ownerReferences", None)
        updated["metadata"]["resourceVersion"] = str(api.store.next_rv())
        api.store.put(api.bucket(spec), key, updated)


def finish(api: ApiState, spec: KindSpec, key: str, finalizer: str) -> None:
    """Complete a ``Foreground`` (``foregroundDeletion``) or ``Orphan`` (``orphan``) delete."""
    obj = api.store.get(api.bucket(spec), key)
    if obj is None or finalizer not in (obj["metadata"].get("finalizers") or []):
        return
    uid = obj["metadata"].get("uid")
    if finalizer == "orphan":
        _orphan(api, uid)
    else:
        collect_dependents(api, uid)
        if dependents(api, uid):
            return  # dependents held by their own finalizers keep the owner waiting
    released = deep_copy(obj)
    rest = [f for f in released["metadata"].get("finalizers") or [] if f != finalizer]
    released["metadata"]["resourceVersion"] = str(api.store.next_rv())
    if rest:
        released["metadata"]["finalizers"] = rest
        api.store.put(api.bucket(spec), key, released)
        return
    released["metadata"].pop("finalizers", None)
    if released["metadata"].get("deletionGracePeriodSeconds"):
        api.store.put(api.bucket(spec), key, released)  # a Pod still stopping: the kubelet
        return
    api.remove(spec, key, released, orphan=True)


def owner_released(api: ApiState, removed: Obj) -> None:
    """A dependent left storage: an owner waiting on it in a Foreground delete may finish."""
    meta = removed.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if not isinstance(ref, dict) or not ref.get("kind") or not ref.get("name"):
            continue
        group, _, version = str(ref.get("apiVersion", "")).rpartition("/")
        spec = api.table.for_kind(group, version, str(ref["kind"]))
        if spec is None:
            continue
        key = storage_key(meta.get("namespace") if spec.namespaced else None, str(ref["name"]))
        owner = api.store.get(api.bucket(api.table.storage_spec(spec)), key)
        if owner is not None and owner["metadata"].get("uid") == ref.get("uid") and \
                owner["metadata"].get("deletionTimestamp"):
            finish(api, api.table.storage_spec(spec), key, "foregroundDeletion")
