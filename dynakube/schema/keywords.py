"""The API server's semantics as ``jsonschema`` keywords (draft 4, extended).

Plain JSON Schema says ``null`` is not a string and ``3.0`` is not an integer; the API server
disagrees in specific ways, and client-side validation must never be stricter than it:

- ``null`` means "not set": it never fails ``type``/``enum``/``anyOf``, and a required field
  that is ``null`` counts as missing (unless the field is ``nullable``);
- custom resources take a whole float for an integer; built-in kinds refuse it;
- custom resources get defaults filled in before validation, so a required field with a
  ``default`` is never missing;
- unknown fields are reported one per field, each at its own path;
- ``x-kubernetes-list-type: set/map`` items must be unique (by the map keys, defaults applied);
- ``format`` and ``pattern``: see ``formats.py`` (RE2 syntax Python cannot read is skipped).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .formats import check_format, pattern_matcher

__all__ = ["short", "validator_class"]

_classes: dict[bool, Any] = {}


def validator_class(builtin: bool) -> Any:
    """Draft 4 with the API server's semantics; built-in kinds refuse whole floats as ints."""
    cls = _classes.get(builtin)
    if cls is not None:
        return cls
    from jsonschema import Draft4Validator, validators

    def is_array(_: Any, value: Any) -> bool:
        return isinstance(value, (list, tuple))

    def is_object(_: Any, value: Any) -> bool:
        return isinstance(value, Mapping)

    def is_integer(_: Any, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        return not builtin and isinstance(value, float) and value.is_integer()

    checker = Draft4Validator.TYPE_CHECKER.redefine_many(
        {"array": is_array, "integer": is_integer, "object": is_object})
    cls = validators.extend(
        Draft4Validator,
        validators={
            "type": _type, "required": _required(builtin), "enum": _enum,
            "format": _format, "anyOf": _any_of, "oneOf": _any_of, "pattern": _pattern,
            "additionalProperties": _additional_properties,
            "x-kubernetes-list-type": _list_type,
        },
        type_checker=checker,
    )
    _classes[builtin] = cls
    return cls


def _error(message: str, **kw: Any) -> Any:
    from jsonschema import ValidationError as SchemaError

    return SchemaError(message, **kw)


def _type(validator: Any, types: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
    if instance is None:
        return
    names = types if isinstance(types, list) else [types]
    if not any(validator.is_type(instance, t) for t in names):
        yield _error(f"{instance!r} is not of type {' or '.join(names)}")


def _required(builtin: bool) -> Any:
    def required(validator: Any, names: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
        if not isinstance(instance, Mapping):
            return
        props = schema.get("properties") or {}
        for name in names:
            sub = props.get(name) or {}
            if name in instance and (instance[name] is not None or sub.get("nullable")):
                continue
            if not builtin and "default" in sub:
                continue  # the server fills the default in before it validates
            yield _error(f"{name!r} is a required property", path=[name])

    return required


def _same(a: Any, b: Any) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _enum(validator: Any, enums: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
    if instance is None or any(_same(instance, e) for e in enums):
        return
    yield _error(f"{instance!r} is not one of {enums!r}")


def _format(validator: Any, fmt: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
    if isinstance(fmt, str) and check_format(fmt, instance) is not None:
        yield _error(f"{instance!r} is not a valid {fmt}")


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
    if not isinstance(instance, str) or not isinstance(pattern, str):
        return
    matches = pattern_matcher(pattern)
    if matches is not None and not matches(instance):  # None: RE2 only, the server judges
        yield _error(f"{instance!r} does not match {pattern!r}")


def _any_of(validator: Any, subschemas: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
    if instance is None:
        return
    errors = []
    for index, sub in enumerate(subschemas):
        found = list(validator.descend(instance, sub, schema_path=index))
        if not found:
            return
        errors.extend(found)
    yield _error(f"{instance!r} is not valid under any of the given schemas", context=errors)


def _additional_properties(validator: Any, extra: Any, instance: Any,
                           schema: Mapping[str, Any]) -> Any:
    if not isinstance(instance, Mapping):
        return
    known = schema.get("properties") or {}
    unknown = [k for k in instance if k not in known]
    if extra is False:
        for key in unknown:
            yield _error(f"unknown field {key!r}", path=[key])
    elif isinstance(extra, Mapping):
        for key in unknown:
            yield from validator.descend(instance[key], extra, path=key)


def _list_type(validator: Any, list_type: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
    if list_type not in ("set", "map") or not isinstance(instance, (list, tuple)):
        return
    keys = schema.get("x-kubernetes-list-map-keys") or []
    items = schema.get("items")
    defaults: dict[str, Any] = {}
    if isinstance(items, Mapping) and isinstance(items.get("properties"), Mapping):
        defaults = {k: items["properties"][k]["default"] for k in keys
                    if isinstance(items["properties"].get(k), Mapping)
                    and "default" in items["properties"][k]}
    seen: set[str] = set()
    for index, item in enumerate(instance):
        if list_type == "map":
            if not isinstance(item, Mapping):
                continue
            identity = _canonical([item.get(k, defaults.get(k)) for k in keys])
            shown = ", ".join(f"{k}={short(item.get(k, defaults.get(k)))}" for k in keys)
        else:
            identity, shown = _canonical(item), short(item)
        if identity in seen:
            yield _error(f"duplicate value: {shown}", path=[index])
        seen.add(identity)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def short(value: Any, limit: int = 60) -> str:
    """A value as JSON, cut to ``limit`` characters."""
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
