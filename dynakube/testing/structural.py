"""Custom resources checked the way kube-apiserver checks them against a CRD's structural schema.

The pipeline a server runs on a custom resource's body, in order:

1. :func:`prune` drops fields the schema does not know and returns their paths (for
   ``fieldValidation=Strict`` / ``Warn``: :func:`strict_decoding_message`,
   :func:`unknown_field_warning`);
2. :func:`apply_defaults` fills ``default`` values, drops ``null`` on non-nullable fields and
   stores whole floats given for integers as integers;
3. :func:`validate_custom_resource` returns the :class:`Cause` list, worded and ordered like the
   real server (OpenAPI schema errors, embedded-resource checks, list-set/map duplicates, then
   ``x-kubernetes-validations`` CEL rules or the note that they were skipped);
4. :func:`invalid_status` turns the causes into the ``422 Invalid`` ``Status`` body.

Built-in kinds decode differently (a wrong JSON type is a 400): see :mod:`.decoding`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dynakube.testing.builtin_schemas import BUILTIN_SCHEMAS, META
from dynakube.testing.cel import CelUnsupported, Program, compile_rule

__all__ = [
    "Cause",
    "apply_defaults",
    "go_value",
    "has_validation_rules",
    "invalid_status",
    "prepare_custom_resource",
    "prune",
    "strict_decoding_message",
    "unknown_field_warning",
    "validate_custom_resource",
]

Schema = Mapping[str, Any]

RULES_SKIPPED = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)
_BLOCKING = {"FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong",
             "FieldValueTooMany", "FieldValueTypeInvalid"}
_OMIT = object()
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


def _cause(path: str, reason: str, value: Any = _OMIT, detail: str = "") -> Cause:
    text = _WORDS.get(reason, "Invalid value")
    if reason not in _NO_VALUE and value is not _OMIT:
        text = f"{text}: {go_value(value)}"
    if detail:
        text = f"{text}: {detail}"
    return Cause(path or "<nil>", reason, text)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e21 else _go_float(value)


# ---------------------------------------------------------------- schema helpers


def _types(schema: Schema) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str) and kind:
        return [kind]
    if isinstance(kind, list):
        return [str(k) for k in kind]
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    return []


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


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
    return _cause(path, "FieldValueTypeInvalid", actual,
                  f"{path} in body must be of type {expected}: {_go_quote(actual)}")


def _check_type(value: Any, schema: Schema, path: str, out: list[Cause]) -> None:
    types, fmt = _types(schema), str(schema.get("format") or "")
    if not types and not fmt:
        return
    if value is None:
        if types and "null" not in types and not schema.get("nullable"):
            out.append(_type_failure(path, ",".join(types), "null"))
        return
    actual = _json_type(value)
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
            out.append(_cause("", "FieldValueInvalid", "",
                              f"{label} must validate all the schemas (allOf){suffix}"))
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and any_of:
        results = [_sub_errors(value, sub, path) for sub in any_of]
        if all(results):
            out.append(_cause("", "FieldValueInvalid", "",
                              f"{label} must validate at least one schema (anyOf)"))
            out.extend(results[0])
    one_of = schema.get("oneOf")
    if isinstance(one_of, list) and one_of:
        results = [_sub_errors(value, sub, path) for sub in one_of]
        valid = sum(1 for r in results if not r)
        if valid != 1:
            suffix = ". Found none valid" if valid == 0 else ""
            out.append(_cause("", "FieldValueInvalid", "",
                              f"{label} must validate one and only one schema (oneOf){suffix}"))
            if valid == 0:
                out.extend(results[0])
    not_schema = schema.get("not")
    if isinstance(not_schema, Mapping) and not _sub_errors(value, not_schema, path):
        out.append(_cause("", "FieldValueInvalid", "",
                          f"{label} must not validate the schema (not)"))


def _check_string(value: str, schema: Schema, path: str, out: list[Cause]) -> None:
    max_length, min_length = schema.get("maxLength"), schema.get("minLength")
    if isinstance(max_length, int) and len(value) > max_length:
        unit = "byte" if max_length == 1 else "bytes"
        out.append(_cause(path, "FieldValueTooLong", detail=f"may not be more than "
                                                            f"{max_length} {unit}"))
    if isinstance(min_length, int) and len(value) < min_length:
        out.append(_cause(path, "FieldValueInvalid", value,
                          f"{path} in body should be at least {min_length} chars long"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True  # Python cannot read it: never reject what RE2 might accept
        if not matched:
            out.append(_cause(path, "FieldValueInvalid", value,
                              f"{path} in body should match '{pattern}'"))
    check = _FORMATS.get(str(schema.get("format") or ""))
    if check is not None and not check(value):
        out.append(_type_failure(path, str(schema["format"]), value))


def _check_number(value: float, schema: Schema, path: str, out: list[Cause]) -> None:
    multiple = schema.get("multipleOf")
    if isinstance(multiple, (int, float)) and multiple > 0:
        quotient = value / multiple
        if not float(quotient).is_integer():
            out.append(_cause(path, "FieldValueInvalid", value,
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
            out.append(_cause(path, "FieldValueInvalid", value,
                              f"{path} in body should be {relation} {_num(bound)}"))


def _check_array(value: list[Any], schema: Schema, path: str, out: list[Cause]) -> None:
    min_items, max_items = schema.get("minItems"), schema.get("maxItems")
    if isinstance(min_items, int) and len(value) < min_items:
        out.append(_cause(path, "FieldValueInvalid", len(value),
                          f"{path} in body should have at least {min_items} items"))
    if isinstance(max_items, int) and len(value) > max_items:
        noun = "item" if max_items == 1 else "items"
        out.append(_cause(path, "FieldValueTooMany", len(value),
                          f"must have at most {max_items} {noun}"))
    if schema.get("uniqueItems") is True:
        seen = [json.dumps(v, sort_keys=True) for v in value]
        if len(set(seen)) != len(seen):
            out.append(_cause(path, "FieldValueInvalid", "",
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
    out.append(_cause(path, "FieldValueNotSupported", value, f"supported values: {quoted}"))


def _check_object(value: dict[str, Any], schema: Schema, path: str, out: list[Cause]) -> None:
    count = len(value)
    min_props, max_props = schema.get("minProperties"), schema.get("maxProperties")
    if isinstance(min_props, int) and count < min_props:
        out.append(_cause(path, "FieldValueInvalid", count,
                          f"{path} in body should have at least {min_props} properties"))
        return
    if isinstance(max_props, int) and count > max_props:
        noun = "item" if max_props == 1 else "items"
        out.append(_cause(path, "FieldValueTooMany", count,
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
            out.append(_cause(path, "FieldValueInvalid", key,
                              f"{_child(path, key)} in body is a forbidden property"))
    for key in sorted(properties):
        if key in value and not (path == "" and key == "metadata"):
            _validate(value[key], properties[key], _child(path, key), out)
    for key in schema.get("required") or []:
        if key not in value:
            out.append(_cause(_child(path, str(key)), "FieldValueRequired"))


# ---------------------------------------------------------------- beyond OpenAPI


def _walk(value: Any, schema: Schema, path: str) -> Iterator[tuple[Any, Schema, str]]:
    """Every (value, schema, field path) pair, parents first; map keys as ``path[key]``."""
    yield value, schema, path
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key in sorted(value):
            if key in properties:
                if not (path == "" and key == "metadata"):
                    yield from _walk(value[key], properties[key], _child(path, key))
            elif isinstance(additional, Mapping):
                yield from _walk(value[key], additional, f"{path}[{key}]")
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            yield from _walk(item, schema["items"], f"{path}[{index}]")


def _embedded_errors(obj: Any, schema: Schema) -> list[Cause]:
    found = []
    for value, node, path in _walk(obj, schema, ""):
        if not node.get("x-kubernetes-embedded-resource") or not isinstance(value, dict):
            continue
        for key in ("apiVersion", "kind"):
            if key not in value:
                found.append(_cause(_child(path, key), "FieldValueRequired",
                                    detail="must not be empty"))
            elif not isinstance(value[key], str):
                found.append(_cause(_child(path, key), "FieldValueInvalid", value[key],
                                    "must be a string"))
            elif not value[key]:
                found.append(_cause(_child(path, key), "FieldValueInvalid", "",
                                    "must not be empty"))
    return found


def _list_errors(obj: Any, schema: Schema) -> list[Cause]:
    found = []
    for value, node, path in _walk(obj, schema, ""):
        if not isinstance(value, list):
            continue
        list_type = node.get("x-kubernetes-list-type")
        if list_type == "set":
            seen: set[str] = set()
            for index, item in enumerate(value):
                key = json.dumps(item, sort_keys=True)
                if key in seen:
                    found.append(_cause(f"{path}[{index}]", "FieldValueDuplicate", item))
                seen.add(key)
        elif list_type == "map":
            keys = [str(k) for k in node.get("x-kubernetes-list-map-keys") or []]
            seen = set()
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                entry = {k: item[k] for k in keys if k in item}
                key = json.dumps(entry, sort_keys=True)
                if key in seen:
                    found.append(_cause(f"{path}[{index}]", "FieldValueDuplicate", entry))
                seen.add(key)
    return found


def has_validation_rules(schema: Any) -> bool:
    """Whether ``schema`` has ``x-kubernetes-validations`` anywhere."""
    if isinstance(schema, Mapping):
        if schema.get("x-kubernetes-validations"):
            return True
        return any(has_validation_rules(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_validation_rules(v) for v in schema)
    return False


_COMPILED: dict[str, Program | None] = {}


def _program(rule: str) -> Program | None:
    if rule not in _COMPILED:
        try:
            _COMPILED[rule] = compile_rule(rule)
        except CelUnsupported:
            _COMPILED[rule] = None
    return _COMPILED[rule]


def _old_value(old: Any, path: str) -> tuple[bool, Any]:
    current = old
    for part in re.findall(r"[^.\[\]]+|\[[^\]]*\]", path):
        key = part[1:-1] if part.startswith("[") else part
        if isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        elif isinstance(current, dict) and key in current:
            current = current[key]
        else:
            return False, None
    return True, current


def _cel_errors(obj: Any, schema: Schema, old: Any) -> list[Cause]:
    found = []
    for value, node, path in _walk(obj, schema, ""):
        for rule in node.get("x-kubernetes-validations") or []:
            if not isinstance(rule, Mapping) or not isinstance(rule.get("rule"), str):
                continue
            program = _program(rule["rule"])
            if program is None:
                continue
            has_old, old_value = (False, None)
            if program.uses_old_self:
                has_old, old_value = _old_value(old, path) if old is not None else (False, None)
                if not has_old and not rule.get("optionalOldSelf"):
                    continue  # transition rules only run on updates
            try:
                ok = program.evaluate(value, old_value, has_old)
            except CelUnsupported:
                continue
            if ok:
                continue
            message = str(rule.get("message") or "").strip() or f"failed rule: {rule['rule']}"
            field = path
            extra = rule.get("fieldPath")
            if isinstance(extra, str) and extra:
                field = f"{path}{extra}" if path else extra.lstrip(".")
            reason = str(rule.get("reason") or "FieldValueInvalid")
            found.append(_cause(field, reason, _OMIT, message))
    return found


def validate_custom_resource(obj: Any, schema: Schema, old: Any = None) -> list[Cause]:
    """The causes a real server reports for ``obj`` (already pruned and defaulted).

    ``old`` is the stored object on updates (for CEL transition rules). Empty when valid.
    """
    causes: list[Cause] = []
    _validate(obj, schema, "", causes)
    causes.extend(_embedded_errors(obj, schema))
    causes.extend(_list_errors(obj, schema))
    if has_validation_rules(schema):
        if any(c.reason in _BLOCKING for c in causes):
            causes.append(Cause("<nil>", "FieldValueInvalid", f"Invalid value: null: "
                                                                f"{RULES_SKIPPED}"))
        else:
            causes.extend(_cel_errors(obj, schema, old))
    return causes


def invalid_status(kind: str, group: str, name: str, causes: list[Cause]) -> dict[str, Any]:
    """The ``422 Invalid`` Status body: ``Widget.example.dynakube.io "w2" is invalid: [...]``."""
    qualified = f"{kind}.{group}" if group else kind
    texts: list[str] = []
    for cause in causes:
        if str(cause) not in texts:
            texts.append(str(cause))
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind,
                               "causes": [c.as_dict() for c in causes]}
    if not group:
        del details["group"]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"{qualified} {_go_quote(name)} is invalid: {summary}",
        "reason": "Invalid",
        "details": details,
        "code": 422,
    }


# ---------------------------------------------------------------- pruning and defaulting

_OBJECT_META = BUILTIN_SCHEMAS[META + "ObjectMeta"]


def _prune_metadata(value: Any, path: str, unknown: list[str]) -> None:
    if not isinstance(value, dict):
        return
    known = _OBJECT_META["properties"]
    for key in list(value):
        if key not in known:
            del value[key]
            unknown.append(_child(path, key))


def _prune(value: Any, schema: Schema, path: str, unknown: list[str], resource: bool) -> None:
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        for key in list(value):
            child = _child(path, key)
            if resource and key in ("apiVersion", "kind"):
                continue
            if resource and key == "metadata":
                _prune_metadata(value[key], child, unknown)
            elif key in properties:
                sub = properties[key]
                _prune(value[key], sub, child, unknown, bool(sub.get(
                    "x-kubernetes-embedded-resource")))
            elif isinstance(additional, Mapping):
                _prune(value[key], additional, child, unknown, bool(additional.get(
                    "x-kubernetes-embedded-resource")))
            elif not (preserve or additional is True):
                del value[key]
                unknown.append(child)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        items = schema["items"]
        for index, item in enumerate(value):
            _prune(item, items, f"{path}[{index}]", unknown,
                   bool(items.get("x-kubernetes-embedded-resource")))


def prune(obj: dict[str, Any], schema: Schema) -> list[str]:
    """Remove, in place, the fields ``schema`` does not know; return their paths.

    Respects ``x-kubernetes-preserve-unknown-fields`` and ``additionalProperties``; the root
    and ``x-kubernetes-embedded-resource`` objects keep ``apiVersion``/``kind``/``metadata``,
    with ``metadata`` pruned to ObjectMeta's fields (``metadata.bogus`` is reported too).
    """
    unknown: list[str] = []
    _prune(obj, schema, "", unknown, True)
    return unknown


def _default(value: Any, schema: Schema, root: bool = False) -> Any:
    """Defaults, null dropping and float-to-int below ``value``; returns the new value."""
    types = _types(schema)
    if isinstance(value, float) and value.is_integer() and "integer" in types:
        return int(value)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            if root and key == "metadata":
                continue
            if "default" in sub and (key not in value or (value[key] is None and not sub.get(
                    "nullable"))):
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                if value[key] is None and not sub.get("nullable"):
                    del value[key]
                    continue
                value[key] = _default(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            for key in list(value):
                if key in properties:
                    continue
                if value[key] is None and not additional.get("nullable"):
                    del value[key]
                    continue
                value[key] = _default(value[key], additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            value[index] = _default(item, schema["items"])
    return value


def apply_defaults(obj: dict[str, Any], schema: Schema) -> None:
    """Apply ``default`` values in place, the way the server does on create and update.

    Also drops ``null`` from non-nullable fields (a default replaces it when there is one)
    and stores whole floats given for integer fields as integers.
    """
    _default(obj, schema, root=True)


def prepare_custom_resource(obj: dict[str, Any], schema: Schema) -> list[str]:
    """:func:`prune` then :func:`apply_defaults`; returns the unknown field paths."""
    unknown = prune(obj, schema)
    apply_defaults(obj, schema)
    return unknown


def strict_decoding_message(kind: str, version: str, unknown: list[str]) -> str:
    """The 400 message for ``fieldValidation=Strict`` with unknown fields."""
    fields = ", ".join(f"unknown field {_go_quote(p)}" for p in unknown)
    return (f"{kind} in version {_go_quote(version)} cannot be handled as a {kind}: "
            f"strict decoding error: {fields}")


def unknown_field_warning(path: str) -> str:
    """The text of one ``Warning`` for ``fieldValidation=Warn`` (before ``299 - "..."``)."""
    return f"unknown field {_go_quote(path)}"
