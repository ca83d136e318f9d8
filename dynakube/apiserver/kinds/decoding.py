"""Built-in objects decoded the way kube-apiserver decodes them into its Go types.

For built-in kinds a body field of the wrong JSON type is a ``400 BadRequest`` decode error
(``Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string
into Go struct field DeploymentSpec.spec.replicas of type int32``), a whole float where an
integer is expected is rejected too, ``null`` means "not set", and fields the type does not
have are dropped (reported for ``fieldValidation=Strict``/``Warn``). :func:`decode_builtin`
does all of that against :data:`BUILTIN_SCHEMAS`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dynakube.apiserver.kinds.data import BUILTIN_SCHEMAS, INTSTR, META, QUANTITY
from dynakube.errors import InvalidArgumentError

__all__ = ["DecodeResult", "cannot_handle_message", "decode_builtin"]

_REF_PREFIX = "#/components/schemas/"
_TIME = {META + "Time", META + "MicroTime"}
_QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@dataclass
class DecodeResult:
    """What decoding found: the first decode error (``None`` when fine), the unknown fields'
    paths, and every strict-decoding problem in document order (``unknown field "a.b"``,
    ``duplicate field "metadata.name"``): the ``Warning`` texts, or the 400 under Strict."""

    error: str | None = None
    unknown: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _Object(dict[str, Any]):
    """A JSON object that remembers which of its keys the body repeated."""

    repeated: tuple[str, ...] = ()


def _merge_into(old: Any, new: Any) -> Any:
    """Go's encoding/json decoding a repeated key: objects merge into what is there, key by
    key; anything else is replaced."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in new.items():
            old[key] = _merge_into(old[key], value) if key in old else value
        return old
    return new


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object()
    repeated: list[str] = []
    for key, value in pairs:
        if key in result:
            repeated.append(key)
            result[key] = _merge_into(result[key], value)
        else:
            result[key] = value
    result.repeated = tuple(dict.fromkeys(repeated))
    return result


