"""The verbs of the embedded server on single objects: create, get, replace, patch, delete.

:class:`Api` holds the server state (store, served kinds, switches) and implements what
kube-apiserver does per verb, raising :class:`~.status.StatusError` for every refusal. HTTP
parsing lives in :mod:`..http.handler`; lists and watches in :mod:`.lists` and :mod:`.watch`.
``Api`` satisfies :class:`~..call.ApiState`, the protocol the kind rules type against.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

from ..call import USERS, Call, Options, Reply
from ..kinds.conversions import to_storage
from ..kinds.defaults import (
    SERVICE_NETWORKS,
    AdmissionRefused,
    StoredState,
    UserInfo,
    apply_defaults,
)
from ..kinds.specs import BUILTIN_KINDS, KindSpec
from ..objects import (
    Obj,
    canonical,
    check_name_type,
    check_type_meta,
    decode_body,
    deep_copy,
    for_version,
    generate_name,
    has_generation,
    has_status_subresource,
    new_uid,
    now_rfc3339,
    qualified_resource,
    spec_changed,
)
from ..rules import collector, lifecycle, namespaces, semantic, validating
from ..status import (
    StatusError,
    already_exists,
    bad_request,
    cause,
    conflict,
    forbidden,
    invalid,
    not_found,
)
from ..storage.resources import ResourceTable, bucket_name
from ..storage.store import ObjectStore, storage_key
from .delete import delete_namespace, delete_object, delete_options

__all__ = ["Api"]

_NAMESPACES = next(k for k in BUILTIN_KINDS if k.kind == "Namespace")


class Api:
    """Server state and the single-object verbs."""

    def __init__(self, store: ObjectStore, table: ResourceTable, options: Options):
        self.store = store
        self.table = table
        self.options = options
        self.write_lock = threading.RLock()
        self.kubelet = lifecycle.Kubelet(self)
        self.ca_pem = namespaces.PLAIN_HTTP_CA
        """What every namespace's ``kube-root-ca.crt`` holds (the server's CA under TLS)."""
        self.restores_defaults = True
        """Whether a deleted ``default`` ServiceAccount or ``kube-root-ca.crt`` is made again,
        as a cluster's controllers do (``False``: as a bare kube-apiserver, which keeps
        them deleted)."""

    # -- helpers -------------------------------------------------------------------------

    def bucket(self, spec: KindSpec) -> str:
        return bucket_name(spec)

    def current(self, call: Call) -> Obj:
        obj = self.store.get(self.bucket(call.spec), call.key)
        if obj is None:
            raise not_found(call.spec.plural, call.name or "", call.spec.group)
        return obj

    def all_of(self, plural: str, group: str = "") -> list[Obj]:
        """Every stored object of a built-in resource (for allocators)."""
        spec = next((s for s in self.table.all() if (s.group, s.plural) == (group, plural)), None)
        if spec is None:
            return []
        return self.store.snapshot_items(self.bucket(spec))[0]

    def namespace_obj(self, name: str) -> Obj | None:
        return self.store.get(bucket_name(_NAMESPACES), storage_key(None, name))

    def _check_namespace(self, call: Call, name: str) -> None:
        if not call.spec.namespaced or call.namespace is None:
            return
        ns = self.namespace_obj(call.namespace)
        if ns is None:
            raise not_found("namespaces", call.namespace)
        if ns.get("metadata", {}).get("deletionTimestamp"):
            raise forbidden(
                f'{qualified_resource(call.spec)} "{name}" is forbidden: unable to create new '
                f"content in namespace {call.namespace} because it is being terminated",
                {"name": name, "kind": call.spec.plural, "causes": [cause(
                    "metadata.namespace", "NamespaceTerminating",
                    f"namespace {call.namespace} is being terminated")]})

    def render(self, obj: Obj, spec: KindSpec) -> Obj:
        return for_version(obj, spec)

    def _finish(self, call: Call, reply: Reply) -> Reply:
        if isinstance(reply.body, dict) and reply.body.get("kind") != "Status":
            reply.body = canonical(reply.body)
        warning = call.spec.warning()
        if warning:
            reply.warnings.insert(0, warning)
        return reply

    # -- create --------------------------------------------------------------------------

    def create(self, call: Call, obj: Obj | None = None, *, managed: Any = None,
               warnings: list[str] | None = None) -> Reply:
        spec = call.spec
        raw = call.body
        applying = obj is not None
        if obj is None:
            obj = decode_body(raw, spec, unrecognized=True)
            check_type_meta(obj, spec, raw)
        if warnings is None:
            warnings = validating.check_fields(obj, spec, call.query.get("fieldValidation"),
                                               self, raw if not applying else None)
        meta = obj["metadata"]
        body_ns = meta.get("namespace")
        if spec.namespaced:
            if body_ns and call.namespace and body_ns != call.namespace:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = call.namespace
        else:
            meta.pop("namespace", None)
        check_name_type(spec, meta)
        generated = False
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = generate_name(str(meta["generateName"]))
            generated = True
        name = meta.get("name") or ""  # its format is judged with the object (semantic.check)
        with self.write_lock:
            self._check_namespace(call, name)
            key = storage_key(call.namespace if spec.namespaced else None, name)
            bucket = self.bucket(spec)
            if self.store.get(bucket, key) is not None:
                if generated:
                    meta["name"] = generate_name(str(meta["generateName"]))
                    key = storage_key(call.namespace if spec.namespaced else None, meta["name"])
                existing = self.store.get(bucket, key)
                if existing is not None:
                    error = already_exists(spec.plural, name, spec.group)
                    if existing["metadata"].get("deletionTimestamp"):
                        error.body["message"] = "object is being deleted: " + \
                            error.body["message"]
                    raise error
            for drop in ("uid", "resourceVersion", "deletionTimestamp",
                         "deletionGracePeriodSeconds", "generation", "selfLink"):
                meta.pop(drop, None)
            if has_status_subresource(spec):
                obj.pop("status", None)
            meta["uid"] = new_uid()  # before defaulting: a Job's generated selector uses it
            seen = _default(self, call, obj, None) if not spec.is_custom else None
            obj = validating.admit(obj, None, spec, self)
            semantic.check(obj, None, spec, dry_run=call.dry_run)
            meta = obj["metadata"]
            meta["creationTimestamp"] = now_rfc3339()
            if has_generation(spec):
                meta["generation"] = 1
            if applying:
                _set_managed(meta, managed)
            else:
                validating.manage_fields(None, obj, spec, call, "Update", tracked=not warnings,
                                         seen=seen)
            validating.storage_defaults(obj, spec, self)
            hook = validating.before_create(obj, spec, self, call)
            obj = to_storage(obj)  # a dry run too: its answer went through the storage codec
            if not call.dry_run:
                obj = self._commit(bucket, key, obj, hook)
        return self._finish(call, Reply(201, self.render(obj, spec), warnings=warnings))

    # -- get -----------------------------------------------------------------------------

    def get(self, call: Call) -> Reply:
        obj = self.current(call)
        return self._finish(call, Reply(200, self.render(obj, call.spec)))

    # -- update --------------------------------------------------------------------------

    def update(self, call: Call) -> Reply:
        spec = call.spec
        new = decode_body(call.body, spec, unrecognized=True)
        check_type_meta(new, spec, call.body)
        return self.write(call, new, operation="Update")

    def write(self, call: Call, new: Obj, *, operation: str, warnings: list[str] | None = None,
              managed: Any = None) -> Reply:
        """Store ``new`` as the next state of ``call``'s object (PUT and PATCH end here)."""
        spec = call.spec
        meta = new.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        body_name = meta.get("name")
        if body_name and body_name != call.name:
            raise bad_request(f"the name of the object ({body_name}) does not match the name on "
                              f"the URL ({call.name})")
        if spec.namespaced and meta.get("namespace") and meta["namespace"] != call.namespace:
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        field_warnings = warnings if warnings is not None else validating.check_fields(
            new, spec, call.query.get("fieldValidation"), self,
            call.body if call.method == "PUT" else None)
        with self.write_lock:
            bucket, key = self.bucket(spec), call.key
            stored = self.store.get(bucket, key)
            if stored is None:
                raise not_found(spec.plural, call.name or "", spec.group)
            current = for_version(stored, spec)  # written as the request's version, then stored
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv and wanted_rv != current["metadata"].get("resourceVersion"):
                raise conflict(spec.plural, call.name or "", "the object has been modified; "
                               "please apply your changes to the latest version and try again",
                               spec.group)
            if call.method == "PUT" and call.subresource is None:
                semantic.check_replace(new, spec)
            merged = self._carry_over(current, new, spec, call.subresource)
            seen = _default(self, call, merged, current) if not spec.is_custom else None
            merged = validating.admit(merged, current, spec, self)
            semantic.check(merged, current, spec, dry_run=call.dry_run)
            hook = validating.before_update(merged, current, spec, self, call)
            if has_generation(spec):
                gen = int(current["metadata"].get("generation") or 1)
                merged["metadata"]["generation"] = gen + 1 if spec_changed(current, merged) \
                    else gen
            if operation == "Apply":
                _set_managed(merged["metadata"], managed)
            else:
                validating.manage_fields(current, merged, spec, call, operation,
                                         tracked=not field_warnings, seen=seen)
            validating.storage_defaults(merged, spec, self)
            if _same(current, merged):
                return self._finish(call, Reply(200, self.render(current, spec),
                                                warnings=field_warnings))
            merged = to_storage(merged)
            m = merged["metadata"]
            if not call.dry_run:
                if _deleted_by_update(spec, current, merged):
                    m["resourceVersion"] = str(self.store.next_rv())  # the last finalizer left
                    self.remove(spec, key, merged)
                else:
                    merged = self._commit(bucket, key, merged, hook)
        return self._finish(call, Reply(200, self.render(merged, spec), warnings=field_warnings))

    def _commit(self, bucket: str, key: str, obj: Obj, hook: validating.Hook) -> Obj:
        """Store a created or updated object at the next resourceVersion, in its storage
        version (decoding it from storage defaults it there), then run ``hook``."""
        obj["metadata"]["resourceVersion"] = str(self.store.next_rv())
        obj = canonical(to_storage(obj))
        self.store.put(bucket, key, obj)
        if hook is not None:
            hook()
        return obj

    def _carry_over(self, current: Obj, new: Obj, spec: KindSpec, sub: str | None) -> Obj:
        """What the server keeps from the stored object whatever the client sends."""
        if sub == "status":
            merged = deep_copy(current)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            return merged
        merged = deep_copy(new)
        meta = merged["metadata"]
        old_meta = current["metadata"]
        for keep in ("uid", "creationTimestamp", "name", "namespace", "deletionTimestamp",
                     "deletionGracePeriodSeconds", "generation"):
            if keep in old_meta:
                meta[keep] = old_meta[keep]
            else:
                meta.pop(keep, None)
        meta["resourceVersion"] = old_meta.get("resourceVersion")
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
            if added:
                listed = ", ".join(f'"{f}"' for f in meta.get("finalizers") or [] if f in added)
                problem = cause("metadata.finalizers", "FieldValueForbidden",
                                "Forbidden: no new finalizers can be added if the object is "
                                f"being deleted, found new finalizers []string{{{listed}}}")
                # reported twice: by the common metadata check and by the kind's own
                raise invalid(spec.kind, str(old_meta.get("name")), [problem, dict(problem)],
                              spec.group)
        if has_status_subresource(spec):
            if "status" in current:
                merged["status"] = current["status"]
            else:
                merged.pop("status", None)
        return merged

    # -- delete --------------------------------------------------------------------------

    def delete_options(self, call: Call) -> dict[str, Any]:
        """``DeleteOptions`` from the body and the query; ``422`` for bad ones."""
        return delete_options(call)

    def delete(self, call: Call, opts: dict[str, Any] | None = None) -> Reply:
        spec = call.spec
        if opts is None:
            opts = delete_options(call)
        dry = "All" in (opts.get("dryRun") or [])
        with self.write_lock:
            bucket, key = self.bucket(spec), call.key
            current = self.store.get(bucket, key)
            if current is None:
                raise not_found(spec.plural, call.name or "", spec.group)
            meta = current["metadata"]
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != meta.get("uid"):
                raise conflict(spec.kind, call.name or "",
                               f"the UID in the precondition ({pre['uid']}) does not match the "
                               f"UID in record ({meta.get('uid')}). The object might have been "
                               "deleted and then recreated", "")
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
                raise conflict(spec.kind, call.name or "",
                               f"the ResourceVersion in the precondition "
                               f"({pre['resourceVersion']}) does not match the ResourceVersion in "
                               f"record ({meta.get('resourceVersion')}). The object might have "
                               "been modified", "")
            hook = validating.before_delete(current, spec, self, call)
            if (spec.group, spec.kind) == ("", "Namespace"):
                body = delete_namespace(self, key, current, opts, dry)
            else:
                body = delete_object(self, spec, key, current, opts, dry, hook)
        return self._finish(call, Reply(200, body))

    def delete_stored(self, spec: KindSpec, key: str, grace: int | None = None) -> None:
        """Delete a stored object as a controller does (``Background``; under
        ``write_lock``). An object a cascade took away already is left alone."""
        current = self.store.get(self.bucket(spec), key)
        if current is None:
            return
        opts: dict[str, Any] = {"propagationPolicy": "Background"}
        if grace is not None:
            opts["gracePeriodSeconds"] = grace
        delete_object(self, spec, key, current, opts, False, None)

    def finalize(self, call: Call) -> Reply:
        """``PUT /api/v1/namespaces/{name}/finalize``: only ``spec.finalizers`` changes; a
        terminating namespace with none left is removed."""
        new = decode_body(call.body, call.spec, unrecognized=True)
        check_type_meta(new, call.spec, call.body)
        wanted = (new.get("spec") or {}).get("finalizers") or []
        if not isinstance(wanted, list) or not all(isinstance(f, str) for f in wanted):
            raise bad_request("spec.finalizers must be a list of strings")
        with self.write_lock:
            current = self.current(call)
            updated = deep_copy(current)
            if wanted:
                updated.setdefault("spec", {})["finalizers"] = list(wanted)
            else:
                updated.setdefault("spec", {}).pop("finalizers", None)
            if call.dry_run:
                return self._finish(call, Reply(200, self.render(updated, call.spec)))
            namespaces.store_finalized(self, updated)
        return self._finish(call, Reply(200, self.render(updated, call.spec)))

    def bind(self, call: Call) -> Reply:
        """``POST .../pods/{name}/binding``: the scheduler's way to put a Pod on a node."""
        binding = decode_body(call.body, call.spec)
        target = binding.get("target") if isinstance(binding.get("target"), dict) else {}
        node = target.get("name")
        if not node:
            raise invalid("Binding", call.name or "", [cause(
                "target.name", "FieldValueRequired", "Required value")])
        with self.write_lock:
            current = self.current(call)
            if (current.get("spec") or {}).get("nodeName"):
                raise conflict("pods/binding", call.name or "", "pod "
                               f"{call.name} is already assigned to node "
                               f'"{current["spec"]["nodeName"]}"')
            if current["metadata"].get("deletionTimestamp"):
                raise conflict("pods/binding", call.name or "", "pod "
                               f"{call.name} is being deleted, cannot be assigned to a host")
            if not call.dry_run:
                updated = deep_copy(current)
                updated.setdefault("spec", {})["nodeName"] = str(node)
                self._commit(self.bucket(call.spec), call.key, updated, None)
        return self._finish(call, Reply(201, {"kind": "Status", "apiVersion": "v1",
                                              "metadata": {}, "status": "Success",
                                              "code": 201}))

    def bind_named(self, call: Call) -> Reply:
        """``POST .../namespaces/{ns}/bindings``: the older form of a binding, which names
        its Pod in ``metadata.name``; answered as ``pods/{name}/binding`` is."""
        binding = decode_body(call.body, call.spec)
        name = str((binding.get("metadata") or {}).get("name") or "")
        pods = self.table.lookup("", "v1", "pods")
        assert pods is not None
        return self.bind(dataclasses.replace(call, spec=pods, name=name,
                                             subresource="binding"))

    def make(self, group: str, plural: str, namespace: str | None, obj: Obj,
             manager: str) -> None:
        """Create ``obj`` as a controller does; one that exists already is left alone."""
        spec = next((s for s in self.table.all() if (s.group, s.plural) == (group, plural)),
                    None)
        if spec is None:
            return
        call = Call("POST", self.table.storage_spec(spec), namespace, None, None, {}, {},
                    json.dumps(obj).encode(), manager)
        try:
            self.create(call)
        except StatusError as exc:
            if exc.code != 409:
                raise

    def remove(self, spec: KindSpec, key: str, final: Obj, *, orphan: bool = False) -> None:
        """Take an object out of storage for good (under ``write_lock``), then cascade."""
        self.store.delete(self.bucket(spec), key, final)
        uid = final["metadata"].get("uid")
        if not orphan:
            collector.collect_dependents(self, uid)
        if final["metadata"].get("ownerReferences"):
            collector.owner_released(self, final)
        validating.after_remove(final, spec, self)


