"""Deletes in the embedded server, as kube-apiserver's generic store deletes.

Graceful for a bound Pod (its containers are told to stop), held by finalizers, turned into
``Terminating`` for a Namespace, else at once; garbage-collection finalizers for Orphan and
Foreground deletes. Functions over :class:`~..call.ApiState`, so :class:`.crud.Api` and the
controllers that delete (namespaces, the collector) share one path.
"""

from __future__ import annotations

from typing import Any

from ..call import ApiState, Call
from ..kinds import decoding
from ..kinds.specs import BUILTIN_KINDS, KindSpec
from ..objects import (
    Obj,
    canonical,
    decode_body,
    deep_copy,
    for_version,
    has_generation,
    now_rfc3339,
)
from ..rules import collector, lifecycle, namespaces, validating
from ..status import bad_request, success_body
from .options import check_delete_options, propagation_policy

__all__ = ["delete_namespace", "delete_object", "delete_options", "deleted_reply",
           "remove_final", "terminate"]

_RETURNS_DELETED = {("", "Service"),
                    ("apiextensions.k8s.io", "CustomResourceDefinition")}
_DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
_NAMESPACES = next(k for k in BUILTIN_KINDS if k.kind == "Namespace")
_DEFAULT_POLICY = {("batch", "Job"): "Orphan"}
"""Kinds whose delete orphans dependents unless told otherwise (batch/v1 Jobs)."""


def delete_options(call: Call) -> dict[str, Any]:
    """``DeleteOptions`` from the body and the query; ``422`` for bad ones."""
    opts: dict[str, Any] = {}
    if call.body and call.body.strip():
        decoded = decode_body(call.body, call.spec)
        problem = decoding.decode_builtin(decoded, _DELETE_OPTIONS).error
        if problem:  # kube-apiserver 1.35+ answers 400 here (500 before)
            raise bad_request(problem)
        opts.update(decoded)
    if "propagationPolicy" in call.query:
        opts["propagationPolicy"] = call.query["propagationPolicy"]
    if "orphanDependents" in call.query:
        opts["orphanDependents"] = call.query["orphanDependents"].lower() in ("true", "1")
    grace = call.int_param("gracePeriodSeconds")
    if grace is not None:
        opts["gracePeriodSeconds"] = grace
    if "dryRun" in call.query:
        opts["dryRun"] = [call.query["dryRun"]]
    check_delete_options(opts)
    return opts


def delete_object(api: ApiState, spec: KindSpec, key: str, current: Obj, opts: dict[str, Any],
                   dry: bool, hook: validating.Hook) -> Obj:
    """The generic store's delete: graceful for a bound Pod, held by finalizers, else at
    once. Returns the reply body."""
    meta = current["metadata"]
    requested = opts.get("gracePeriodSeconds")
    if isinstance(requested, int) and requested < 0:
        requested = 1  # a negative grace period counts as 1 s on the delete path
    policy = propagation_policy(opts, _DEFAULT_POLICY.get((spec.group, spec.kind),
                                                          "Background"))
    orphan = policy == "Orphan"
    if meta.get("deletionTimestamp"):
        updated = deep_copy(current)
        shortened = lifecycle.shorten(updated, requested)
        if shortened is None and not meta.get("finalizers"):
            if not dry:  # graceful deletion already over: finish it
                remove_final(api, spec, key, current, orphan)
            return for_version(current, spec)
        if not shortened:
            return for_version(current, spec)
        if not dry:
            terminate(api, spec, key, updated, orphan)
        return for_version(updated, spec)
    # a volume's protection finalizer goes once nothing uses it (lifecycle.release_protection)
    finalizers = list(meta.get("finalizers") or [])
    gc_finalizer = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(policy)
    if gc_finalizer and gc_finalizer not in finalizers:
        finalizers.append(gc_finalizer)
    period = lifecycle.grace_period(current, spec, requested)
    if period is None and not finalizers and hook is None:
        if not dry:
            remove_final(api, spec, key, current, orphan)
        return deleted_reply(current, spec)
    updated = deep_copy(current)
    um = updated["metadata"]
    if period is not None:
        lifecycle.mark_graceful(updated, period)
    else:
        um["deletionTimestamp"] = now_rfc3339()
        um["deletionGracePeriodSeconds"] = 0
        if has_generation(spec):
            um["generation"] = int(um.get("generation") or 1) + 1
    if finalizers:
        um["finalizers"] = finalizers
    validating.mark_deleting(updated, spec)
    if dry:
        return for_version(updated, spec)
    terminate(api, spec, key, updated, orphan)
    if hook is not None:
        hook()
    if gc_finalizer:
        collector.finish(api, spec, key, gc_finalizer)
    return for_version(updated, spec)


def terminate(api: ApiState, spec: KindSpec, key: str, updated: Obj, orphan: bool) -> None:
    """Store an object that starts (or hurries) terminating; with no grace period and no
    finalizers left it goes at once, a bound Pod's containers are told to stop."""
    um = updated["metadata"]
    grace = um.get("deletionGracePeriodSeconds")
    if not grace and not um.get("finalizers"):
        remove_final(api, spec, key, updated, orphan)
        return
    um["resourceVersion"] = str(api.store.next_rv())
    api.store.put(api.bucket(spec), key, canonical(updated))
    lifecycle.release_protection(api, spec, key)
    if grace and lifecycle.grace_period(updated, spec, None) is not None:
        api.kubelet.terminating(str(um.get("namespace")), str(um.get("name")),
                                 str(um.get("uid")), int(grace))


def remove_final(api: ApiState, spec: KindSpec, key: str, last: Obj, orphan: bool) -> None:
    final = deep_copy(last)
    final["metadata"]["resourceVersion"] = str(api.store.next_rv())
    api.remove(spec, key, final, orphan=orphan)


def delete_namespace(api: ApiState, key: str, current: Obj, opts: dict[str, Any], dry: bool) -> Obj:
    """A Namespace is not removed by its delete: it turns ``Terminating`` and the
    namespace controller empties it, then finalizes it (:mod:`..rules.namespaces`)."""
    spec = _NAMESPACES
    meta = current["metadata"]
    if meta.get("deletionTimestamp"):
        return for_version(current, spec)
    updated = deep_copy(current)
    um = updated["metadata"]
    um["deletionTimestamp"] = now_rfc3339()
    updated.setdefault("status", {})["phase"] = "Terminating"
    policy = opts.get("propagationPolicy")
    finalizers = list(um.get("finalizers") or [])
    for wanted, finalizer in (("Orphan", "orphan"), ("Foreground", "foregroundDeletion")):
        if (policy == wanted or (wanted == "Orphan" and opts.get("orphanDependents"))) \
                and finalizer not in finalizers:
            finalizers.append(finalizer)
    if finalizers:
        um["finalizers"] = finalizers
    if dry:
        return for_version(updated, spec)
    um["resourceVersion"] = str(api.store.next_rv())
    api.store.put(api.bucket(spec), key, canonical(updated))
    shown = deep_copy(updated)
    namespaces.terminate(api, str(meta.get("name")))
    return for_version(shown, spec)


def deleted_reply(obj: Obj, spec: KindSpec) -> Obj:
    if spec.is_custom or (spec.group, spec.kind) in _RETURNS_DELETED:
        return for_version(obj, spec)
    meta = obj["metadata"]
    details: dict[str, Any] = {"name": meta.get("name")}
    if spec.group:
        details["group"] = spec.group
    details["kind"] = spec.plural
    details["uid"] = meta.get("uid")
    return success_body(details)
