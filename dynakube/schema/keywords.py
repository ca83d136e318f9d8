"""The API server's semantics as ``jsonschema`` keywords (draft 4, extended).

Plain JSON Schema says ``null`` is not a string and ``3.0`` is not an integer; the API server
disagrees in specific ways, and client-side validation must never be stricter than it:

- ``null`` means "not set": it never fails ``type``/``enum``/``anyOf``, and a required field
  that is ``null`` counts as missing (unless the field is ``nullable``). The one exception:
  a custom resource's array item. The server prunes non-nullable ``null`` *fields* before it
  validates, but keeps ``null`` items, which then fail their ``type``;
- custom resources take a whole float for an integer; built-in kinds refuse it;
- custom resources get defaults filled in before validation, so a required field with a
  ``default`` is never missing;
- ``""`` for a built-in enum is Go's zero value: "not set", defaulted by the server;
- unknown fields are reported one per field, each at its own path;
- ``x-kubernetes-list-type: set/map`` items of custom resources must be unique (by the map
  keys, defaults applied); the server does not enforce it for built-in kinds;
- ``format`` and ``pattern``: see ``formats.py`` (RE2 syntax Python cannot read is skipped).

A *partial* object (an apply configuration, a merge or strategic merge patch) is merged
with the stored object before the server validates the result, which the client cannot
see: so only what is present is judged (types, enums, formats, patterns, bounds of values,
unknown fields), never what the merge may add (``required``, item and entry counts, list
uniqueness).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .formats import check_format, pattern_matcher

__all__ = ["PARTIAL_SKIPPED", "null_refused", "short", "validator_class"]

_classes: dict[tuple[bool, bool], Any] = {}

# What a merge may change: not judged on a partial object.
PARTIAL_SKIPPED = frozenset({"required", "minItems", "maxItems", "minProperties",
                             "maxProperties", "uniqueItems", "x-kubernetes-list-type"})


def validator_class(builtin: bool, partial: bool = False) -> Any:
    """Draft 4 with the API server's semantics; built-in kinds refuse whole floats as ints.

    ``partial``: the class for apply configurations and patches (see the module docstring).
    """
    cls = _classes.get((builtin, partial))
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
    keywords: dict[str, Any] = {
        "type": _type, "required": _required(builtin), "enum": _enum(builtin),
        "format": _format(builtin), "anyOf": _any_of, "oneOf": _any_of, "pattern": _pattern,
        "additionalProperties": _additional_properties,
        "x-kubernetes-list-type": _ignored if builtin else _list_type,
    }
    if not builtin:
        keywords["items"] = _items(Draft4Validator.VALIDATORS["items"])
    if partial:
        keywords.update(dict.fromkeys(PARTIAL_SKIPPED, _ignored))
    cls = validators.extend(Draft4Validator, validators=keywords, type_checker=checker)
    _classes[(builtin, partial)] = cls
    return cls


def _ignored(validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
    return iter(())


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


def _enum(builtin: bool) -> Any:
    def enum(validator: Any, enums: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
        if instance is None or (builtin and instance == "") or any(
                _same(instance, e) for e in enums):
            return
        yield _error(f"{instance!r} is not one of {enums!r}")

    return enum


def _format(builtin: bool) -> Any:
    def format_(validator: Any, fmt: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
        if isinstance(fmt, str) and check_format(fmt, instance, builtin=builtin) is not None:
            yield _error(f"{instance!r} is not a valid {fmt}")

    return format_


def null_refused(items: Any) -> bool:
    """Whether a custom resource's array refuses a ``null`` item (a typed, non-nullable,
    undefaulted item schema: what the server's own type check then fails)."""
    if not isinstance(items, Mapping) or items.get("nullable") is True or "default" in items:
        return False
    typ = items.get("type")
    names = typ if isinstance(typ, list) else [typ] if isinstance(typ, str) else []
    return bool(names) and "null" not in names


def _items(plain: Any) -> Any:
    def items(validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
        if not isinstance(instance, (list, tuple)) or not null_refused(value):
            yield from plain(validator, value, instance, schema)
            return
        for index, item in enumerate(instance):
            if item is None:
                yield _error(f"None is not of type {value['type']!r}", path=[index],
                             validator="type", validator_value=value["type"],
                             instance=None, schema=value)
            else:
                yield from validator.descend(item, value, path=index)

    return items


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
