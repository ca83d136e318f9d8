"""The verbs of the embedded server on single objects: create, get, replace, patch, delete.

:class:`Api` holds the server state (store, served kinds, switches) and implements what
kube-apiserver does per verb, raising :class:`~.status.StatusError` for every refusal. HTTP
parsing lives in :mod:`.server`; lists and watches in :mod:`.listing`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..kinds import decoding
from ..kinds.specs import BUILTIN_KINDS, KindSpec, apply_builtin_defaults
from ..objects import (
    Obj,
    canonical,
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
    validate_name,
)
from ..rules import collector, validating
from ..status import (
    already_exists,
    bad_request,
    cause,
    conflict,
    forbidden,
    invalid,
    not_found,
    success_body,
)
from ..storage.resources import ResourceTable, bucket_name
from ..storage.store import Store, object_key

__all__ = ["Api", "Call", "Reply", "Options"]

_RETURNS_DELETED = {("", "Pod"), ("", "Namespace"), ("", "Service"),
                    ("apiextensions.k8s.io", "CustomResourceDefinition")}
_DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
_INT = re.compile(r"[+-]?[0-9]+")
_NAMESPACES = next(k for k in BUILTIN_KINDS if k.kind == "Namespace")


@dataclass
class Options:
    """Switches that make the server behave like an older one (see issue 9)."""

    aggregated_discovery: str | None = "v2"
    openapi_v3: bool = True
    watch_list: bool = True
    server_side_apply: bool = True
    bookmark_interval: float = 60.0


@dataclass
class Call:
    """One parsed API request on a resource."""

    method: str
    spec: KindSpec
    namespace: str | None
    name: str | None
    subresource: str | None
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    user_agent: str = ""
    accept: str = "application/json"
    content_type: str = "application/json"

    def flag(self, key: str) -> bool:
        return self.query.get(key, "").lower() in ("true", "1")

    def int_param(self, key: str) -> int | None:
        """An int64 query parameter (None when absent or empty); a ``400`` worded like Go's
        ``strconv.ParseInt`` for anything else."""
        text = self.query.get(key)
        if not text:
            return None
        if not _INT.fullmatch(text):
            raise bad_request(f'strconv.ParseInt: parsing "{text}": invalid syntax')
        value = int(text)
        if not -(2**63) <= value < 2**63:
            raise bad_request(f'strconv.ParseInt: parsing "{text}": value out of range')
        return value

    @property
    def key(self) -> str:
        """The storage key of the object the request names."""
        return object_key(self.namespace if self.spec.namespaced else None, self.name or "")

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"


@dataclass
class Reply:
    """An answer: JSON ``body`` (or a stream) with ``code`` and extra headers."""

    code: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stream: Any = None


class Api:
    """Server state and the single-object verbs."""

    def __init__(self, store: Store, table: ResourceTable, options: Options):
        self.store = store
        self.table = table
        self.options = options
        self.write_lock = threading.RLock()

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
        return self.store.get(bucket_name(_NAMESPACES), object_key(None, name))

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
            obj = decode_body(raw, spec)
            check_type_meta(obj, spec, raw)
        if warnings is None:
            warnings = validating.check_fields(obj, spec, call.query.get("fieldValidation"),
                                               self)
        meta = obj["metadata"]
        body_ns = meta.get("namespace")
        if spec.namespaced:
            if body_ns and call.namespace and body_ns != call.namespace:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = call.namespace
        else:
            meta.pop("namespace", None)
        generated = False
        if not meta.get("name") and meta.get("generateName"):
            validate_name(spec, str(meta["generateName"]) + "x", generated=True)
            meta["name"] = generate_name(str(meta["generateName"]))
            generated = True
        validate_name(spec, meta.get("name"))
        name = meta["name"]
        with self.write_lock:
            self._check_namespace(call, name)
            key = object_key(call.namespace if spec.namespaced else None, name)
            bucket = self.bucket(spec)
            if self.store.get(bucket, key) is not None:
                if generated:
                    meta["name"] = generate_name(str(meta["generateName"]))
                    key = object_key(call.namespace if spec.namespaced else None, meta["name"])
                if self.store.get(bucket, key) is not None:
                    raise already_exists(spec.plural, name, spec.group)
            for drop in ("uid", "resourceVersion", "deletionTimestamp",
                         "deletionGracePeriodSeconds", "generation", "selfLink"):
                meta.pop(drop, None)
            if has_status_subresource(spec):
                obj.pop("status", None)
            if not spec.is_custom:
                apply_builtin_defaults(obj)
            obj = validating.admit(obj, None, spec, self)
            meta = obj["metadata"]
            meta["uid"] = new_uid()
            meta["creationTimestamp"] = now_rfc3339()
            if has_generation(spec):
                meta["generation"] = 1
            if applying:
                _set_managed(meta, managed)
            else:
                validating.manage_fields(None, obj, spec, call, "Update", tracked=not warnings)
            validating.storage_defaults(obj, spec, self)
            hook = validating.before_create(obj, spec, self, call)
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
        new = decode_body(call.body, spec)
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
            new, spec, call.query.get("fieldValidation"), self)
        with self.write_lock:
            bucket, key = self.bucket(spec), call.key
            current = self.store.get(bucket, key)
            if current is None:
                raise not_found(spec.plural, call.name or "", spec.group)
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv and wanted_rv != current["metadata"].get("resourceVersion"):
                raise conflict(spec.plural, call.name or "", "the object has been modified; "
                               "please apply your changes to the latest version and try again",
                               spec.group)
            merged = self._carry_over(current, new, spec, call.subresource)
            merged = validating.admit(merged, current, spec, self)
            hook = validating.before_update(merged, current, spec, self, call)
            if has_generation(spec):
                gen = int(current["metadata"].get("generation") or 1)
                merged["metadata"]["generation"] = gen + 1 if spec_changed(current, merged) \
                    else gen
            if operation == "Apply":
                _set_managed(merged["metadata"], managed)
            else:
                validating.manage_fields(current, merged, spec, call, operation,
                                         tracked=not field_warnings)
            validating.storage_defaults(merged, spec, self)
            if _same(current, merged):
                return self._finish(call, Reply(200, self.render(current, spec),
                                                warnings=field_warnings))
            m = merged["metadata"]
            if not call.dry_run:
                if m.get("deletionTimestamp") and not m.get("finalizers"):
                    m["resourceVersion"] = str(self.store.next_rv())  # the last finalizer left
                    self.remove(spec, key, merged)
                else:
                    merged = self._commit(bucket, key, merged, hook)
        return self._finish(call, Reply(200, self.render(merged, spec), warnings=field_warnings))

    def _commit(self, bucket: str, key: str, obj: Obj, hook: validating.Hook) -> Obj:
        """Store a created or updated object at the next resourceVersion, then run ``hook``."""
        obj["metadata"]["resourceVersion"] = str(self.store.next_rv())
        obj = canonical(obj)
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
                raise invalid(spec.kind, str(old_meta.get("name")), [cause(
                    "metadata.finalizers", "FieldValueForbidden",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {sorted(added)!r}".replace("'", '"'))], spec.group)
        if has_status_subresource(spec):
            if "status" in current:
                merged["status"] = current["status"]
            else:
                merged.pop("status", None)
        return merged

    # -- delete --------------------------------------------------------------------------

    def delete_options(self, call: Call) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        if call.body and call.body.strip():
            decoded = decode_body(call.body, call.spec)
            problem = decoding.decode_builtin(decoded, _DELETE_OPTIONS).error
            if problem:  # kube-apiserver 1.35+ answers 400 here (500 before)
                raise bad_request(problem)
            opts.update(decoded)
        if "propagationPolicy" in call.query:
            opts["propagationPolicy"] = call.query["propagationPolicy"]
        grace = call.int_param("gracePeriodSeconds")
        if grace is not None:
            opts["gracePeriodSeconds"] = grace
        if call.query.get("dryRun") == "All":
            opts["dryRun"] = ["All"]
        policy = opts.get("propagationPolicy")
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise invalid("DeleteOptions", "", [cause(
                "propagationPolicy", "FieldValueNotSupported",
                f'Unsupported value: "{policy}": supported values: "Foreground", '
                '"Background", "Orphan", "nil"')], "meta.k8s.io")
        return opts

    def delete(self, call: Call, opts: dict[str, Any] | None = None) -> Reply:
        spec = call.spec
        if opts is None:
            opts = self.delete_options(call)
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
            if meta.get("deletionTimestamp"):
                return self._finish(call, Reply(200, self.render(current, spec)))
            finalizers = list(meta.get("finalizers") or [])
            policy = opts.get("propagationPolicy")
            gc_finalizer = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(
                str(policy))
            if gc_finalizer and gc_finalizer not in finalizers:
                finalizers.append(gc_finalizer)
            hook = validating.before_delete(current, spec, self, call)
            if finalizers or hook is not None:
                updated = deep_copy(current)
                um = updated["metadata"]
                um["deletionTimestamp"] = now_rfc3339()
                um["deletionGracePeriodSeconds"] = 0
                if finalizers:
                    um["finalizers"] = finalizers
                if has_generation(spec):
                    um["generation"] = int(um.get("generation") or 1) + 1
                validating.mark_deleting(updated, spec)
                if dry:
                    return self._finish(call, Reply(200, self.render(updated, spec)))
                um["resourceVersion"] = str(self.store.next_rv())
                self.store.put(bucket, key, updated)
                if hook is not None:
                    hook()
                if gc_finalizer:
                    collector.finish(self, spec, key, gc_finalizer)
                return self._finish(call, Reply(200, self.render(updated, spec)))
            if dry:
                return self._finish(call, Reply(200, self._deleted_reply(current, spec)))
            final = deep_copy(current)
            final["metadata"]["resourceVersion"] = str(self.store.next_rv())
            self.remove(spec, key, final, orphan=policy == "Orphan")
        return self._finish(call, Reply(200, self._deleted_reply(current, spec)))

    def _deleted_reply(self, obj: Obj, spec: KindSpec) -> Obj:
        if spec.is_custom or (spec.group, spec.kind) in _RETURNS_DELETED:
            return self.render(obj, spec)
        meta = obj["metadata"]
        details: dict[str, Any] = {"name": meta.get("name")}
        if spec.group:
            details["group"] = spec.group
        details["kind"] = spec.plural
        details["uid"] = meta.get("uid")
        return success_body(details)

    def remove(self, spec: KindSpec, key: str, final: Obj, *, orphan: bool = False) -> None:
        """Take an object out of storage for good (under ``write_lock``), then cascade."""
        self.store.delete(self.bucket(spec), key, final)
        uid = final["metadata"].get("uid")
        if not orphan:
            collector.collect_dependents(self, uid)
        if final["metadata"].get("ownerReferences"):
            collector.owner_released(self, final)
        validating.after_remove(final, spec, self)


def _set_managed(meta: dict[str, Any], managed: Any) -> None:
    """managedFields computed by server-side apply: an empty set drops the key."""
    if managed:
        meta["managedFields"] = managed
    else:
        meta.pop("managedFields", None)


def _same(old: Obj, new: Obj) -> bool:
    """A no-op write (the real server does not bump resourceVersion for it).

    managedFields count: an apply by a new manager of values already there changes nothing
    else, yet the real server stores the new owner.
    """
    return old == new
