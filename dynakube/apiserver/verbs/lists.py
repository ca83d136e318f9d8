"""Lists, delete-collection, tables and metadata-only answers of the embedded server.

Pages read a consistent snapshot: the ``continue`` token carries the revision of the first
page (encoded as the real server encodes it), and a token older than the compacted history
gets ``410 Expired``. Selectors use :mod:`dynakube.selector`, with the real error wording.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from dynakube.selector import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)

from ..call import Call, Reply
from ..kinds.specs import KindSpec
from ..objects import Obj, for_version, go_json_error, strip_type_meta
from ..rules.selectable import field_labels, selectable_fields
from ..status import (
    StatusError,
    bad_request,
    cause,
    expired,
    invalid,
    not_acceptable,
    too_large_resource_version,
)
from ..storage.store import TooOld, storage_key
from .crud import Api

__all__ = [
    "Selection",
    "selection",
    "list_objects",
    "list_body",
    "list_reply",
    "partial",
    "delete_collection",
    "wants",
    "negotiate",
    "check_transform",
    "as_table",
    "as_partial",
    "encode_continue",
]

_INCONSISTENT = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)


class Selection:
    """Label and field selectors of one request, checked against the resource.

    ``fields`` names what the request's version calls each field; ``sources`` maps those
    names to the stored object's selectable fields (:mod:`..rules.selectable`).
    """

    def __init__(self, labels: LabelSelector, fields: FieldSelector,
                 sources: Mapping[str, str] | None = None, namespaced: bool = True):
        self.labels = labels
        self.fields = fields
        self.sources = dict(sources or {})
        self.namespaced = namespaced

    @property
    def empty(self) -> bool:
        return self.labels.empty and not self.fields.requirements

    def matches(self, obj: Obj) -> bool:
        meta = obj.get("metadata") or {}
        if not self.labels.matches(meta.get("labels") or {}):
            return False
        if self.fields.requirements:
            values = selectable_fields(obj, self.namespaced)
            asked = {name: values.get(self.sources.get(name, name), "")
                     for name in self.fields.fields}
            if not self.fields.matches(asked):
                return False
        return True


def selection(call: Call) -> Selection:
    try:
        labels = parse_label_selector(call.query.get("labelSelector"))
    except SelectorError as exc:
        raise bad_request(str(exc)) from None
    try:
        fields = parse_field_selector(call.query.get("fieldSelector"))
    except SelectorError as exc:
        raise bad_request(str(exc)) from None
    conversion = field_labels(call.spec.group, call.spec.kind)
    for name in fields.fields:
        problem = conversion.refuse(name)
        if problem is not None:
            raise bad_request(problem)
    return Selection(labels, fields, conversion.accepted, call.spec.namespaced)


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    """The revision and start key of a ``continue`` token; a ``400`` worded as the real
    storage words it (Go's base64 and JSON errors)."""
    def refuse(problem: str) -> StatusError:
        return bad_request(f"invalid continue token: continue key is not valid: {problem}")

    bad = next((i for i, c in enumerate(token)
                if not (c.isascii() and (c.isalnum() or c in "-_"))), None)
    if bad is not None or len(token) % 4 == 1:
        index = bad if bad is not None else len(token) - 1
        raise refuse(f"illegal base64 data at input byte {index}")
    raw = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode())
    problem = go_json_error(raw)
    if problem is not None:
        raise refuse(problem)
    try:
        data = json.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise refuse(str(exc)) from None
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        raise refuse("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    try:
        rv, start = int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError) as exc:
        raise refuse(str(exc)) from None
    if ".." in start.split("/") or not start.startswith("/"):
        raise refuse("key is not a valid start key")
    return rv, start


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
        if not api.store.wait_for_rv(rv, api.options.resource_version_wait):
            raise too_large_resource_version(rv, api.store.rv)
        if match == "Exact":
            return rv
    return None


