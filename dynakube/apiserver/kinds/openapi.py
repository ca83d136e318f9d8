"""The embedded server's ``/openapi/v3``: the index and one document per group-version.

:func:`openapi_documents` builds every document a server with the given kinds publishes, keyed
by the index path (``api``, ``apis``, ``api/v1``, ``apis/apps``, ``apis/apps/v1``,
``version``); :func:`openapi_index` lists them with ``?hash=`` URLs, the hash being the
uppercase hex SHA-512 of the encoded document (:func:`encode_document`), as the real server's.
Custom resource kinds get their schema from the CRD's ``openAPIV3Schema`` plus the standard
``apiVersion``/``kind``/``metadata`` fields, shaped as a real server publishes them.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from dynakube.apiserver.kinds.data import (
    BUILTIN_SCHEMAS,
    META,
    builtin_document,
    builtin_document_paths,
    schema_ref,
)
from dynakube.apiserver.kinds.specs import KindSpec

__all__ = [
    "crd_kind_schema",
    "crd_list_schema",
    "encode_document",
    "group_version_document",
    "openapi_documents",
    "openapi_hash",
    "openapi_index",
]

_CRD_INFO = {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"}
_SECURITY = {"BearerToken": {"description": "Bearer token authentication", "in": "header",
                             "name": "authorization", "type": "apiKey"}}
_JSON_TYPES = ("application/json", "application/yaml")


def encode_document(document: Mapping[str, Any]) -> bytes:
    """The bytes to serve for ``document`` (stable: sorted keys, compact)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def openapi_hash(document: Mapping[str, Any]) -> str:
    """Uppercase hex SHA-512 of :func:`encode_document`, as in the index's ``?hash=``."""
    return hashlib.sha512(encode_document(document)).hexdigest().upper()


def openapi_index(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ``/openapi/v3`` body: ``{"paths": {path: {"serverRelativeURL": ...}}}``."""
    return {"paths": {
        path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={openapi_hash(documents[path])}"}
        for path in sorted(documents)
    }}


# ---------------------------------------------------------------- schemas


def _refs(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item.rsplit("/", 1)[-1]
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _with_references(schemas: dict[str, Any]) -> dict[str, Any]:
    """``schemas`` plus every built-in schema they reference, transitively; sorted by name."""
    pending = [name for schema in list(schemas.values()) for name in _refs(schema)]
    while pending:
        name = pending.pop()
        if name in schemas or name not in BUILTIN_SCHEMAS:
            continue
        schemas[name] = copy.deepcopy(dict(BUILTIN_SCHEMAS[name]))
        pending.extend(_refs(schemas[name]))
    return dict(sorted(schemas.items()))


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _standard_fields(metadata_description: str) -> dict[str, Any]:
    return {
        "apiVersion": {"description": "The versioned schema of this object, group/version.",
                       "type": "string"},
        "kind": {"description": "The kind of this object, in CamelCase.", "type": "string"},
        "metadata": {"allOf": [{"$ref": schema_ref(META + "ObjectMeta")}],
                     "description": metadata_description},
    }


def _publish(schema: Any) -> Any:
    """A CRD schema node as the server publishes it (int-or-string anyOf, embedded fields)."""
    if isinstance(schema, list):
        return [_publish(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "definitions") and isinstance(value, Mapping):
            out[key] = {k: _publish(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = _publish(value)
        else:
            out[key] = copy.deepcopy(value)
    if out.get("x-kubernetes-int-or-string") and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("x-kubernetes-embedded-resource"):
        properties = out.setdefault("properties", {})
        for key, value in _standard_fields("Standard object metadata.").items():
            properties.setdefault(key, value)
        required = list(out.get("required") or [])
        out["required"] = required + [k for k in ("kind", "apiVersion") if k not in required]
    return out


def crd_kind_schema(kind: KindSpec) -> dict[str, Any]:
    """The component schema of a custom resource kind (from its CRD's openAPIV3Schema)."""
    out = _publish(kind.schema or {"type": "object"})
    out.setdefault("type", "object")
    properties = out.setdefault("properties", {})
    properties.update(_standard_fields("Standard object metadata."))
    out["x-kubernetes-group-version-kind"] = [
        {"group": kind.group, "kind": kind.kind, "version": kind.version}
    ]
    return dict(_sorted(out))


def crd_list_schema(kind: KindSpec) -> dict[str, Any]:
    """The component schema of a custom resource's list kind."""
    fields = _standard_fields("Standard list metadata.")
    fields["metadata"] = {"allOf": [{"$ref": schema_ref(META + "ListMeta")}],
                          "description": "Standard list metadata."}
    fields["items"] = {"description": f"The {kind.plural}.", "type": "array",
                       "items": {"$ref": schema_ref(kind.schema_name)}}
    return dict(_sorted({
        "description": f"A list of {kind.kind} objects.",
        "properties": fields,
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [
            {"group": kind.group, "kind": kind.list_kind, "version": kind.version}
        ],
    }))


# ---------------------------------------------------------------- paths and operations


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace("-", ".").split("."))


def _content(name: str, types: Iterable[str] = _JSON_TYPES) -> dict[str, Any]:
    return {t: {"schema": {"$ref": schema_ref(name)}} for t in types}




def _responses(codes: dict[str, str], types: Iterable[str] = _JSON_TYPES) -> dict[str, Any]:
    words = {"200": "OK", "201": "Created", "202": "Accepted"}
    types = tuple(types)
    out: dict[str, Any] = {code: {"content": _content(name, types), "description": words[code]}
                           for code, name in codes.items()}
    out["401"] = {"description": "Unauthorized"}
    return out


def _param(name: str, where: str, description: str, kind: str = "string") -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "in": where, "name": name,
                           "schema": {"type": kind, "uniqueItems": True}}
    if where == "path":
        out["required"] = True
    return out


