"""``kubectl explain`` from the cluster's own OpenAPI v3: what a kind and its fields mean.

Reads the raw published schema (descriptions and all), follows ``$ref`` / ``allOf`` links and
walks through arrays implicitly, as kubectl does (``deployment.spec.template.spec.containers
.ports``). The text has kubectl's shape: ``GROUP`` / ``KIND`` / ``VERSION``, ``FIELD`` with its
type, ``DESCRIPTION``, then ``FIELDS`` with types, ``-required-``, enum values and defaults;
``recursive=True`` lists the whole tree of field names and types instead.
"""

from __future__ import annotations

import difflib
import json
import textwrap
from collections.abc import Mapping
from typing import Any, Protocol

from ..discovery.registry import ResourceInfo
from ..errors import InvalidArgumentError, NotFoundError
from .openapi import Converter, component_name

__all__ = ["explain", "field_type"]

_WIDTH = 80
_MAX_DEPTH = 15  # recursive listings stop here (some schemas refer to themselves)


class _Store(Protocol):
    def kind_component(self, group: str, version: str, kind: str,
                       ) -> tuple[Converter, str] | None: ...


def explain(store: _Store, resource: ResourceInfo, field_path: str = "",
            recursive: bool = False) -> str:
    """The ``kubectl explain`` text for ``resource`` or one of its fields.

    ``field_path`` is dotted (``spec.strategy.rollingUpdate``); a field that does not exist
    raises :class:`InvalidArgumentError` naming it and the closest existing names.
    """
    found = store.kind_component(resource.group, resource.version, resource.kind)
    if found is None:
        raise NotFoundError(404, {"kind": "Status", "status": "Failure", "reason": "NotFound",
                                  "code": 404, "message": (
            f"the server publishes no OpenAPI v3 schema for {resource.kind} "
            f"({resource.api_version}); explain needs one")})
    converter, component = found
    walker = _Walker(converter)
    schema, type_name = walker.resolve({"$ref": "#/components/schemas/" + component})
    field_name: str | None = None
    field_schema: Mapping[str, Any] = {}
    walked: list[str] = []
    for part in [p for p in field_path.split(".") if p]:
        props = schema.get("properties")
        if not isinstance(props, Mapping) or part not in props:
            names = sorted(props) if isinstance(props, Mapping) else []
            raise _unknown_field(resource.kind, walked, part, names)
        field_name, field_schema = part, props[part]
        schema, type_name = walker.resolve(field_schema)
        schema = walker.element(schema)
        walked.append(part)

    lines = []
    if resource.group:
        lines.append(f"GROUP:      {resource.group}")
    lines += [f"KIND:       {resource.kind}", f"VERSION:    {resource.version}", ""]
    if field_name is not None:
        lines += [f"FIELD: {field_name} <{walker.type_of(field_schema)}>", ""]
        head = _enum_default(field_schema, walker, indent="")
        lines += head + ([""] if head else [])
    lines.append("DESCRIPTION:")
    descriptions = []
    if field_name is not None:
        descriptions.append(str(field_schema.get("description") or ""))
    descriptions.append(str(schema.get("description") or ""))
    text = "\n\n".join(d for d in dict.fromkeys(descriptions) if d) or "<empty>"
    lines += _wrap(text, "    ")
    props = schema.get("properties")
    if isinstance(props, Mapping) and props:
        lines += ["", "FIELDS:"]
        required = set(schema.get("required") or ())
        if recursive:
            lines += walker.tree(schema, "  ", 0, {type_name} if type_name else set())
        else:
            for name in sorted(props):
                lines += walker.field(name, props[name], name in required)
                lines.append("")
            while lines and lines[-1] == "":
                lines.pop()
    return "\n".join(lines) + "\n"


def field_type(converter: Converter, schema: Mapping[str, Any]) -> str:
    """The type kubectl shows for a schema: ``string``, ``[]Container``, ``map[string]string``."""
    return _Walker(converter).type_of(schema)


