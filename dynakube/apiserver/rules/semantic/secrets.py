"""Secret content: data keys, the 1 MiB limit, each built-in type's required keys, and what
``immutable: true`` and the ``type`` freeze on update (``ValidateSecret``/``...Update``)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from . import names
from .fields import Cause, forbidden, invalid, key, required, too_long
from .metadata import MAX_OBJECT_DATA, mapping

__all__ = ["secret", "go_json_error"]

_REDACTED = "<secret contents redacted>"


def _decoded(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode("".join(value.split()))
    except (binascii.Error, ValueError):
        return value.encode()


def _content(obj: Mapping[str, Any]) -> dict[str, bytes]:
    """``data`` as bytes, with ``stringData`` merged over it as the real server does first."""
    out = {k: _decoded(v) for k, v in mapping(obj.get("data")).items()}
    for k, v in mapping(obj.get("stringData")).items():
        out[k] = v.encode() if isinstance(v, str) else b""
    return out


def go_json_error(raw: bytes) -> str | None:
    """Why Go's ``json.Unmarshal`` into a map refuses ``raw`` (``None`` when it does not)."""
    text = raw.decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        if err.pos >= len(text.rstrip()):
            return "unexpected end of JSON input"
        bad = text[err.pos]
        for literal in ("null", "true", "false"):
            if bad != literal[0]:
                continue
            for j, want in enumerate(literal):
                if err.pos + j >= len(text):
                    return "unexpected end of JSON input"
                if text[err.pos + j] != want:
                    return (f"invalid character '{text[err.pos + j]}' in literal {literal} "
                            f"(expecting '{want}')")
        return f"invalid character '{bad}' looking for beginning of value"
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(value), "number")
        if value is None:
            return None
        return f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
    return None


def _type_rules(obj: Mapping[str, Any], data: dict[str, bytes]) -> list[Cause]:
    kind = obj.get("type") or "Opaque"
    if kind == "kubernetes.io/service-account-token":
        note = mapping(mapping(obj.get("metadata")).get("annotations"))
        if not note.get("kubernetes.io/service-account.name"):
            return [required("metadata.annotations[kubernetes.io/service-account.name]")]
    elif kind in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        name = ".dockercfg" if kind == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if name not in data:
            return [required(key("data", name))]
        problem = go_json_error(data[name])
        if problem:
            return [invalid(key("data", name), _REDACTED, problem)]
    elif kind == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            return [required(key("data", "username")), required(key("data", "password"))]
    elif kind == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            return [required(key("data", "ssh-privatekey"))]
    elif kind == "kubernetes.io/tls":
        return [required(key("data", k)) for k in ("tls.crt", "tls.key") if k not in data]
    return []


def secret(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    out: list[Cause] = []
    data = _content(obj)
    if old is not None:
        new_type, old_type = obj.get("type") or "Opaque", old.get("type") or "Opaque"
        if new_type != old_type:
            out.append(invalid("type", new_type, "field is immutable"))
        if old.get("immutable") is True:
            if obj.get("immutable") is not True:
                out.append(forbidden("immutable", "field is immutable when `immutable` is set"))
            if data != _content(old):
                out.append(forbidden("data", "field is immutable when `immutable` is set"))
    total = 0
    for k in sorted(data):
        out += [invalid(key("data", k), k, m) for m in names.config_key(k)]
        total += len(data[k])
    if total > MAX_OBJECT_DATA:
        out.append(too_long("data", MAX_OBJECT_DATA))
    return out + _type_rules(obj, data)