def list_objects(api: Api, call: Call) -> tuple[list[Obj], dict[str, Any]]:
    """One page of matching objects and the list ``metadata``."""
    spec = call.spec
    call.int_param("timeoutSeconds")  # a list takes it too: a 400 when it is no integer
    sel = selection(call)
    token = call.query.get("continue")
    limit = call.int_param("limit")
    if limit is not None and limit <= 0:
        limit = None
    rv = _list_rv(api, call, bool(token))
    if call.query.get("resourceVersion") == "0" and not token:
        limit = None  # "any version" is served whole from the watch cache: no pages
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
            key = storage_key(call.namespace if spec.namespaced else None, name_pin)
            items, more, remaining, snapshot = _single(api, bucket, key, rv, accept)
        else:
            items, more, remaining, snapshot = api.store.page(
                bucket, prefix, rv=rv, start=start, limit=limit, accept=accept)
    except TooOld:
        if token:
            rel = start[len(prefix):] if start else ""
            raise StatusError(410, {**expired(_INCONSISTENT).body,
                                    "metadata": {"continue": encode_continue(-1, rel)}}) from None
        raise expired("The resourceVersion for the provided list is too old.") from None
    items = [for_version(o, spec) for o in items]  # a view of another resource converts
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


_MEDIA = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_TRANSFORMS = ("Table", "PartialObjectMetadata", "PartialObjectMetadataList")
_NOT_ACCEPTABLE = ("406: Not Acceptable\n\nAvailable representations: " + ", ".join(_MEDIA))
_INCLUDE_OBJECT = ("", "Metadata", "Object", "None")


def negotiate(accept: str) -> tuple[str, str | None]:
    """The media type (``application/json`` or ``application/yaml``) and the ``as=``
    transform (``Table``, ``PartialObjectMetadata``/``...List`` or None) of the first range
    of ``Accept`` that can be served; ``406`` when none can (``application/xml``)."""
    if not accept.strip():
        return "application/json", None
    for media in accept.split(","):
        kind, *rest = media.split(";")
        kind = kind.strip().lower()
        params = {}
        for part in rest:
            key, _, value = part.strip().partition("=")
            params[key.strip()] = value.strip()
        if kind in ("*/*", "application/*", ""):
            kind = "application/json"
        if kind not in _MEDIA:
            continue
        shown = "application/yaml" if kind == "application/yaml" else "application/json"
        if "as" in params:
            if params.get("g") == "meta.k8s.io" and params["as"] in _TRANSFORMS and \
                    params.get("v") in ("v1", "v1beta1", None):
                return shown, params["as"]
            continue
        return shown, None
    raise not_acceptable(_NOT_ACCEPTABLE)


def wants(accept: str) -> str | None:
    """``"Table"``, ``"PartialObjectMetadata"``/``...List`` when Accept asks for one first."""
    try:
        return negotiate(accept)[1]
    except StatusError:
        return None


def _go_type(spec: KindSpec, suffix: str) -> str:
    """How Go's ``%T`` names the server's object in a 406 message."""
    if spec.is_custom:
        return f"*unstructured.Unstructured{suffix}"
    package = _GO_PACKAGES.get(spec.group) or spec.group.split(".")[0]
    return f"*{package}.{spec.kind}{suffix}"


_GO_PACKAGES = {"": "core", "events.k8s.io": "core",  # events.k8s.io serves core Events
                "internal.apiserver.k8s.io": "apiserverinternal"}
"""Groups whose internal Go package is not named after the group's first word."""


def check_transform(call: Call, listing: bool) -> str | None:
    """The ``as=`` transform a read asked for, refused as the real server refuses it:
    ``406`` for metadata of the wrong arity, ``400`` for an ``includeObject`` other than
    ``Metadata``, ``Object``, ``None`` or empty."""
    shape = negotiate(call.accept)[1]
    if shape == "PartialObjectMetadata" and listing:
        raise not_acceptable("you requested PartialObjectMetadata, but the requested object is "
                             f"a list ({_go_type(call.spec, 'List')})")
    if shape == "PartialObjectMetadataList" and not listing:
        raise not_acceptable("you requested PartialObjectMetadataList, but the requested object "
                             f"is not a list ({_go_type(call.spec, '')})")
    if shape == "Table":
        include = call.query.get("includeObject", "")
        if include not in _INCLUDE_OBJECT:
            raise bad_request(f'includeObject: Invalid value: "{include}": must be '
                              "'Metadata', 'Object', 'None', or empty")
    return shape


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
    shape = check_transform(call, listing=True)
    items, meta = list_objects(api, call)
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
        deleted.append(for_version(obj, spec))
    reply = Reply(200, list_body(spec, deleted, {"resourceVersion": str(snapshot)}))
    warning = spec.warning()
    if warning:
        reply.warnings.append(warning)
    return reply
