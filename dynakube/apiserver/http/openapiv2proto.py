"""``/openapi/v2`` as protobuf: the Swagger document in gnostic's ``openapi.v2.Document``.

kubectl validates a document client-side against ``/openapi/v2`` when the server cannot
validate it (a ``kind: List`` has no path of its own to send ``fieldValidation`` to), and it
asks for that document only as protobuf
(``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``), as kube-apiserver serves
it. This writes the fields kubectl reads: the version, the info, and every definition with
its schema (types, formats, references, properties, items, required lists, bounds, enums,
defaults and ``x-`` extensions, the extensions' values as YAML text, as gnostic keeps them).
Field numbers are those of gnostic's ``OpenAPIv2.proto``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["PROTOBUF", "encode_document"]

PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

# Schema fields: JSON name -> (field number, kind)
_SCHEMA: dict[str, tuple[int, str]] = {
    "$ref": (1, "str"), "format": (2, "str"), "title": (3, "str"), "description": (4, "str"),
    "default": (5, "any"), "multipleOf": (6, "double"), "maximum": (7, "double"),
    "exclusiveMaximum": (8, "bool"), "minimum": (9, "double"), "exclusiveMinimum": (10, "bool"),
    "maxLength": (11, "int"), "minLength": (12, "int"), "pattern": (13, "str"),
    "maxItems": (14, "int"), "minItems": (15, "int"), "uniqueItems": (16, "bool"),
    "maxProperties": (17, "int"), "minProperties": (18, "int"), "required": (19, "[]str"),
    "enum": (20, "[]any"), "additionalProperties": (21, "additional"), "type": (22, "type"),
    "items": (23, "items"), "allOf": (24, "[]schema"), "properties": (25, "properties"),
    "discriminator": (26, "str"), "readOnly": (27, "bool"), "example": (30, "any"),
}
_VENDOR_EXTENSION = 31


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s as their two's complement, as protobuf does
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings, messages)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _text(number: int, value: str) -> bytes:
    return _field(number, value.encode()) if value else b""


def _any(value: Any) -> bytes:
    """gnostic's ``Any``: the value as YAML text (JSON is YAML) in its field 2."""
    return _text(2, json.dumps(value, sort_keys=True))


def _named(name: str, payload: bytes) -> bytes:
    return _text(1, name) + _field(2, payload)


def _extensions(number: int, obj: Mapping[str, Any]) -> bytes:
    return b"".join(_field(number, _named(k, _any(v)))
                    for k, v in obj.items() if k.startswith("x-"))


def _schema(schema: Mapping[str, Any]) -> bytes:
    out = bytearray()
    for key, value in schema.items():
        spec = _SCHEMA.get(key)
        if spec is None or value is None:
            continue
        number, kind = spec
        if kind == "str":
            out += _text(number, str(value))
        elif kind == "bool":
            out += _varint(number << 3) + _varint(1) if value else b""
        elif kind == "int":
            out += _varint(number << 3) + _varint(int(value))
        elif kind == "double":
            out += _varint(number << 3 | 1) + struct.pack("<d", float(value))
        elif kind == "any":
            out += _field(number, _any(value))
        elif kind == "[]str":
            out += b"".join(_text(number, str(v)) for v in value)
        elif kind == "[]any":
            out += b"".join(_field(number, _any(v)) for v in value)
        elif kind == "[]schema":
            out += b"".join(_field(number, _schema(v)) for v in value)
        elif kind == "type":
            names = value if isinstance(value, list) else [value]
            out += _field(number, b"".join(_text(1, str(n)) for n in names))
        elif kind == "items":
            items = value if isinstance(value, list) else [value]
            out += _field(number, b"".join(_field(1, _schema(i)) for i in items))
        elif kind == "properties":
            out += _field(number, b"".join(_field(1, _named(name, _schema(sub)))
                                           for name, sub in value.items()))
        elif kind == "additional":
            inner = _field(1, _schema(value)) if isinstance(value, Mapping) else \
                _varint(2 << 3) + _varint(1 if value else 0)
            out += _field(number, inner)
    out += _extensions(_VENDOR_EXTENSION, schema)
    return bytes(out)


def _definitions(definitions: Mapping[str, Mapping[str, Any]]) -> bytes:
    return b"".join(_field(1, _named(name, _schema(schema)))
                    for name, schema in sorted(definitions.items()))


def _info(info: Mapping[str, Any]) -> bytes:
    return _text(1, str(info.get("title") or "")) + _text(2, str(info.get("version") or ""))


def _strings(number: int, values: Iterable[Any]) -> bytes:
    return b"".join(_text(number, str(v)) for v in values)


def encode_document(document: Mapping[str, Any]) -> bytes:
    """The Swagger 2.0 ``document`` as an ``openapi.v2.Document`` message. Paths go out as
    an empty ``Paths`` message: kubectl reads only the definitions."""
    return (_text(1, str(document.get("swagger") or "2.0"))
            + _field(2, _info(document.get("info") or {}))
            + _strings(6, document.get("consumes") or ())
            + _strings(7, document.get("produces") or ())
            + _field(8, b"")
            + _field(9, _definitions(document.get("definitions") or {}))
            + _extensions(16, document))