class _Walker:
    def __init__(self, converter: Converter):
        self.converter = converter

    def resolve(self, schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
        """Follow ``$ref`` and single-``allOf`` wrappers to the schema that says something."""
        name: str | None = None
        for _ in range(20):
            ref = schema.get("$ref")
            if isinstance(ref, str):
                name = component_name(ref) or name
                schema = (self.converter.raw(name) if name else None) or {}
                continue
            all_of = schema.get("allOf")
            if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
                merged = {k: v for k, v in schema.items() if k != "allOf"}
                target, name = self.resolve(all_of[0])
                schema = {**target, **{k: v for k, v in merged.items() if k != "description"}}
                continue
            break
        return schema, name

    def element(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """Arrays are walked through: ``containers.ports`` means each container's ports."""
        for _ in range(5):
            if schema.get("type") == "array" and isinstance(schema.get("items"), Mapping):
                schema, _name = self.resolve(schema["items"])
            else:
                break
        return schema

    def type_of(self, schema: Mapping[str, Any]) -> str:
        if schema.get("x-kubernetes-int-or-string"):
            return "IntOrString"
        ref_name = None
        if isinstance(schema.get("$ref"), str):
            ref_name = component_name(schema["$ref"])
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            return self.type_of(all_of[0])
        if ref_name:
            target = self.converter.raw(ref_name) or {}
            if target.get("type") in ("string", "integer", "boolean", "number") \
                    and "properties" not in target:
                return str(target["type"])
            return ref_name.rsplit(".", 1)[-1]
        typ = schema.get("type")
        if typ == "array":
            items = schema.get("items")
            return "[]" + (self.type_of(items) if isinstance(items, Mapping) else "Object")
        if typ == "object" or "properties" in schema:
            extra = schema.get("additionalProperties")
            if isinstance(extra, Mapping) and "properties" not in schema:
                return "map[string]" + self.type_of(extra)
            return "Object"
        if isinstance(typ, str):
            return typ
        return "Object" if schema.get("x-kubernetes-preserve-unknown-fields") else "any"

    def field(self, name: str, schema: Mapping[str, Any], required: bool) -> list[str]:
        head = f"  {name}\t<{self.type_of(schema)}>" + (" -required-" if required else "")
        lines = [head] + _enum_default(schema, self, indent="  ")
        description = str(schema.get("description") or "")
        if not description:
            target, _ = self.resolve(schema)
            description = str(target.get("description") or "")
        if description:
            lines += _wrap(description, "    ")
        return lines

    def tree(self, schema: Mapping[str, Any], indent: str, depth: int,
             seen: set[str]) -> list[str]:
        lines: list[str] = []
        props = schema.get("properties")
        if not isinstance(props, Mapping) or depth >= _MAX_DEPTH:
            return lines
        required = set(schema.get("required") or ())
        for name in sorted(props):
            sub = props[name]
            lines.append(f"{indent}{name}\t<{self.type_of(sub)}>"
                         + (" -required-" if name in required else ""))
            target, type_name = self.resolve(sub)
            target = self.element(target)
            if type_name is None and isinstance(sub.get("items"), Mapping):
                _, type_name = self.resolve(sub["items"])
            if type_name and type_name in seen:
                continue  # a schema that contains itself (JSONSchemaProps): stop here
            lines += self.tree(target, indent + "  ", depth + 1,
                               seen | ({type_name} if type_name else set()))
        return lines


def _enum_default(schema: Mapping[str, Any], walker: _Walker, indent: str) -> list[str]:
    target, _ = walker.resolve(schema)
    lines = []
    enum = schema.get("enum", target.get("enum"))
    if isinstance(enum, list) and enum:
        shown = ", ".join(_scalar(v) for v in enum[:20])
        lines.append(f"{indent}enum: {shown}" + (", ...." if len(enum) > 20 else ""))
    default = schema.get("default")
    if default is not None and not (default in ("", {}, []) or (
            default in (0, False) and not isinstance(default, float))):  # Go zero values
        lines.append(f"{indent}default: {_scalar(default)}")
    return lines


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _wrap(text: str, indent: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if not paragraph.strip():
            lines.append("")  # a blank line between paragraphs, without trailing spaces
            continue
        lines += textwrap.wrap(paragraph, width=_WIDTH, initial_indent=indent,
                               subsequent_indent=indent, break_long_words=False,
                               break_on_hyphens=False) or [indent]
    return lines


def _unknown_field(kind: str, walked: list[str], part: str,
                   names: list[str]) -> InvalidArgumentError:
    where = ".".join([kind.lower()] + walked)
    close = difflib.get_close_matches(part, names, n=3, cutoff=0.6)
    close = [n for n in names if n.lower() == part.lower()] + [
        n for n in close if n.lower() != part.lower()]
    message = f'field "{part}" does not exist in {where}'
    if close:
        message += "; did you mean " + ", ".join(f'"{n}"' for n in close) + "?"
    elif names:
        message += "; its fields are " + ", ".join(names)
    else:
        message += " (it has no fields of its own)"
    return InvalidArgumentError(message)
