"""PATCH and the ``scale`` subresource of the embedded server.

The patch formats themselves are in :mod:`.patching` and server-side apply in
:mod:`.fieldmanager`; this module picks the format from ``Content-Type`` (``415`` for what the
resource does not accept), applies it to the stored object and hands the result to the same
write path as a replace.
"""

from __future__ import annotations

from typing import Any

from ..call import Call, Reply
from ..kinds import decoding
from ..kinds.specs import KindSpec, jsonpath_value, set_path
from ..merge.patching import (
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from ..merge.strategy import patch_strategies
from ..objects import Obj, check_type_meta, decode_body, deep_copy, for_version
from ..rules import validating
from ..status import (
    StatusError,
    bad_request,
    conflict,
    route_unsupported_media_type,
    unsupported_media_type,
)
from ..yamlbody import yaml_as_json
from .crud import Api
from .options import check_write_options

__all__ = ["patch", "get_scale", "update_scale", "scale_of", "accepted_patch_types"]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
_SCALE_SCHEMA = "io.k8s.api.autoscaling.v1.Scale"
_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC, APPLY, "application/apply-patch+cbor")


def accepted_patch_types(api: Api, spec: KindSpec) -> list[str]:
    types = [JSON_PATCH, MERGE_PATCH]
    if not spec.is_custom:
        types.append(STRATEGIC)
    if api.options.server_side_apply:
        types.append(APPLY)
    return types


def _decode_apply(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    try:
        value = yaml_as_json(text)
    except StatusError:
        raise
    except Exception as exc:  # yaml.YAMLError and friends: a 400 like the server's
        raise bad_request(f"error decoding YAML: {exc}") from None
    if not isinstance(value, dict):
        raise bad_request("couldn't get version/kind; json parse error: unexpected end of JSON "
                          "input" if value is None else
                          f"error decoding YAML: cannot unmarshal {type(value).__name__} "
                          "into an object")
    return value


def _run(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except PatchError as exc:
        raise StatusError(exc.code, exc.status()) from None


def patch(api: Api, call: Call) -> Reply:
    spec = call.spec
    ctype = call.content_type.split(";")[0].strip().lower()
    accepted = accepted_patch_types(api, spec)
    if ctype not in accepted:
        if not spec.is_custom and ctype not in _PATCH_TYPES:
            raise route_unsupported_media_type()  # no built-in route consumes it
        raise unsupported_media_type(accepted)
    check_write_options(call, patch_type="apply" if ctype == APPLY else ctype)
    if call.subresource == "scale":
        return _patch_scale(api, call, ctype)
    if ctype == APPLY:
        return _apply(api, call)
    document = decode_body(call.body, spec, expect_object=False)
    with api.write_lock:  # patch the newest state: no 409 for a write that landed meanwhile
        base = for_version(api.current(call), spec)
        patched = _patched(ctype, base, document, patch_strategies(spec.api_version, spec.kind))
        if not isinstance(patched, dict):
            raise bad_request("the patch did not produce an object")
        check_type_meta(patched, spec, call.body)
        return api.write(call, patched, operation="Update")


def _patched(ctype: str, base: Obj, document: Any, merge_keys: Any) -> Any:
    if ctype == JSON_PATCH:
        return _run(apply_json_patch, base, document)
    if ctype == MERGE_PATCH:
        return _run(apply_merge_patch, base, document)
    return _run(apply_strategic_merge_patch, base, document, merge_keys)


def _apply(api: Api, call: Call) -> Reply:
    spec = call.spec
    applied = _decode_apply(call.body)
    if not applied.get("apiVersion"):  # the URL does not stand in for it, as on a create
        raise bad_request("Incorrect version specified in apply patch. Specified patch "
                          f"version: , expected: {spec.api_version}")
    check_type_meta(applied, spec, call.body)
    name = applied["metadata"].get("name")
    if name and name != call.name:
        raise bad_request(f"the name of the object ({name}) does not match the name on the URL "
                          f"({call.name})")
    warnings = validating.check_fields(applied, spec, call.query.get("fieldValidation"), api)
    with api.write_lock:
        live = api.store.get(api.bucket(spec), call.key)
        if live is None:
            result = validating.apply(None, applied, spec, call)
            result.setdefault("metadata", {})["name"] = call.name
            managed = result["metadata"].pop("managedFields", None)
            return api.create(call, result, managed=managed, warnings=warnings)
        result = validating.apply(for_version(live, spec), applied, spec, call)
        managed = result["metadata"].get("managedFields")
        result["metadata"]["resourceVersion"] = live["metadata"].get("resourceVersion")
        reply = api.write(call, result, operation="Apply", warnings=warnings,
                          managed=managed)
    return reply


# -- scale -----------------------------------------------------------------------------------


def _paths(spec: KindSpec) -> tuple[str, str, str | None]:
    if spec.scale is not None:
        return spec.scale.spec_replicas, spec.scale.status_replicas, spec.scale.label_selector
    return ".spec.replicas", ".status.replicas", None


def _selector_text(obj: Obj) -> str | None:
    from dynakube.selector import format_label_selector

    selector = (obj.get("spec") or {}).get("selector")
    if isinstance(selector, dict):
        return format_label_selector(selector)
    return None


def scale_of(obj: Obj, spec: KindSpec) -> Obj:
    spec_path, status_path, selector_path = _paths(spec)
    found, replicas = jsonpath_value(obj, spec_path)
    _, current = jsonpath_value(obj, status_path)
    meta = obj["metadata"]
    status: dict[str, Any] = {"replicas": current if isinstance(current, int) else 0}
    if selector_path:
        ok, selector = jsonpath_value(obj, selector_path)
        if ok and selector:
            status["selector"] = selector
    elif not spec.is_custom:
        text = _selector_text(obj)
        if text:
            status["selector"] = text
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                       "creationTimestamp") if k in meta}
    return {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": scale_meta,
            "spec": {"replicas": replicas if found and isinstance(replicas, int) else 0},
            "status": status}


