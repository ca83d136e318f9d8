"""``/openapi/v2``: the Swagger 2.0 document kube-apiserver still serves for older tools.

Built from the same documents as ``/openapi/v3`` (:mod:`..kinds.openapi`): every path of every
group-version, each operation's parameters inline (``in: body`` for a request body, with
``consumes``/``produces``), and every schema under ``definitions`` with ``$ref`` pointing
there. Only JSON is served: asked for nothing but the protobuf form, the answer is ``406``,
which kubectl takes as "no v2" and falls back on (it reads v3 first anyway).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..kinds.data import load
from ..kinds.openapi import openapi_documents
from ..status import status_body
from ..storage.resources import ResourceTable
from .openapiv2proto import PROTOBUF, encode_document

__all__ = ["serve_openapi_v2", "swagger_document"]

_V3_REF = "#/components/schemas/"
_V2_REF = "#/definitions/"
_JSON = "application/json"
_V3_ONLY = ("anyOf", "oneOf", "not", "nullable")


def _schema(value: Any) -> Any:
    """A v3 schema node in Swagger 2.0 terms: ``$ref`` into definitions, single-``allOf``
    references unwrapped (their siblings go, as in the real v2), v3-only keywords dropped."""
    if isinstance(value, list):
        return [_schema(item) for item in value]
    if not isinstance(value, Mapping):
        return value
    all_of = value.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
        return {"$ref": str(all_of[0]["$ref"]).replace(_V3_REF, _V2_REF)}
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _V3_ONLY:
            continue
        if key == "$ref" and isinstance(item, str):
            out[key] = item.replace(_V3_REF, _V2_REF)
        elif key in ("properties", "patternProperties"):
            out[key] = {name: _schema(sub) for name, sub in item.items()}
        else:
            out[key] = _schema(item)
    return out


def _parameter(param: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in param.items() if k != "schema"}
    out.update(param.get("schema") or {})
    return out


def _operation(op: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: _schema(v) for k, v in op.items()
                           if k not in ("parameters", "requestBody", "responses")}
    parameters = [_parameter(p) for p in op.get("parameters") or []]
    body = op.get("requestBody")
    if isinstance(body, Mapping):
        content = body.get("content") or {}
        out["consumes"] = list(content)
        first: Mapping[str, Any] = next(iter(content.values()), {})
        entry: dict[str, Any] = {"in": "body", "name": "body",
                                 "schema": _schema(first.get("schema") or {})}
        if body.get("required"):
            entry["required"] = True
        parameters.insert(0, entry)
    if parameters:
        out["parameters"] = parameters
    produces: list[str] = []
    responses: dict[str, Any] = {}
    for code, response in (op.get("responses") or {}).items():
        content = response.get("content") or {}
        produces += [t for t in content if t not in produces]
        converted = {"description": response.get("description", "")}
        for media in list(content.values())[:1]:
            converted["schema"] = _schema(media.get("schema") or {})
        responses[code] = converted
    if produces:
        out["produces"] = produces
    out["responses"] = responses
    out["schemes"] = ["https"]
    return out


def _merge_gvks(old: Any, new: Any) -> list[Any]:
    merged = list(old or [])
    merged += [gvk for gvk in new or [] if gvk not in merged]
    return merged


def swagger_document(documents: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The Swagger 2.0 document of every path and schema of ``documents`` (OpenAPI v3)."""
    paths: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    for document in documents:
        for route, item in (document.get("paths") or {}).items():
            converted = paths.setdefault(route, {})
            for method, value in item.items():
                converted[method] = ([_parameter(p) for p in value] if method == "parameters"
                                     else _operation(value))
        for name, schema in ((document.get("components") or {}).get("schemas") or {}).items():
            converted_schema = _schema(schema)
            if name in definitions:
                key = "x-kubernetes-group-version-kind"
                gvks = _merge_gvks(definitions[name].get(key), converted_schema.get(key))
                if gvks:
                    definitions[name][key] = gvks
            else:
                definitions[name] = converted_schema
    return {
        "definitions": dict(sorted(definitions.items())),
        "info": {"title": "Kubernetes", "version": f"v{load()['kubernetes']}"},
        "paths": dict(sorted(paths.items())),
        "security": [{"BearerToken": []}],
        "securityDefinitions": {"BearerToken": {"in": "header", "name": "authorization",
                                                "type": "apiKey"}},
        "swagger": "2.0",
    }


def _served_as(accept: str) -> str | None:
    """The media type to answer with: the first of the client's that is served (JSON, or
    gnostic's protobuf, which kubectl asks for), JSON when it names none."""
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in (_JSON, "application/*", "*/*"):
            return _JSON
        if media == PROTOBUF:
            return PROTOBUF
    return None if accept.strip() else _JSON


def _build(table: ResourceTable, media: str) -> tuple[bytes, str]:
    document = swagger_document(openapi_documents(table.all()).values())
    body = encode_document(document) if media == PROTOBUF else \
        json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return body, '"' + hashlib.sha512(body).hexdigest().upper() + '"'


def serve_openapi_v2(table: ResourceTable, accept: str,
                     if_none_match: str | None) -> tuple[int, bytes, str, dict[str, str]]:
    """``(status, body, content type, headers)`` for ``GET /openapi/v2`` (rebuilt only when
    the served kinds change); ``406`` when the client takes neither JSON nor protobuf."""
    media = _served_as(accept)
    if media is None:
        refusal = status_body(406, "NotAcceptable",
                              f"only {_JSON} and {PROTOBUF} are served for /openapi/v2")
        return 406, json.dumps(refusal).encode(), _JSON, {}
    body, etag = table.cached(f"openapi-v2 {media}", lambda: _build(table, media))
    headers = {"Etag": etag, "Vary": "Accept"}
    # the protobuf goes out as kube-openapi sends it: the requested type is no valid MIME
    # type (Go's mime parser refuses its "@")
    content_type = _JSON if media == _JSON else "application/octet-stream"
    if if_none_match == etag:
        return 304, b"", content_type, headers
    return 200, body, content_type, headers