_LIST_PARAMS = [
    _param("allowWatchBookmarks", "query", "Ask for BOOKMARK events in a watch.", "boolean"),
    _param("continue", "query", "Token from the previous page of a paginated list."),
    _param("fieldSelector", "query", "Restrict the list by object fields."),
    _param("labelSelector", "query", "Restrict the list by labels."),
    _param("limit", "query", "Most items to return in one page.", "integer"),
    _param("resourceVersion", "query", "The version a list or watch starts from."),
    _param("resourceVersionMatch", "query", "How resourceVersion applies to a list."),
    _param("sendInitialEvents", "query", "Start a watch with the current objects.", "boolean"),
    _param("timeoutSeconds", "query", "Seconds after which a list or watch ends.", "integer"),
    _param("watch", "query", "Stream changes instead of listing.", "boolean"),
]
_WRITE_PARAMS = [
    _param("dryRun", "query", "All: validate without persisting."),
    _param("fieldManager", "query", "Who is making the change (required for apply)."),
    _param("fieldValidation", "query", "Ignore, Warn or Strict about unknown fields."),
]
_PATCH_PARAMS = [*_WRITE_PARAMS, _param("force", "query", "Take over conflicting fields on "
                                                          "apply.", "boolean")]
_DELETE_PARAMS = [
    _param("dryRun", "query", "All: validate without persisting."),
    _param("gracePeriodSeconds", "query", "Seconds before the object is deleted.", "integer"),
    _param("propagationPolicy", "query", "Orphan, Background or Foreground."),
]