def _with_repeats(raw: bytes) -> _Object | None:
    """``raw`` decoded keeping note of repeated keys, or None when it repeats none (or is not
    a JSON object: the caller has reported that already)."""
    if b'"' not in raw:
        return None
    found: list[bool] = []

    def hook(pairs: list[tuple[str, Any]]) -> _Object:
        result = _object(pairs)
        if result.repeated:
            found.append(True)
        return result

    try:
        value = json.loads(raw, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return None
    return value if found and isinstance(value, _Object) else None


def cannot_handle_message(kind: str, version: str, detail: str) -> str:
    """``ConfigMap in version "v1" cannot be handled as a ConfigMap: <detail>``."""
    return f'{kind} in version "{version}" cannot be handled as a {kind}: {detail}'


def _resolve(schema: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """Follow ``$ref`` (bare or inside a one-item ``allOf``); returns (name, schema)."""
    ref = schema.get("$ref")
    if ref is None and isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
        ref = schema["allOf"][0].get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        name = ref[len(_REF_PREFIX):]
        return name, BUILTIN_SCHEMAS.get(name, {})
    return None, schema


def _go_type(name: str | None, schema: Mapping[str, Any]) -> str:
    if name is not None:
        if name == INTSTR:
            return "intstr.IntOrString"
        if name == QUANTITY:
            return "resource.Quantity"
        return "v1." + name.rsplit(".", 1)[-1]
    kind = schema.get("type")
    if kind == "string":
        return "[]uint8" if schema.get("format") == "byte" else "string"
    if kind == "integer":
        return str(schema.get("format") or "int64")
    if kind == "number":
        return "float64"
    if kind == "boolean":
        return "bool"
    if kind == "array":
        item_name, item = _resolve(schema.get("items") or {})
        return "[]" + _go_type(item_name, item)
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        value_name, value = _resolve(schema["additionalProperties"])
        return "map[string]" + _go_type(value_name, value)
    return "interface {}"


def go_json_kind(value: Any) -> str:
    """How Go's encoding/json names a JSON value in its unmarshal errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _base64_error(text: str) -> str | None:
    text = text.replace("\r", "").replace("\n", "")  # Go's decoder skips line breaks
    for index, char in enumerate(text):
        if not (char.isascii() and (char.isalnum() or char in "+/=")):
            return f"illegal base64 data at input byte {index}"
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        rest = len(text) % 4
        position = len(text) - 1 if rest == 1 else len(text) - rest if rest else len(text) - 1
        return f"illegal base64 data at input byte {max(position, 0)}"
    return None


class _Decoder:
    def __init__(self) -> None:
        self.result = DecodeResult()

    def fail(self, value: Any, struct: str, path: list[str], go_type: str,
             literal: str | None = None) -> None:
        if self.result.error is not None:
            return
        what = literal or go_json_kind(value)
        self.result.error = (f"json: cannot unmarshal {what} into Go struct field "
                             f"{struct}.{'.'.join(path)} of type {go_type}")

    def custom(self, message: str) -> None:
        if self.result.error is None:
            self.result.error = message

    def value(self, value: Any, ref_name: str | None, schema: Mapping[str, Any], struct: str,
              path: list[str], where: str) -> None:
        name, schema = _resolve(schema) if ref_name is None else (ref_name, schema)
        if name == INTSTR:
            if isinstance(value, bool) or isinstance(value, (list, dict)):
                self.custom(f"json: cannot unmarshal {go_json_kind(value)} into Go value of type "
                            "int32")
            elif isinstance(value, float) and not value.is_integer():
                self.custom(f"json: cannot unmarshal number {value!r} into Go value of type int32")
            return
        if name == QUANTITY:
            text = value if isinstance(value, str) else json.dumps(value)
            if not _QUANTITY_RE.match(text.strip()) or isinstance(value, bool):
                self.custom("quantities must match the regular expression "
                            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
            return
        if name in _TIME:
            if not isinstance(value, str):
                self.custom(f"json: cannot unmarshal {go_json_kind(value)} into Go value of type "
                            "string")
            elif value:
                try:
                    datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    self.custom(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": '
                                f'cannot parse "{value}" as "2006"')
            return
        go_type = _go_type(name, schema)
        kind = schema.get("type")
        if kind == "object" and schema.get("properties") is not None:
            if not isinstance(value, dict):
                self.fail(value, struct, path, go_type)
                return
            self.struct(value, name, schema, path, where)
        elif kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
            if not isinstance(value, dict):
                self.fail(value, struct, path, go_type)
                return
            item_name, item = _resolve(schema["additionalProperties"])
            for key, entry in value.items():
                if entry is not None:
                    self.value(entry, item_name, item, struct, path, f"{where}.{key}")
        elif kind == "array":
            if not isinstance(value, list):
                self.fail(value, struct, path, go_type)
                return
            item_name, item = _resolve(schema.get("items") or {})
            for index, entry in enumerate(value):
                if entry is not None:
                    self.value(entry, item_name, item, struct, path, f"{where}[{index}]")
        elif kind == "string":
            if not isinstance(value, str):
                self.fail(value, struct, path, go_type)
            elif schema.get("format") == "byte" and (problem := _base64_error(value)):
                self.custom(problem)
        elif kind == "integer":
            low, high = _INT_RANGES.get(str(schema.get("format")), _INT_RANGES["int64"])
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(value, struct, path, go_type)
            elif isinstance(value, float) or not low <= value <= high:
                self.fail(value, struct, path, go_type, f"number {value!r}")
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(value, struct, path, go_type)
        elif kind == "boolean" and not isinstance(value, bool):
            self.fail(value, struct, path, go_type)

    def struct(self, value: dict[str, Any], name: str | None, schema: Mapping[str, Any],
               path: list[str], where: str) -> None:
        struct = (name or "Object").rsplit(".", 1)[-1]
        properties = schema.get("properties") or {}
        repeated = value.repeated if isinstance(value, _Object) else ()
        for key in list(value):
            child = f"{where}.{key}" if where else key
            if key not in properties:
                del value[key]
                self.result.unknown.append(child)
                self.result.problems.append(f'unknown field "{child}"')
                continue
            if key in repeated:
                self.result.problems.append(f'duplicate field "{child}"')
            if value[key] is None:
                del value[key]
                continue
            self.value(value[key], None, properties[key], struct, [*path, key], child)


def decode_builtin(obj: dict[str, Any], schema_name: str, *,
                   raw: bytes | None = None) -> DecodeResult:
    """Decode ``obj`` in place as the built-in type ``schema_name`` (``io.k8s.api...``).

    Drops ``null`` fields and fields the type does not have; the result carries the first
    type error (the text after ``cannot be handled as a Kind:``), the unknown field paths and
    the strict-decoding problems. With ``raw`` (the body ``obj`` was decoded from), keys the
    body repeats are reported too, and ``obj`` gets Go's merge of them (a repeated object
    merges into the first, a repeated value replaces it).
    Raises InvalidArgumentError for a name that is not in :data:`BUILTIN_SCHEMAS`.
    """
    schema = BUILTIN_SCHEMAS.get(schema_name)
    if schema is None:
        raise InvalidArgumentError(f"no built-in schema named {schema_name!r}")
    merged = _with_repeats(raw) if raw else None
    decoder = _Decoder()
    decoder.struct(obj if merged is None else merged, schema_name, schema, [], "")
    if merged is not None:
        obj.clear()
        obj.update(merged)
    return decoder.result
