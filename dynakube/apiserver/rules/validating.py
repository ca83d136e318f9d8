"""Where the embedded server's verbs meet the kind-specific rules.

Schema checks, defaulting and pruning (:mod:`.structural`), managedFields (:mod:`.fieldmanager`
with the field sets of :mod:`.fieldset`) and the lifecycle side effects of two kinds: a
CustomResourceDefinition (serving and un-serving its resources) and a Namespace (deleting what
it holds). The verbs in :mod:`.handlers` call these functions at fixed points and stay
kind-agnostic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..kinds import decoding
from ..kinds.specs import KindSpec
from ..merge import fieldmanager, fieldset
from ..merge.patching import PatchError
from ..objects import Obj, deep_copy, has_status_subresource, now_rfc3339
from ..status import StatusError, bad_request, cause, forbidden, invalid
from ..storage.resources import bucket_name
from ..storage.store import object_key
from . import structural
from .collector import delete_now

if TYPE_CHECKING:
    from ..verbs.crud import Api, Call

__all__ = [
    "check_fields",
    "check_manager",
    "admit",
    "apply",
    "storage_defaults",
    "manage_fields",
    "before_create",
    "before_update",
    "before_delete",
    "mark_deleting",
    "after_remove",
    "try_finalize_namespace",
]

Hook = Callable[[], None] | None


def _unknown_fields(obj: Obj, spec: KindSpec) -> list[str]:
    """Unknown field paths; built-ins are decoded in place (a wrong type is a 400 here)."""
    if spec.is_custom:
        return structural.prune(deep_copy(obj), spec.schema or {})
    result = decoding.decode_builtin(obj, spec.schema_name)
    if result.error:
        raise bad_request(decoding.cannot_handle_message(spec.kind, spec.version, result.error))
    return list(result.unknown)


def check_fields(obj: Obj, spec: KindSpec, mode: str | None, api: Api) -> list[str]:
    """Unknown fields per ``fieldValidation``: Strict -> 400, Warn (default) -> warnings."""
    mode = mode or "Warn"
    if mode not in ("Strict", "Warn", "Ignore"):
        raise bad_request(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", '
                          f'got "{mode}"')
    unknown = _unknown_fields(obj, spec)
    if not unknown or mode == "Ignore":
        return []
    if mode == "Strict":
        raise bad_request(structural.strict_decoding_message(spec.kind, spec.version, unknown))
    return [structural.unknown_field_warning(path) for path in unknown]


def admit(obj: Obj, old: Obj | None, spec: KindSpec, api: Api) -> Obj:
    """Default, prune and validate a custom resource (built-ins were decoded already)."""
    if spec.is_custom:
        schema = spec.schema or {}
        structural.prepare_custom_resource(obj, schema)
        causes = structural.validate_custom_resource(obj, schema, old)
        if causes:
            name = str(obj.get("metadata", {}).get("name", ""))
            raise StatusError(422, structural.invalid_status(spec.kind, spec.group, name, causes))
    return obj


def storage_defaults(obj: Obj, spec: KindSpec, api: Api) -> None:
    """Converted to its storage version, a custom resource gets that version's defaults too.

    Applied after managedFields were recorded: the real server defaults there on the way to
    storage, so those fields belong to no manager.
    """
    storage = api.table.storage_spec(spec)
    if spec.is_custom and storage is not spec and storage.schema:
        structural.apply_defaults(obj, storage.schema)


def _rules(spec: KindSpec) -> fieldset.FieldRules | None:
    if spec.is_custom:
        return fieldset.rules_from_schema(spec.schema or {})
    return fieldset.BUILTIN_FIELD_RULES.get(spec.kind)


def check_manager(call: Call, options_kind: str, apply: bool) -> None:
    """The ``422`` for a missing (apply) or too long ``fieldManager``."""
    problem = fieldmanager.check_field_manager(call.query.get("fieldManager"), apply=apply,
                                               options_kind=options_kind)
    if problem is not None:
        raise StatusError(int(problem["code"]), problem)


def _ignored(spec: KindSpec, subresource: str | None) -> list[tuple[str, ...]]:
    if subresource == "status":
        return [("spec",)]
    if has_status_subresource(spec):
        return [("status",)]
    return []


def manage_fields(old: Obj | None, new: Obj, spec: KindSpec, call: Call, operation: str,
                  *, tracked: bool = True) -> None:
    """Record ``call``'s manager in ``new``'s managedFields (an ``Update``)."""
    options_kind = {"POST": "CreateOptions", "PUT": "UpdateOptions"}.get(call.method,
                                                                          "PatchOptions")
    check_manager(call, options_kind, apply=False)
    if not tracked:
        if old is not None and old["metadata"].get("managedFields"):
            new["metadata"]["managedFields"] = old["metadata"]["managedFields"]
        else:
            new["metadata"].pop("managedFields", None)
        return
    manager = fieldmanager.default_manager(call.query.get("fieldManager"), call.user_agent)
    when = None if call.subresource == "scale" else now_rfc3339()
    seen = new
    if old is None and (spec.group, spec.kind) == ("", "Namespace") and \
            new.get("spec") == {"finalizers": ["kubernetes"]}:
        # set by the server after the field manager ran, as the real one does
        seen = {k: v for k, v in new.items() if k != "spec"}
    managed = fieldmanager.update_managed_fields(
        old, seen, manager=manager, api_version=spec.api_version, time=when,
        operation="Update", subresource=call.subresource, rules=_rules(spec),
        ignore_fields=_ignored(spec, call.subresource))
    if managed:
        new["metadata"]["managedFields"] = managed
    else:
        new["metadata"].pop("managedFields", None)


def apply(live: Obj | None, applied: Obj, spec: KindSpec, call: Call) -> Obj:
    """Server-side apply of ``applied`` onto ``live``; 409 with the conflicting fields.

    The caller has checked the ``fieldManager`` (:func:`check_manager`)."""
    try:
        return fieldmanager.server_side_apply(
            live, applied, manager=str(call.query["fieldManager"]),
            force=call.flag("force"), api_version=spec.api_version, time=now_rfc3339(),
            rules=_rules(spec), ignore_fields=_ignored(spec, call.subresource))
    except fieldmanager.ApplyConflictError as exc:
        raise StatusError(409, exc.status()) from None
    except PatchError as exc:  # managedFields in the body, another apiVersion
        raise StatusError(exc.code, exc.status()) from None


# -- lifecycle hooks -------------------------------------------------------------------------


def _is_crd(spec: KindSpec) -> bool:
    return (spec.group, spec.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition")


def _check_crd(obj: Obj) -> None:
    from ..kinds.specs import kinds_from_crd

    raw_spec = obj.get("spec")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    raw_names = spec.get("names")
    names: dict[str, Any] = raw_names if isinstance(raw_names, dict) else {}
    name = str(obj["metadata"].get("name", ""))
    problems = []
    group, plural = spec.get("group"), names.get("plural")
    if not group:
        problems.append(cause("spec.group", "FieldValueRequired", "Required value"))
    if not plural:
        problems.append(cause("spec.names.plural", "FieldValueRequired", "Required value"))
    if not names.get("kind"):
        problems.append(cause("spec.names.kind", "FieldValueRequired", "Required value"))
    if group and plural and name != f"{plural}.{group}":
        problems.append(cause("metadata.name", "FieldValueInvalid",
                              f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        problems.append(cause("spec.versions", "FieldValueInvalid",
                              "Invalid value: null: must have exactly one version marked as "
                              "storage version"))
    elif sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
        problems.append(cause("spec.versions", "FieldValueInvalid",
                              "Invalid value: " + str([v.get("name") for v in versions
                                                       if isinstance(v, dict)]).replace("'", '"')
                              + ": must have exactly one version marked as storage version"))
    if problems:
        raise invalid("CustomResourceDefinition", name, problems, "apiextensions.k8s.io")
    try:
        kinds_from_crd(obj)
    except Exception as exc:  # InvalidArgumentError: a malformed CRD
        raise invalid("CustomResourceDefinition", name, [cause("spec", "FieldValueInvalid",
                                                               f"Invalid value: {exc}")],
                      "apiextensions.k8s.io") from None


def _crd_status(obj: Obj) -> None:
    spec = obj.get("spec", {})
    names = dict(spec.get("names", {}))
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    now = now_rfc3339()
    storage = [v.get("name") for v in spec.get("versions", []) if v.get("storage")]
    obj["status"] = {
        "acceptedNames": names,
        "conditions": [
            {"lastTransitionTime": now, "message": "no conflicts found", "reason": "NoConflicts",
             "status": "True", "type": "NamesAccepted"},
            {"lastTransitionTime": now, "message": "the initial names have been accepted",
             "reason": "InitialNamesAccepted", "status": "True", "type": "Established"},
        ],
        "storedVersions": storage,
    }


def _allocate_service(obj: Obj, api: Api) -> None:
    """Give a new Service a cluster IP and node ports, as the real allocators do."""
    svc = obj.get("spec")
    if not isinstance(svc, dict):
        return
    if svc.get("type", "ClusterIP") != "ExternalName" and not svc.get("clusterIP"):
        taken = {o.get("spec", {}).get("clusterIP") for o in api.all_of("services")}
        n = 10
        while f"10.96.{n // 256}.{n % 256}" in taken:
            n += 1
        svc["clusterIP"] = f"10.96.{n // 256}.{n % 256}"
    if svc.get("clusterIP") and svc.get("clusterIP") != "None":
        svc.setdefault("clusterIPs", [svc["clusterIP"]])
    if svc.get("type") in ("NodePort", "LoadBalancer"):
        used = {p.get("nodePort") for o in api.all_of("services")
                for p in (o.get("spec", {}).get("ports") or []) if isinstance(p, dict)}
        port = 30000
        for entry in svc.get("ports") or []:
            if isinstance(entry, dict) and not entry.get("nodePort"):
                while port in used:
                    port += 1
                entry["nodePort"] = port
                used.add(port)


def before_create(obj: Obj, spec: KindSpec, api: Api, call: Call) -> Hook:
    if (spec.group, spec.kind) == ("", "Service"):
        _allocate_service(obj, api)
        return None
    if not _is_crd(spec):
        return None
    _check_crd(obj)
    _crd_status(obj)
    return lambda: _serve_crd(api, obj)


def _serve_crd(api: Api, obj: Obj) -> None:
    api.table.set_crd(obj)


def before_update(new: Obj, old: Obj, spec: KindSpec, api: Api, call: Call) -> Hook:
    if (spec.group, spec.kind) == ("", "Service") and isinstance(new.get("spec"), dict):
        for key in ("clusterIP", "clusterIPs"):
            if not new["spec"].get(key) and (old.get("spec") or {}).get(key):
                new["spec"][key] = old["spec"][key]
        return None
    if not _is_crd(spec) or call.subresource == "status":
        return None
    _check_crd(new)
    stored = list((old.get("status") or {}).get("storedVersions") or [])
    _crd_status(new)
    for version in new["status"]["storedVersions"]:
        if version not in stored:
            stored.append(version)
    new["status"]["storedVersions"] = stored
    return lambda: _serve_crd(api, new)


def mark_deleting(obj: Obj, spec: KindSpec) -> None:
    """What the server changes on an object entering deletion, beyond the timestamp."""
    if (spec.group, spec.kind) == ("", "Namespace"):
        obj.setdefault("status", {})["phase"] = "Terminating"


_UNDELETABLE = ("default", "kube-system", "kube-public")


def before_delete(obj: Obj, spec: KindSpec, api: Api, call: Call) -> Hook:
    if (spec.group, spec.kind) == ("", "Namespace"):
        name = str(obj["metadata"]["name"])
        if name in _UNDELETABLE:
            raise forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                            {"name": name, "kind": "namespaces"})
        return lambda: _empty_namespace(api, name)
    if _is_crd(spec):
        name = str(obj["metadata"]["name"])
        return lambda: _drop_crd(api, name, spec)
    return None


def _namespaced_specs(api: Api) -> list[KindSpec]:
    return [s for s in api.table.all() if s.namespaced and s is api.table.storage_spec(s)]


def _empty_namespace(api: Api, namespace: str) -> None:
    for spec in _namespaced_specs(api):
        bucket = bucket_name(spec)
        items, _ = api.store.snapshot_items(bucket, f"/{namespace}")
        for obj in items:
            delete_now(api, spec, object_key(namespace, str(obj["metadata"]["name"])))
    try_finalize_namespace(api, namespace)


def try_finalize_namespace(api: Api, namespace: str) -> None:
    """Remove a terminating namespace once nothing is left in it."""
    ns_obj = api.namespace_obj(namespace)
    if ns_obj is None or not ns_obj["metadata"].get("deletionTimestamp"):
        return
    if ns_obj["metadata"].get("finalizers"):
        return
    for spec in _namespaced_specs(api):
        items, _, _, _ = api.store.page(bucket_name(spec), f"/{namespace}", rv=None, start=None,
                                        limit=1)
        if items:
            return
    ns_spec = api.table.lookup("", "v1", "namespaces")
    assert ns_spec is not None
    final = deep_copy(ns_obj)
    final["metadata"]["resourceVersion"] = str(api.store.next_rv())
    final.setdefault("spec", {})["finalizers"] = []
    api.store.delete(bucket_name(ns_spec), object_key(None, namespace), final)


def _drop_crd(api: Api, name: str, crd_spec: KindSpec) -> None:
    kinds = api.table.crd_kinds(name)
    if kinds:
        storage = api.table.storage_spec(kinds[0])
        bucket = bucket_name(storage)
        items, _ = api.store.snapshot_items(bucket)
        for obj in items:
            meta = obj["metadata"]
            key = object_key(meta.get("namespace") if storage.namespaced else None,
                             str(meta.get("name")))
            final = deep_copy(obj)
            final["metadata"]["resourceVersion"] = str(api.store.next_rv())
            api.store.delete(bucket, key, final)
        api.table.remove_crd(name)
        api.store.drop_bucket(bucket)
    current = api.store.get(bucket_name(crd_spec), object_key(None, name))
    if current is not None and not current["metadata"].get("finalizers"):
        final = deep_copy(current)
        final["metadata"]["resourceVersion"] = str(api.store.next_rv())
        api.store.delete(bucket_name(crd_spec), object_key(None, name), final)


def after_remove(final: Obj, spec: KindSpec, api: Api) -> None:
    """Side effects of an object leaving storage for good."""
    if _is_crd(spec):
        name = str(final["metadata"].get("name"))
        if api.table.crd_kinds(name):
            _drop_crd(api, name, spec)
        return
    namespace = final["metadata"].get("namespace")
    if spec.namespaced and namespace:
        try_finalize_namespace(api, str(namespace))