class _Paths:
    def __init__(self, kind: KindSpec) -> None:
        self.kind = kind
        # Custom resource groups are named by all their labels (example.dynakube.io:
        # ExampleDynakubeIo).
        self.stem = f"{_camel(kind.group)}{_camel(kind.version)}"
        camel = _camel(kind.group)
        self.tag = camel[:1].lower() + camel[1:] + f"_{kind.version}"
        self.gvk = {"group": kind.group, "kind": kind.kind, "version": kind.version}
        self.prefix = f"/apis/{kind.group}/{kind.version}"

    def op(self, verb: str, name: str, action: str, description: str, responses: dict[str, str],
           params: list[dict[str, Any]] | None = None, body: str | None = None,
           patch: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "description": description,
            "operationId": f"{verb}{self.stem}{name}",
            "responses": _responses(responses),
            "tags": [self.tag],
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": self.gvk,
        }
        if params:
            out["parameters"] = params
        if body is not None:
            patches = ["application/apply-patch+yaml", "application/json-patch+json",
                       "application/merge-patch+json"]
            out["requestBody"] = {"content": _content(body, patches if patch else _JSON_TYPES),
                                  "required": True}
        if action == "delete":
            out["requestBody"] = {"content": _content(META + "DeleteOptions", _JSON_TYPES)}
        return out

    def build(self) -> dict[str, Any]:
        k = self.kind
        scope = "Namespaced" if k.namespaced else ""
        ns = "/namespaces/{namespace}" if k.namespaced else ""
        collection = f"{self.prefix}{ns}/{k.plural}"
        item = f"{collection}/{{name}}"
        common = [_param("pretty", "query", "Indent the output.")]
        ns_param = ([_param("namespace", "path", "The object's namespace.")]
                    if k.namespaced else [])
        name_param = [_param("name", "path", f"Name of the {k.kind}.")]
        schema, list_schema = k.schema_name, self._list_name()
        deleted = schema if k.delete_returns_object else META + "Status"
        paths: dict[str, Any] = {
            collection: {
                "delete": self.op("delete", f"Collection{scope}{k.kind}", "deletecollection",
                                  f"Delete a collection of {k.kind}.", {"200": META + "Status"},
                                  [*_DELETE_PARAMS, *_LIST_PARAMS]),
                "get": self.op("list", f"{scope}{k.kind}", "list", f"List {k.kind} objects.",
                               {"200": list_schema}, _LIST_PARAMS),
                "parameters": [*ns_param, *common],
                "post": self.op("create", f"{scope}{k.kind}", "post", f"Create a {k.kind}.",
                                {"200": schema, "201": schema, "202": schema}, _WRITE_PARAMS,
                                schema),
            },
            item: {
                "delete": self.op("delete", f"{scope}{k.kind}", "delete", f"Delete a {k.kind}.",
                                  {"200": deleted, "202": deleted}, _DELETE_PARAMS),
                "get": self.op("read", f"{scope}{k.kind}", "get", f"Read a {k.kind}.",
                               {"200": schema}),
                "parameters": [*name_param, *ns_param, *common],
                "patch": self.op("patch", f"{scope}{k.kind}", "patch",
                                 f"Partially update a {k.kind}.", self._patched(schema),
                                 _PATCH_PARAMS, META + "Patch", patch=True),
                "put": self.op("replace", f"{scope}{k.kind}", "put", f"Replace a {k.kind}.",
                               {"200": schema, "201": schema}, _WRITE_PARAMS, schema),
            },
        }
        for sub in k.subresources:
            if sub.name not in ("status", "scale"):
                continue
            target = "io.k8s.api.autoscaling.v1.Scale" if sub.name == "scale" else schema
            label = _camel(sub.name)
            paths[f"{item}/{sub.name}"] = {
                "get": self.op("read", f"{scope}{k.kind}{label}", "get",
                               f"Read the {sub.name} of a {k.kind}.", {"200": target}),
                "parameters": [*name_param, *ns_param, *common],
                "patch": self.op("patch", f"{scope}{k.kind}{label}", "patch",
                                 f"Partially update the {sub.name} of a {k.kind}.",
                                 self._patched(target), _PATCH_PARAMS,
                                 META + "Patch", patch=True),
                "put": self.op("replace", f"{scope}{k.kind}{label}", "put",
                               f"Replace the {sub.name} of a {k.kind}.",
                               {"200": target, "201": target}, _WRITE_PARAMS, target),
            }
        if k.namespaced:
            paths[f"{self.prefix}/{k.plural}"] = {
                "get": self.op("list", f"{k.kind}ForAllNamespaces", "list",
                               f"List {k.kind} objects in all namespaces.", {"200": list_schema},
                               _LIST_PARAMS),
                "parameters": common,
            }
        return self._drop_missing_verbs(paths)

    def _patched(self, schema: str) -> dict[str, str]:
        return {"200": schema}

    def _drop_missing_verbs(self, paths: dict[str, Any]) -> dict[str, Any]:
        verbs = set(self.kind.verbs)
        needed = {"deletecollection": "deletecollection", "list": "list", "post": "create",
                  "delete": "delete", "get": "get", "patch": "patch", "put": "update",
                  "watchlist": "watch", "watch": "watch"}
        for item in paths.values():
            for method in [m for m in item if m != "parameters"]:
                action = item[method].get("x-kubernetes-action")
                if needed.get(action, "get") not in verbs:
                    del item[method]
        return {path: item for path, item in paths.items() if set(item) - {"parameters"}}

    def _list_name(self) -> str:
        return self.kind.schema_name.rsplit(".", 1)[0] + "." + self.kind.list_kind


