"""What ``-o``, ``--sort-by`` and ``--show-managed-fields`` mean, worked out without I/O.

``-o`` takes kubectl's formats, template ones included (``jsonpath=``, ``jsonpath-file=``,
``custom-columns=``, ``custom-columns-file=``), refused with kubectl's own words when they
are wrong. ``--sort-by`` orders as kubectl does: numbers by value, text in natural order
(``web-2`` before ``web-10``), objects without the field first.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import DynakubeError
from ..jsonpath import JSONPathError, Template, go_value, parse, relaxed

__all__ = ["FORMATS", "Output", "OutputError", "go_syntax", "jsonpath_failure",
           "natural_less", "parse_output", "sort_by", "without_managed_fields"]

#: The formats ``-o`` accepts (kubectl's list, less the Go templates).
FORMATS = ("custom-columns", "custom-columns-file", "json", "jsonpath", "jsonpath-file",
           "name", "wide", "yaml")

T = TypeVar("T")


class OutputError(DynakubeError):
    """``-o`` or ``--sort-by`` cannot be used as given."""


@dataclass(frozen=True)
class Output:
    """A parsed ``-o``: ``format`` is ``table``, ``wide``, ``yaml``, ``json``, ``name``,
    ``jsonpath`` (with ``template``) or ``custom-columns`` (with ``columns``)."""

    format: str = "table"
    template: Template | None = None
    columns: tuple[tuple[str, Template], ...] = field(default=())

    @property
    def tabular(self) -> bool:
        return self.format in ("table", "wide")


def parse_output(text: str, read_file: Callable[[str], str] | None = None) -> Output:
    """``-o TEXT`` -> :class:`Output`; ``read_file`` reads the ``*-file=PATH`` formats."""
    name, _, value = text.partition("=")
    if not text:
        return Output()
    if name in ("wide", "yaml", "json", "name") and not value:
        return Output(name)
    if name not in FORMATS:
        raise OutputError(f'unable to match a printer suitable for the output format "{text}", '
                          f"allowed formats are: {','.join(FORMATS)}")
    if name.endswith("-file"):
        if not value:
            raise OutputError(f"{name.removesuffix('-file')} format specified but no "
                              f"{'custom columns' if name.startswith('custom') else 'template'}"
                              " file given")
        value = read_file(value) if read_file else ""
        name = name.removesuffix("-file")
        if name == "custom-columns":
            return Output(name, columns=_columns_from_file(value))
    if name == "jsonpath":
        if not value:
            raise OutputError("template format specified but no template given")
        try:
            return Output(name, template=parse(value))
        except JSONPathError as e:
            raise OutputError(f"error parsing jsonpath {value}, {e}") from e
    if not value:
        raise OutputError("custom-columns format specified but no custom columns given")
    return Output(name, columns=_columns(value))


def _column(header: str, expression: str) -> tuple[str, Template]:
    try:
        return header, parse(relaxed(expression))
    except JSONPathError as e:
        raise OutputError(str(e)) from e


def _columns(spec: str) -> tuple[tuple[str, Template], ...]:
    out = []
    for part in spec.split(","):
        header, sep, expression = part.partition(":")
        if not sep:
            raise OutputError(f"unexpected custom-columns spec: {part}, expected "
                              "<header>:<json-path-expr>")
        out.append(_column(header, expression))
    return tuple(out)


def _columns_from_file(text: str) -> tuple[tuple[str, Template], ...]:
    """Two lines: the headers, then as many JSONPath expressions (kubectl's file format)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 2:
        raise OutputError(f"unexpected custom-columns template: expected two lines, got "
                          f"{len(lines)}")
    headers, specs = lines[0].split(), lines[1].split()
    if len(headers) != len(specs):
        raise OutputError(f"number of headers ({len(headers)}) and field specifications "
                          f"({len(specs)}) don't match")
    return tuple(_column(h, s) for h, s in zip(headers, specs, strict=True))


def without_managed_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` (or each item of a List) without ``metadata.managedFields``, as kubectl's
    ``-o yaml/json`` print it."""
    out = dict(obj)
    meta = out.get("metadata")
    if isinstance(meta, Mapping) and "managedFields" in meta:
        out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    if isinstance(out.get("items"), list):
        out["items"] = [without_managed_fields(i) if isinstance(i, Mapping) else i
                        for i in out["items"]]
    return out


# -- sorting --------------------------------------------------------------------------------

def natural_less(a: str, b: str) -> bool:
    """Natural order (``a2`` < ``a10``), byte for byte as kubectl's ``sortorder``."""
    x, y = a.encode(), b.encode()
    i = j = 0
    while i < len(x) and j < len(y):
        dx, dy = chr(x[i]).isdigit(), chr(y[j]).isdigit()
        if dx != dy:
            return dx
        if not dx:
            if x[i] != y[j]:
                return x[i] < y[j]
            i, j = i + 1, j + 1
            continue
        while i < len(x) and x[i] == 0x30:
            i += 1
        while j < len(y) and y[j] == 0x30:
            j += 1
        start_x, start_y = i, j
        while i < len(x) and chr(x[i]).isdigit():
            i += 1
        while j < len(y) and chr(y[j]).isdigit():
            j += 1
        if i - start_x != j - start_y:
            return i - start_x < j - start_y
        if x[start_x:i] != y[start_y:j]:
            return x[start_x:i] < y[start_y:j]
        if start_x != start_y:
            return start_x < start_y
    return len(x) < len(y)


def _less(a: Any, b: Any) -> bool:
    if isinstance(a, bool) and isinstance(b, bool):
        return not a and b
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(
            a, bool) and not isinstance(b, bool):
        return a < b
    if isinstance(a, str) and isinstance(b, str):
        return natural_less(a, b)
    kind = "map" if isinstance(a, Mapping) else "slice" if isinstance(a, list) else \
        type(a).__name__
    raise OutputError(f"the field is an unsortable type: {kind}")


def sort_by(items: Sequence[T], expression: str,
            obj_of: Callable[[T], Any] = lambda x: x) -> list[T]:
    """``items`` in ``--sort-by`` order; the sort is stable."""
    try:
        template = parse(relaxed(expression))
    except JSONPathError as e:
        raise OutputError(str(e)) from e
    keys: list[tuple[bool, Any]] = []
    for item in items:
        found = template.find(obj_of(item), allow_missing_keys=True)
        present = bool(found and found[0])
        keys.append((present, found[0][0] if present else None))

    def compare(i: int, j: int) -> int:
        (has_i, a), (has_j, b) = keys[i], keys[j]
        if not has_i or not has_j:
            return (has_i - has_j)
        try:
            return -1 if _less(a, b) else 1 if _less(b, a) else 0
        except OutputError as e:
            raise OutputError(f"field {relaxed(expression)} {str(e)[len('the field '):]}") \
                from None

    order = sorted(range(len(items)), key=functools.cmp_to_key(compare))
    return [items[i] for i in order]


# -- jsonpath failures ----------------------------------------------------------------------

def go_syntax(value: Any) -> str:
    """Go's ``%#v`` of a decoded JSON value (what kubectl shows of the object it was given)."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_value(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}:{go_syntax(value[k])}"
                          for k in sorted(value))
        return "map[string]interface {}{" + inner + "}"
    return "[]interface {}{" + ", ".join(go_syntax(v) for v in value) + "}"


def jsonpath_failure(template: Template, error: JSONPathError, obj: Any) -> OutputError:
    """kubectl's report of a template that fails on an object."""
    text = (f"Error executing template: {error}. Printing more information for debugging the "
            f"template:\n\ttemplate was:\n\t\t{template.source}\n\tobject given to jsonpath "
            f"engine was:\n\t\t{go_syntax(obj)}\n\n")
    return OutputError(f"error executing jsonpath {json.dumps(template.source)}: {text}")

