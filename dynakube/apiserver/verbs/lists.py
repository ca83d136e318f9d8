"""Lists, delete-collection, tables and metadata-only answers of the embedded server.

Pages read a consistent snapshot: the ``continue`` token carries the revision of the first
page (encoded as the real server encodes it), and a token older than the compacted history
gets ``410 Expired``. Selectors use :mod:`dynakube.selector`, with the real error wording.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from typing import Any

from dynakube.selector import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)

from ..kinds.specs import KindSpec
from ..objects import Obj, strip_type_meta
from ..status import StatusError, bad_request, cause, expired, invalid, status_body
from ..storage.store import TooOld, object_key
from .crud import Api, Call, Reply

__all__ = [
    "Selection",
    "selection",
    "list_objects",
    "list_body",
    "list_reply",
    "partial",
    "delete_collection",
    "wants",
    "as_table",
    "as_partial",
    "encode_continue",
    "field_values",
]

_INCONSISTENT = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)


class Selection:
    """Label and field selectors of one request, checked against the resource."""

    def __init__(self, labels: LabelSelector, fields: FieldSelector):
        self.labels = labels
        self.fields = fields

    @property
    def empty(self) -> bool:
        return self.labels.empty and not self.fields.requirements

    def matches(self, obj: Obj) -> bool:
        meta = obj.get("metadata") or {}
        if not self.labels.matches(meta.get("labels") or {}):
            return False
        if self.fields.requirements and not self.fields.matches(field_values(obj)):
            return False
        return True


def field_values(obj: Obj) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    values = {"metadata.name": str(meta.get("name", "")),
              "metadata.namespace": str(meta.get("namespace", ""))}
    kind = obj.get("kind")
    if kind == "Pod":
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        values.update({"spec.nodeName": str(spec.get("nodeName", "")),
                       "spec.restartPolicy": str(spec.get("restartPolicy", "")),
                       "spec.schedulerName": str(spec.get("schedulerName", "")),
                       "spec.serviceAccountName": str(spec.get("serviceAccountName", "")),
                       "status.phase": str(status.get("phase", "")),
                       "status.podIP": str(status.get("podIP", ""))})
    elif kind == "Event":
        involved = obj.get("involvedObject") or {}
        for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion",
                    "fieldPath"):
            values[f"involvedObject.{key}"] = str(involved.get(key, ""))
        values["reason"] = str(obj.get("reason", ""))
        values["type"] = str(obj.get("type", ""))
        values["source"] = str((obj.get("source") or {}).get("component", ""))
    elif kind == "Secret":
        values["type"] = str(obj.get("type", ""))
    elif kind == "Namespace":
        values["status.phase"] = str((obj.get("status") or {}).get("phase", ""))
    return values


def _allowed_fields(spec: KindSpec) -> set[str]:
    sample: Obj = {"kind": spec.kind, "metadata": {}}
    return set(field_values(sample))


def selection(call: Call) -> Selection:
    try:
        labels = parse_label_selector(call.query.get("labelSelector"))
    except SelectorError as exc:
        raise bad_request(str(exc)) from None
    try:
        fields = parse_field_selector(call.query.get("fieldSelector"))
    except SelectorError as exc:
        raise bad_request(str(exc)) from None
    allowed = _allowed_fields(call.spec)
    for name in fields.fields:
        if name not in allowed:
            raise bad_request(f'field label not supported: {name}')
    return Selection(labels, fields)


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
            raise ValueError("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        rv, start = int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise bad_request(f"continue key is not valid: {exc}") from None
    if ".." in start.split("/") or not start.startswith("/"):
        raise bad_request("continue key is not valid: key is not a valid start key")
    return rv, start


def _too_large(wanted: int, current: int) -> StatusError:
    return StatusError(504, status_body(
        504, "Timeout", f"Too large resource version: {wanted}, current: {current}",
        {"causes": [{"reason": "ResourceVersionTooLarge",
                     "message": "Too large resource version"}], "retryAfterSeconds": 1}),
        {"Retry-After": "1"})


def _list_rv(api: Api, call: Call, has_continue: bool) -> int | None:
    rv_text = call.query.get("resourceVersion")
    match = call.query.get("resourceVersionMatch")
    if match:
        problems = []
        if match not in ("Exact", "NotOlderThan"):
            problems.append(cause("resourceVersionMatch", "FieldValueNotSupported",
                                  f'Unsupported value: "{match}": supported values: "Exact", '
                                  '"NotOlderThan"'))
        elif not rv_text:
            problems.append(cause("resourceVersionMatch", "FieldValueForbidden",
                                  "Forbidden: resourceVersionMatch is forbidden unless "
                                  "resourceVersion is provided"))
        elif has_continue:
            problems.append(cause("resourceVersionMatch", "FieldValueForbidden",
                                  "Forbidden: resourceVersionMatch is forbidden when continue "
                                  "is provided"))
        elif match == "Exact" and rv_text == "0":
            problems.append(cause("resourceVersionMatch", "FieldValueForbidden",
                                  'Forbidden: resourceVersionMatch "exact" is forbidden for '
                                  'resourceVersion "0"'))
        if problems:
            raise invalid("ListOptions", "", problems, "meta.k8s.io")
    if rv_text and rv_text != "0":
        try:
            rv = int(rv_text)
        except ValueError:
            raise bad_request(f"invalid resource version: strconv.ParseUint: parsing "
                              f"\"{rv_text}\": invalid syntax") from None
        if rv > api.store.rv:
            raise _too_large(rv, api.store.rv)
        if match == "Exact":
            return rv
    return None


def list_objects(api: Api, call: Call) -> tuple[list[Obj], dict[str, Any]]:
    """One page of matching objects and the list ``metadata``."""
    spec = call.spec
    sel = selection(call)
    token = call.query.get("continue")
    limit = call.int_param("limit")
    if limit is not None and limit <= 0:
        limit = None
    rv = _list_rv(api, call, bool(token))
    prefix = f"/{call.namespace}" if spec.namespaced and call.namespace else ""
    name_pin = sel.fields.value_for("metadata.name")
    start: str | None = None
    if token:
        token_rv, rel = _decode_continue(token)
        start = prefix + rel
        rv = None if token_rv < 0 else token_rv
    accept: Callable[[Obj], bool] | None = None if sel.empty else sel.matches
    bucket = api.bucket(api.table.storage_spec(spec))
    try:
        if name_pin is not None and not token and (call.namespace or not spec.namespaced):
            key = object_key(call.namespace if spec.namespaced else None, name_pin)
            items, more, remaining, snapshot = _single(api, bucket, key, rv, accept)
        else:
            items, more, remaining, snapshot = api.store.page(
                bucket, prefix, rv=rv, start=start, limit=limit, accept=accept)
    except TooOld as exc:
        if token:
            rel = start[len(prefix):] if start else ""
            raise StatusError(410, {**expired(_INCONSISTENT).body,
                                    "metadata": {"continue": encode_continue(-1, rel)}}) from None
        raise expired(f"The resourceVersion for the provided list is too old. ({exc.oldest})"
                      ) from None
    meta: dict[str, Any] = {"resourceVersion": str(snapshot)}
    if more is not None:
        meta["continue"] = encode_continue(snapshot, more[len(prefix):] + "\x00")
        if remaining is not None:
            meta["remainingItemCount"] = remaining
    return items, meta


def _single(api: Api, bucket: str, key: str, rv: int | None,
            accept: Callable[[Obj], bool] | None) -> tuple[list[Obj], None, None, int]:
    with api.store.lock:
        snapshot = api.store.rv if rv is None else rv
        if rv is not None:
            api.store.check_readable(rv)
        b = api.store.buckets.get(bucket)
        obj = (b.current(key) if rv is None else b.at(key, rv)) if b else None
    if obj is None or (accept is not None and not accept(obj)):
        return [], None, None, snapshot
    return [obj], None, None, snapshot


def list_body(spec: KindSpec, items: list[Obj], meta: dict[str, Any]) -> Obj:
    if spec.is_custom:
        shown = [dict(o, apiVersion=spec.api_version) for o in items]
    else:
        shown = [strip_type_meta(o) for o in items]
    return {"apiVersion": spec.api_version, "items": shown, "kind": spec.list_kind or
            f"{spec.kind}List", "metadata": meta}


def wants(accept: str) -> str | None:
    """``"Table"``, ``"PartialObjectMetadata"``/``...List`` when Accept asks for one first."""
    for media in accept.split(","):
        params = {}
        for part in media.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            params[key.strip()] = value.strip()
        if params.get("g") == "meta.k8s.io" and params.get("as") in (
                "Table", "PartialObjectMetadata", "PartialObjectMetadataList"):
            return params["as"]
        if media.split(";")[0].strip() in ("application/json", "*/*", "application/*"):
            return None
    return None


def partial(obj: Obj) -> Obj:
    return {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
            "metadata": obj.get("metadata", {})}


def as_partial(items: list[Obj], meta: dict[str, Any]) -> Obj:
    return {"apiVersion": "meta.k8s.io/v1", "items": [partial(o) for o in items],
            "kind": "PartialObjectMetadataList", "metadata": meta}


def as_table(spec: KindSpec, items: list[Obj], meta: dict[str, Any], include: str | None) -> Obj:
    now = time.time()
    rows = []
    for obj in items:
        row: dict[str, Any] = {"cells": spec.table_cells(obj, now)}
        if include == "Object":
            row["object"] = dict(obj, apiVersion=spec.api_version)
        elif include != "None":
            row["object"] = partial(obj)
        rows.append(row)
    return {"apiVersion": "meta.k8s.io/v1", "columnDefinitions": spec.column_definitions(),
            "kind": "Table", "metadata": meta, "rows": rows}


def list_reply(api: Api, call: Call) -> Reply:
    items, meta = list_objects(api, call)
    shape = wants(call.accept)
    if shape == "Table":
        body = as_table(call.spec, items, meta, call.query.get("includeObject"))
    elif shape in ("PartialObjectMetadataList", "PartialObjectMetadata"):
        body = as_partial(items, meta)
    else:
        body = list_body(call.spec, items, meta)
    reply = Reply(200, body)
    warning = call.spec.warning()
    if warning:
        reply.warnings.append(warning)
    return reply


def delete_collection(api: Api, call: Call) -> Reply:
    spec = call.spec
    opts = api.delete_options(call)
    sel = selection(call)
    prefix = f"/{call.namespace}" if spec.namespaced and call.namespace else ""
    items, _, _, snapshot = api.store.page(api.bucket(api.table.storage_spec(spec)), prefix,
                                           rv=None, start=None, limit=None,
                                           accept=None if sel.empty else sel.matches)
    deleted = []
    for obj in items:
        meta = obj["metadata"]
        one = Call(call.method, spec, meta.get("namespace") if spec.namespaced else None,
                   meta.get("name"), None, call.query, call.headers, b"", call.user_agent)
        try:
            api.delete(one, dict(opts))
        except StatusError as exc:
            if exc.code != 404:
                raise
            continue
        deleted.append(obj)
    reply = Reply(200, list_body(spec, deleted, {"resourceVersion": str(snapshot)}))
    warning = spec.warning()
    if warning:
        reply.warnings.append(warning)
    return reply