def _meta_kinds(schemas: dict[str, Any]) -> None:
    """A CRD document's DeleteOptions and WatchEvent list only the core group-version."""
    for name in (META + "DeleteOptions", META + "WatchEvent"):
        if name in schemas:
            kind = name.rsplit(".", 1)[-1]
            schemas[name]["x-kubernetes-group-version-kind"] = [
                {"group": "", "kind": kind, "version": "v1"}]


def _document(info: Mapping[str, str], paths: dict[str, Any],
              schemas: dict[str, Any]) -> dict[str, Any]:
    for name in set(_refs(paths)) - set(schemas):
        if name in BUILTIN_SCHEMAS:
            schemas[name] = copy.deepcopy(dict(BUILTIN_SCHEMAS[name]))
    return {
        "components": {"schemas": _with_references(schemas), "securitySchemes": _SECURITY},
        "info": dict(info),
        "openapi": "3.0.0",
        "paths": dict(sorted(paths.items())),
    }


def group_version_document(group: str, version: str, kinds: Iterable[KindSpec]) -> dict[str, Any]:
    """The document of one custom resource group-version: paths for each kind, their schemas
    and the built-in schemas they reference."""
    selected = [k for k in kinds if (k.group, k.version) == (group, version) and k.is_custom]
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        name: copy.deepcopy(dict(BUILTIN_SCHEMAS[name]))
        for name in (META + "DeleteOptions", META + "Status", META + "Patch")
    }
    for kind in selected:
        paths.update(_Paths(kind).build())
        schemas[kind.schema_name] = crd_kind_schema(kind)
        schemas[_Paths(kind)._list_name()] = crd_list_schema(kind)
    _meta_kinds(schemas)
    return _document(_CRD_INFO, paths, schemas)


def openapi_documents(kinds: Iterable[KindSpec]) -> dict[str, dict[str, Any]]:
    """Every document a server serving ``kinds`` publishes, keyed by its index path: the
    built-in ones as the real server serves them (from :mod:`.data`), one per custom resource
    group-version."""
    documents: dict[str, dict[str, Any]] = {}
    for path in builtin_document_paths():
        document = builtin_document(path)
        if document is not None:
            documents[path] = document
    custom = [k for k in kinds if k.is_custom]
    for group, version in sorted({(k.group, k.version) for k in custom}):
        documents[f"apis/{group}/{version}"] = group_version_document(group, version, custom)
    return dict(sorted(documents.items()))
