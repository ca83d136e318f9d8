"""Where the embedded server's verbs meet the kind-specific rules.

Schema checks, defaulting and pruning (:mod:`.structural`), managedFields (:mod:`.fieldmanager`
with the field sets of :mod:`.fieldset`) and the lifecycle side effects of a
CustomResourceDefinition (serving and un-serving its resources) and a Namespace (its default
objects and its termination, in :mod:`.namespaces`). The verbs in :mod:`..verbs` call these
functions at fixed points and stay kind-agnostic. They type the server against
:class:`~..call.ApiState` and never import the verbs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..call import ApiState, Call
from ..kinds import decoding
from ..kinds.specs import KindSpec
from ..merge import fieldmanager, fieldset
from ..merge.patching import PatchError
from ..objects import Obj, canonical, deep_copy, has_status_subresource, now_rfc3339
from ..status import StatusError, bad_request, cause, forbidden, invalid
from ..storage.resources import bucket_name
from ..storage.store import storage_key
from . import lifecycle, namespaces, structural

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
]

Hook = Callable[[], None] | None


def _field_problems(obj: Obj, spec: KindSpec, raw: bytes | None) -> list[str]:
    """Unknown (and, for built-ins, repeated) fields as strict-decoding problems; built-ins
    are decoded in place (a wrong type is a 400 here)."""
    if spec.is_custom:
        return [structural.unknown_field_warning(path)
                for path in structural.prune(deep_copy(obj), spec.schema or {})]
    result = decoding.decode_builtin(obj, spec.schema_name, raw=raw)
    if result.error:
        raise bad_request(decoding.cannot_handle_message(spec.kind, spec.version, result.error))
    return list(result.problems)


def check_fields(obj: Obj, spec: KindSpec, mode: str | None, api: ApiState,
                 raw: bytes | None = None) -> list[str]:
    """Unknown and repeated fields per ``fieldValidation``: Strict -> 400, Warn (default) ->
    warnings. ``raw``: the body ``obj`` came from, to find keys it repeats."""
    mode = mode or "Warn"  # the verbs refused any other value (..verbs.options)
    problems = _field_problems(obj, spec, raw)
    if not problems or mode == "Ignore":
        return []
    if mode == "Strict":
        raise bad_request(decoding.cannot_handle_message(
            spec.kind, spec.version, "strict decoding error: " + ", ".join(problems)))
    return problems


_BYTES_FIELDS = {("", "Secret"): "data", ("", "ConfigMap"): "binaryData"}


def _canonical_bytes(obj: Obj, spec: KindSpec) -> None:
    """Go decodes ``[]byte`` fields from base64 that may be wrapped over lines and encodes
    them back without: store what the real server would serve."""
    field = _BYTES_FIELDS.get((spec.group, spec.kind))
    values = obj.get(field) if field else None
    if isinstance(values, dict):
        for key, value in values.items():
            if isinstance(value, str) and ("\n" in value or "\r" in value):
                values[key] = value.replace("\r", "").replace("\n", "")


def admit(obj: Obj, old: Obj | None, spec: KindSpec, api: ApiState) -> Obj:
    """Default, prune and validate a custom resource (built-ins were decoded already)."""
    _canonical_bytes(obj, spec)
    if spec.is_custom:
        schema = spec.schema or {}
        structural.prepare_custom_resource(obj, schema)
        causes = structural.validate_custom_resource(obj, schema, old)
        if causes:
            name = str(obj.get("metadata", {}).get("name", ""))
            raise StatusError(422, structural.invalid_status(spec.kind, spec.group, name, causes))
    return obj


def storage_defaults(obj: Obj, spec: KindSpec, api: ApiState) -> None:
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
    return fieldset.builtin_field_rules(spec.schema_name) if spec.schema_name else None


_UNRECORDED = frozenset({("certificates.k8s.io", "CertificateSigningRequest")})
"""Kinds whose writes kube-apiserver 1.36 answers without managedFields (its field manager
fails on them and leaves the object as it was: the recordings show none)."""


def check_manager(call: Call, options_kind: str, apply: bool) -> None:
    """The ``422`` for a missing (apply) or too long ``fieldManager``."""
    problem = fieldmanager.check_field_manager(call.query.get("fieldManager"), apply=apply,
                                               options_kind=options_kind)
    if problem is not None:
        raise StatusError(int(problem["code"]), problem)


def _ignored(spec: KindSpec, subresource: str | None) -> list[tuple[str, ...]]:
    """The strategy's reset fields: what a write through ``subresource`` cannot set, which
    the field manager leaves out."""
    if subresource == "status":
        return [("spec",)]
    if (spec.group, spec.kind) == ("", "Namespace") and subresource is None:
        return [("status",), ("spec", "finalizers")]  # they change through finalize
    if has_status_subresource(spec):
        return [("status",)]
    return []


def manage_fields(old: Obj | None, new: Obj, spec: KindSpec, call: Call, operation: str,
                  *, tracked: bool = True, seen: Obj | None = None) -> None:
    """Record ``call``'s manager in ``new``'s managedFields (an ``Update``).

    ``seen`` is the object as the field manager saw it, when admission or the strategy
    changed it afterwards (:func:`..verbs.crud._default`): what they set belongs to no
    manager. ``tracked=False`` (a request with unknown fields), or a kind whose managedFields
    kube-apiserver does not record, keeps the stored entries as they are."""
    options_kind = {"POST": "CreateOptions", "PUT": "UpdateOptions"}.get(call.method,
                                                                          "PatchOptions")
    check_manager(call, options_kind, apply=False)
    if not tracked or (spec.group, spec.kind) in _UNRECORDED:
        if old is not None and old["metadata"].get("managedFields"):
            new["metadata"]["managedFields"] = old["metadata"]["managedFields"]
        else:
            new["metadata"].pop("managedFields", None)
        return
    manager = fieldmanager.default_manager(call.query.get("fieldManager"), call.user_agent)
    when = None if call.subresource == "scale" else now_rfc3339()
    managed = fieldmanager.update_managed_fields(
        old, new if seen is None else seen, manager=manager, api_version=spec.api_version,
        time=when, operation="Update", subresource=call.subresource, rules=_rules(spec),
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


def before_create(obj: Obj, spec: KindSpec, api: ApiState, call: Call) -> Hook:
    if (spec.group, spec.kind) == ("", "Namespace"):
        name = str(obj["metadata"]["name"])
        return lambda: namespaces.populate(api, name, api.ca_pem)
    if not _is_crd(spec):  # a Service's allocations are in kinds.defaults
        return None
    _check_crd(obj)
    return lambda: _establish_crd(api, spec, obj)


def _serve_crd(api: ApiState, obj: Obj) -> None:
    api.table.set_crd(obj)


def _establish_crd(api: ApiState, spec: KindSpec, obj: Obj) -> None:
    """A new CRD is answered with the empty status the strategy gives it; then the naming
    and establishing controllers (in-process in kube-apiserver) accept its names and mark
    it ``Established``: a second write, which a watch sees as ``MODIFIED``."""
    bucket, key = api.bucket(spec), storage_key(None, str(obj["metadata"]["name"]))
    stored = api.store.get(bucket, key)
    if stored is None:
        return
    established = deep_copy(stored)
    kept = list((stored.get("status") or {}).get("storedVersions") or [])
    _crd_status(established)
    established["status"]["storedVersions"] = kept or established["status"]["storedVersions"]
    established["metadata"]["resourceVersion"] = str(api.store.next_rv())
    established = canonical(established)
    api.store.put(bucket, key, established)
    _serve_crd(api, established)


def before_update(new: Obj, old: Obj, spec: KindSpec, api: ApiState, call: Call) -> Hook:
    meta = new["metadata"]
    if (spec.group, spec.kind, meta.get("name")) == ("", "ConfigMap",
                                                     namespaces.ROOT_CA_CONFIGMAP):
        namespace = str(meta.get("namespace"))
        return lambda: namespaces.publish_root_ca(api, namespace, api.ca_pem)
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


def before_delete(obj: Obj, spec: KindSpec, api: ApiState, call: Call) -> Hook:
    if (spec.group, spec.kind) == ("", "Namespace"):
        name = str(obj["metadata"]["name"])
        if name in _UNDELETABLE:
            raise forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                            {"name": name, "kind": "namespaces"})
        return None
    if _is_crd(spec):
        name = str(obj["metadata"]["name"])
        return lambda: _drop_crd(api, name, spec)
    return None


def _drop_crd(api: ApiState, name: str, crd_spec: KindSpec) -> None:
    kinds = api.table.crd_kinds(name)
    if kinds:
        storage = api.table.storage_spec(kinds[0])
        bucket = bucket_name(storage)
        items, _ = api.store.snapshot_items(bucket)
        for obj in items:
            meta = obj["metadata"]
            key = storage_key(meta.get("namespace") if storage.namespaced else None,
                             str(meta.get("name")))
            final = deep_copy(obj)
            final["metadata"]["resourceVersion"] = str(api.store.next_rv())
            api.store.delete(bucket, key, final)
        api.table.remove_crd(name)
        api.store.drop_bucket(bucket)
    current = api.store.get(bucket_name(crd_spec), storage_key(None, name))
    if current is not None and not current["metadata"].get("finalizers"):
        final = deep_copy(current)
        final["metadata"]["resourceVersion"] = str(api.store.next_rv())
        api.store.delete(bucket_name(crd_spec), storage_key(None, name), final)


def after_remove(final: Obj, spec: KindSpec, api: ApiState) -> None:
    """Side effects of an object leaving storage for good."""
    if _is_crd(spec):
        name = str(final["metadata"].get("name"))
        if api.table.crd_kinds(name):
            _drop_crd(api, name, spec)
        return
    lifecycle.released_by(api, spec, final)
    namespace = final["metadata"].get("namespace")
    if spec.namespaced and namespace:
        namespaces.finalize_if_empty(api, str(namespace))
        namespaces.restore_default(api, spec, final)