def _default(api: Api, call: Call, obj: Obj, old: Obj | None) -> Obj | None:
    """kube-apiserver's defaults and defaulting admission, on every write of a built-in; a
    Service's addresses and ports are allocated then (and refused: ``422``).

    Returns a copy of the object as the field manager sees it, before admission and the
    strategy, or None when nothing came after the defaults."""
    if (call.spec.group, call.spec.kind) == ("", "Service"):
        uid = (old or obj)["metadata"].get("uid")
        others = [o for o in api.all_of("services", "") if o["metadata"].get("uid") != uid]
        semantic.check_allocation(obj, old, call.spec, others, SERVICE_NETWORKS,
                                  dry_run=call.dry_run)
    known = USERS.get(call.user or "")
    user = UserInfo(known["username"], known["uid"], tuple(known["groups"])) if known else None
    seen: list[Obj] = []
    try:
        apply_defaults(obj, old=old, state=StoredState(api.all_of, dry_run=call.dry_run),
                       user=user, defaulted=lambda o: seen.append(deep_copy(o)))
    except AdmissionRefused as exc:
        name = obj["metadata"].get("name", "")
        raise forbidden(f'{qualified_resource(call.spec)} "{name}" is forbidden: {exc.message}',
                        {"name": name, "kind": call.spec.plural}) from None
    return seen[0] if seen else None


def _set_managed(meta: dict[str, Any], managed: Any) -> None:
    """managedFields computed by server-side apply: an empty set drops the key."""
    if managed:
        meta["managedFields"] = managed
    else:
        meta.pop("managedFields", None)


def _deleted_by_update(spec: KindSpec, old: Obj, new: Obj) -> bool:
    """The generic store's ``ShouldDeleteDuringUpdate``: the last finalizer left an object
    whose grace period is over (a namespace: whose ``spec.finalizers`` are gone too)."""
    meta = new["metadata"]
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if (spec.group, spec.kind) == ("", "Namespace"):
        return not (new.get("spec") or {}).get("finalizers")
    return not old["metadata"].get("deletionGracePeriodSeconds")


def _same(old: Obj, new: Obj) -> bool:
    """A no-op write (the real server does not bump resourceVersion for it).

    managedFields count: an apply by a new manager of values already there changes nothing
    else, yet the real server stores the new owner.
    """
    return old == new
