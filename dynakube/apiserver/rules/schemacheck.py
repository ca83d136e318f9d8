"""kube-openapi's schema validator, ported: OpenAPI keyword checks worded like the server's.

:func:`schema_causes` walks a value against a structural schema the way kube-apiserver's
validator does (type, ``allOf``/``anyOf``/``oneOf``/``not``, string length and pattern,
format, numeric bounds, array size and uniqueness, ``enum``, object properties and
``required``) and returns :class:`Cause` entries with the exact messages and reasons the real
server puts in ``details.causes``. :func:`go_value` prints a bad value the way Go's field
errors do.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ...schema.openapi import json_type

__all__ = ["Cause", "OMIT", "Schema", "field_cause", "go_value", "schema_causes", "types_of"]

Schema = Mapping[str, Any]

OMIT = object()
"""A cause value meaning: print no value (as Go's ``field.OmitValueType``)."""
_WORDS = {
    "FieldValueRequired": "Required value", "FieldValueInvalid": "Invalid value",
    "FieldValueTypeInvalid": "Invalid value", "FieldValueNotSupported": "Unsupported value",
    "FieldValueDuplicate": "Duplicate value", "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many", "FieldValueForbidden": "Forbidden",
}
_NO_VALUE = {"FieldValueRequired", "FieldValueTooLong", "FieldValueForbidden"}


@dataclass(frozen=True)
class Cause:
    """One entry of ``details.causes``: ``reason`` is the field error type."""

    field: str
    reason: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The ``StatusCause`` JSON object."""
        return {"reason": self.reason, "message": self.message, "field": self.field}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


# ---------------------------------------------------------------- Go-style value printing


def _go_float(value: float) -> str:
    """``fmt.Sprint(float64)``: shortest digits, exponent form below 1e-4 or from 1e21."""
    if value != value or value in (float("inf"), float("-inf")):
        return {True: "+Inf", False: "-Inf"}[value > 0] if value == value else "NaN"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)  # position of the decimal point
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 21:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def go_value(value: Any) -> str:
    """A bad value the way field errors print it (``500``, ``"red"``, ``null``, JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_quote(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def field_cause(path: str, reason: str, value: Any = OMIT, detail: str = "") -> Cause:
    """A cause worded like Go's ``field.Error``: ``<Type words>[: <value>][: <detail>]``."""
    text = _WORDS.get(reason, "Invalid value")
    if reason not in _NO_VALUE and value is not OMIT:
        text = f"{text}: {go_value(value)}"
    if detail:
        text = f"{text}: {detail}"
    return Cause(path or "<nil>", reason, text)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e21 else _go_float(value)


# ---------------------------------------------------------------- schema helpers


def types_of(schema: Schema) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str) and kind:
        return [kind]
    if isinstance(kind, list):
        return [str(k) for k in kind]
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    return []


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _date_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in text.upper()


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


_FORMATS = {
    "date-time": _date_time, "datetime": _date_time, "date": _is_date, "byte": _is_base64,
    "ipv4": lambda t: _is_ip(t, 4), "ipv6": lambda t: _is_ip(t, 6), "cidr": _is_cidr,
    "uuid": _is_uuid,
}


# ---------------------------------------------------------------- OpenAPI schema validation


def _validate(value: Any, schema: Schema, path: str, out: list[Cause]) -> None:
    """kube-openapi's SchemaValidator: type, composition, string, format, number, array,
    enum, object, in that order."""
    if value is None:
        _check_type(value, schema, path, out)
        _check_enum(value, schema, path, out)
        return
    _check_type(value, schema, path, out)
    _check_composition(value, schema, path, out)
    if isinstance(value, str):
        _check_string(value, schema, path, out)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, path, out)
    if isinstance(value, list):
        _check_array(value, schema, path, out)
    _check_enum(value, schema, path, out)
    if isinstance(value, dict):
        _check_object(value, schema, path, out)


def _type_failure(path: str, expected: str, actual: str) -> Cause:
    return field_cause(path, "FieldValueTypeInvalid", actual,
                  f"{path} in body must be of type {expected}: {_go_quote(actual)}")


def _check_type(value: Any, schema: Schema, path: str, out: list[Cause]) -> None:
    types, fmt = types_of(schema), str(schema.get("format") or "")
    if not types and not fmt:
        return
    if value is None:
        if types and "null" not in types and not schema.get("nullable"):
            out.append(_type_failure(path, ",".join(types), "null"))
        return
    actual = json_type(value)
    data_format = {"integer": "int64", "number": "float64"}.get(actual, "")
    float_int = actual == "number" and float(value).is_integer() and "integer" in types
    int_float = actual == "integer" and "number" in types
    if not isinstance(value, (str, list)) and fmt and not (
        actual in types or data_format == fmt or float_int or int_float
    ):
        out.append(_type_failure(path, fmt, data_format))
        return
    if not ("number" in types or "integer" in types) and fmt and isinstance(value, (str, list)):
        return
    if not (actual in types or float_int or int_float):
        out.append(_type_failure(path, ",".join(types), actual))


def _sub_errors(value: Any, schema: Any, path: str) -> list[Cause]:
    found: list[Cause] = []
    if isinstance(schema, Mapping):
        _validate(value, schema, path, found)
    return found


def _check_composition(value: Any, schema: Schema, path: str, out: list[Cause]) -> None:
    label = _go_quote(path)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        results = [_sub_errors(value, sub, path) for sub in all_of]
        valid = sum(1 for r in results if not r)
        for result in results:
            out.extend(result)
        if valid != len(results):
            suffix = ". None validated" if valid == 0 else ""
            out.append(field_cause("", "FieldValueInvalid", "",
                              f"{label} must validate all the schemas (allOf){suffix}"))
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and any_of:
        results = [_sub_errors(value, sub, path) for sub in any_of]
        if all(results):
            out.append(field_cause("", "FieldValueInvalid", "",
                              f"{label} must validate at least one schema (anyOf)"))
            out.extend(results[0])
    one_of = schema.get("oneOf")
    if isinstance(one_of, list) and one_of:
        results = [_sub_errors(value, sub, path) for sub in one_of]
        valid = sum(1 for r in results if not r)
        if valid != 1:
            suffix = ". Found none valid" if valid == 0 else ""
            out.append(field_cause("", "FieldValueInvalid", "",
                              f"{label} must validate one and only one schema (oneOf){suffix}"))
            if valid == 0:
                out.extend(results[0])
    not_schema = schema.get("not")
    if isinstance(not_schema, Mapping) and not _sub_errors(value, not_schema, path):
        out.append(field_cause("", "FieldValueInvalid", "",
                          f"{label} must not validate the schema (not)"))


def _check_string(value: str, schema: Schema, path: str, out: list[Cause]) -> None:
    max_length, min_length = schema.get("maxLength"), schema.get("minLength")
    if isinstance(max_length, int) and len(value) > max_length:
        unit = "byte" if max_length == 1 else "bytes"
        out.append(field_cause(path, "FieldValueTooLong", detail=f"may not be more than "
                                                            f"{max_length} {unit}"))
    if isinstance(min_length, int) and len(value) < min_length:
        out.append(field_cause(path, "FieldValueInvalid", value,
                          f"{path} in body should be at least {min_length} chars long"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True  # Python cannot read it: never reject what RE2 might accept
        if not matched:
            out.append(field_cause(path, "FieldValueInvalid", value,
                              f"{path} in body should match '{pattern}'"))
    check = _FORMATS.get(str(schema.get("format") or ""))
    if check is not None and not check(value):
        out.append(_type_failure(path, str(schema["format"]), value))


def _check_number(value: float, schema: Schema, path: str, out: list[Cause]) -> None:
    multiple = schema.get("multipleOf")
    if isinstance(multiple, (int, float)) and multiple > 0:
        quotient = value / multiple
        if not float(quotient).is_integer():
            out.append(field_cause(path, "FieldValueInvalid", value,
                              f"{path} in body should be a multiple of {_num(multiple)}"))
    for key, word, exclusive_key, above in (
        ("maximum", "less", "exclusiveMaximum", True),
        ("minimum", "greater", "exclusiveMinimum", False),
    ):
        bound = schema.get(key)
        if not isinstance(bound, (int, float)) or isinstance(bound, bool):
            continue
        exclusive = schema.get(exclusive_key) is True
        bad = (value >= bound if exclusive else value > bound) if above else (
            value <= bound if exclusive else value < bound)
        if bad:
            relation = f"{word} than" if exclusive else f"{word} than or equal to"
            out.append(field_cause(path, "FieldValueInvalid", value,
                              f"{path} in body should be {relation} {_num(bound)}"))


def _check_array(value: list[Any], schema: Schema, path: str, out: list[Cause]) -> None:
    min_items, max_items = schema.get("minItems"), schema.get("maxItems")
    if isinstance(min_items, int) and len(value) < min_items:
        out.append(field_cause(path, "FieldValueInvalid", len(value),
                          f"{path} in body should have at least {min_items} items"))
    if isinstance(max_items, int) and len(value) > max_items:
        noun = "item" if max_items == 1 else "items"
        out.append(field_cause(path, "FieldValueTooMany", len(value),
                          f"must have at most {max_items} {noun}"))
    if schema.get("uniqueItems") is True:
        seen = [json.dumps(v, sort_keys=True) for v in value]
        if len(set(seen)) != len(seen):
            out.append(field_cause(path, "FieldValueInvalid", "",
                              f"{path} in body shouldn't contain duplicates"))
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", out)


def _enum_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def _check_enum(value: Any, schema: Schema, path: str, out: list[Cause]) -> None:
    enum = schema.get("enum")
    if not isinstance(enum, list) or not enum:
        return
    if any(_enum_equal(value, allowed) for allowed in enum):
        return
    values = [v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in enum]
    quoted = ", ".join(_go_quote(v) for v in values)
    out.append(field_cause(path, "FieldValueNotSupported", value, f"supported values: {quoted}"))


def _check_object(value: dict[str, Any], schema: Schema, path: str, out: list[Cause]) -> None:
    count = len(value)
    min_props, max_props = schema.get("minProperties"), schema.get("maxProperties")
    if isinstance(min_props, int) and count < min_props:
        out.append(field_cause(path, "FieldValueInvalid", count,
                          f"{path} in body should have at least {min_props} properties"))
        return
    if isinstance(max_props, int) and count > max_props:
        noun = "item" if max_props == 1 else "items"
        out.append(field_cause(path, "FieldValueTooMany", count,
                          f"must have at most {max_props} {noun}"))
        return
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key in sorted(value):
        if key in properties:
            continue
        if isinstance(additional, Mapping):
            _validate(value[key], additional, _child(path, key), out)
        elif additional is False:
            out.append(field_cause(path, "FieldValueInvalid", key,
                              f"{_child(path, key)} in body is a forbidden property"))
    for key in sorted(properties):
        if key in value and not (path == "" and key == "metadata"):
            _validate(value[key], properties[key], _child(path, key), out)
    for key in schema.get("required") or []:
        if key not in value:
            out.append(field_cause(_child(path, str(key)), "FieldValueRequired"))


def schema_causes(value: Any, schema: Schema) -> list[Cause]:
    """Every OpenAPI schema violation in ``value``, in the order the real server reports them.

    Properties are visited in sorted order; the root's ``metadata`` is skipped (the server
    checks object metadata separately).
    """
    out: list[Cause] = []
    _validate(value, schema, "", out)
    return out