def get_scale(api: Api, call: Call) -> Reply:
    return Reply(200, scale_of(api.current(call), call.spec))


def _write_scale(api: Api, call: Call, scale: Obj, current: Obj) -> Reply:
    spec = call.spec
    if not isinstance(scale, dict) or scale.get("kind") not in (None, "Scale"):
        raise bad_request("the body is not a Scale")
    decoded = decoding.decode_builtin(scale, _SCALE_SCHEMA)
    if decoded.error:
        raise bad_request(decoding.cannot_handle_message("Scale", "v1", decoded.error))
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or replicas < 0:
        from ..status import cause, invalid

        raise invalid("Scale", call.name or "", [cause(
            "spec.replicas", "FieldValueInvalid",
            f"Invalid value: {replicas}: must be greater than or equal to 0")], "autoscaling")
    wanted = (scale.get("metadata") or {}).get("resourceVersion")
    if wanted and wanted != current["metadata"].get("resourceVersion"):
        raise conflict(spec.plural, call.name or "", "the object has been modified; please "
                       "apply your changes to the latest version and try again", spec.group)
    updated = deep_copy(for_version(current, spec))
    set_path(updated, tuple(p for p in _paths(spec)[0].strip().split(".") if p), replicas)
    updated["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
    reply = api.write(call, updated, operation="Update", warnings=[])
    stored = api.store.get(api.bucket(spec), call.key)
    final = reply.body if call.dry_run or stored is None else stored
    return Reply(200, scale_of(final, spec), warnings=reply.warnings)


def update_scale(api: Api, call: Call) -> Reply:
    scale = decode_body(call.body, call.spec)
    with api.write_lock:
        return _write_scale(api, call, scale, api.current(call))


def _patch_scale(api: Api, call: Call, ctype: str) -> Reply:
    with api.write_lock:
        current = api.current(call)
        base = scale_of(current, call.spec)
        if ctype == APPLY:
            raise unsupported_media_type([JSON_PATCH, MERGE_PATCH])
        document = decode_body(call.body, call.spec, expect_object=False)
        return _write_scale(api, call, _patched(ctype, base, document, None), current)
