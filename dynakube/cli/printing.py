"""What the command line prints, kept apart from what it does: tables, YAML, JSON, names.

Output meant for scripts follows kubectl to the character: columns aligned the way Go's
``tabwriter`` aligns them (three spaces of padding, six characters at least, the last
column never padded), headers in capitals, ``<none>`` for a missing cell, keys sorted in
YAML and JSON. The progress bar writes to a terminal only.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from ..jsonpath import go_value

if TYPE_CHECKING:
    from ..discovery.registry import ResourceInfo

__all__ = [
    "GO_JSON_ESCAPES",
    "ProgressBar",
    "api_resource_rows",
    "column_widths",
    "format_cell",
    "format_row",
    "format_table",
    "kind_group",
    "label_cells",
    "label_headers",
    "object_name",
    "table_rows",
    "to_json",
    "to_yaml",
]

_MIN_WIDTH = 6
_PADDING = 3


def column_widths(rows: Sequence[Sequence[str]],
                  widths: Sequence[int] = ()) -> list[int]:
    """Each column's width (padding included), at least ``widths`` (to keep a layout)."""
    out = list(widths)
    for row in rows:
        out += [0] * (len(row) - len(out))
        for i, cell in enumerate(row[:-1]):
            out[i] = max(out[i], len(cell) + _PADDING, _MIN_WIDTH)
    return out


def format_row(row: Sequence[str], widths: Sequence[int]) -> str:
    """One aligned line (no newline); the last cell is never padded."""
    if not row:
        return ""
    return "".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + row[-1]


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """Align rows like kubectl's tabwriter; each line ends with a newline."""
    if not rows:
        return ""
    widths = column_widths(rows)
    return "\n".join(format_row(row, widths) for row in rows) + "\n"


def format_cell(value: Any) -> str:
    """A Table cell as kubectl prints it: ``<none>`` for null, ``true``/``false``."""
    if value is None:
        return "<none>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    text = str(value)
    for stop in ("\n", "\r", "\f"):  # kubectl cuts a cell at its first line break
        if stop in text:
            text = text.split(stop, 1)[0] + "..."
    return text


def _row_namespace(row: Mapping[str, Any]) -> str:
    obj = row.get("object")
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    return str(meta.get("namespace") or "") if isinstance(meta, Mapping) else ""


def label_headers(label_columns: Sequence[str], show_labels: bool) -> list[str]:
    """``-L app.kubernetes.io/name`` heads a NAME column (the key's last segment, as
    kubectl); ``--show-labels`` adds LABELS at the end."""
    return ([key.rstrip("/").rsplit("/", 1)[-1].upper() for key in label_columns]
            + (["LABELS"] if show_labels else []))


def label_cells(labels: Mapping[str, Any] | None, label_columns: Sequence[str],
                show_labels: bool) -> list[str]:
    """The ``-L`` cells (empty when the label is missing) and the ``k=v,...`` LABELS cell."""
    labels = labels or {}
    cells = [str(labels.get(key, "")) for key in label_columns]
    if show_labels:
        cells.append(",".join(f"{k}={labels[k]}" for k in sorted(labels)) or "<none>")
    return cells


def table_rows(table: Mapping[str, Any], *, wide: bool = False, namespace_column: bool = False,
               name_prefix: str = "", headers: bool = True,
               label_columns: Sequence[str] = (), show_labels: bool = False) -> list[list[str]]:
    """Header and cell rows of a server-side ``Table``; ``priority > 0`` columns only when
    ``wide``; a leading NAMESPACE column for ``-A``; ``name_prefix`` before each name;
    ``label_columns`` (``-L``) and ``show_labels`` cells after the server's columns."""
    definitions = table.get("columnDefinitions") or []
    keep = [i for i, c in enumerate(definitions) if wide or not c.get("priority")]
    name_columns = {i for i, c in enumerate(definitions) if c.get("format") == "name"}
    if not name_columns and definitions:
        name_columns = {0}
    out: list[list[str]] = []
    if headers:
        head = [str(definitions[i].get("name", "")).upper() for i in keep]
        out.append((["NAMESPACE"] if namespace_column else []) + head
                   + label_headers(label_columns, show_labels))
    for row in table.get("rows") or []:
        cells = row.get("cells") or []
        shown = []
        for i in keep:
            text = format_cell(cells[i] if i < len(cells) else None)
            if i in name_columns and name_prefix:
                text = name_prefix + text
            shown.append(text)
        if label_columns or show_labels:
            meta = (row.get("object") or {}).get("metadata") or {}
            shown += label_cells(meta.get("labels"), label_columns, show_labels)
        out.append(([_row_namespace(row)] if namespace_column else []) + shown)
    return out


def custom_column_rows(objects: Iterable[Mapping[str, Any]],
                       columns: Sequence[tuple[str, Any]], *,
                       headers: bool = True) -> list[list[str]]:
    """``-o custom-columns``: each cell is every value the column's template finds, joined by
    commas and printed with Go's ``%v`` (``map[k:v]`` for a map), ``<none>`` for none."""
    out = [[header for header, _ in columns]] if headers else []
    for obj in objects:
        row = []
        for _, template in columns:
            values = [v for found in template.find(obj, allow_missing_keys=True) for v in found]
            row.append(",".join(go_value(v) for v in values) if values else "<none>")
        out.append(row)
    return out


def kind_group(kind: str, group: str) -> str:
    """``deployment.apps``, ``configmap``: how kubectl names a type in its messages."""
    return f"{kind.lower()}.{group}" if group else kind.lower()


def object_name(info: ResourceInfo, name: str) -> str:
    """``-o name``: ``deployment.apps/web``, ``configmap/settings``."""
    return f"{kind_group(info.kind, info.group)}/{name}"


def api_resource_rows(resources: Iterable[ResourceInfo], *, wide: bool = False,
                      deprecated: Mapping[tuple[str, str], Sequence[str]] | None = None,
                      headers: bool = True) -> list[list[str]]:
    """``kubectl api-resources`` rows; ``wide`` adds VERBS, CATEGORIES and DEPRECATED (the
    deprecated versions served for that group-resource, from ``deprecated``)."""
    out: list[list[str]] = []
    if headers:
        out.append(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
                   + (["VERBS", "CATEGORIES", "DEPRECATED"] if wide else []))
    for r in resources:
        row = [r.plural, ",".join(r.short_names), r.api_version,
               "true" if r.namespaced else "false", r.kind]
        if wide:
            versions = (deprecated or {}).get((r.group, r.plural), ())
            row += [",".join(r.verbs), ",".join(r.categories), ",".join(versions)]
        out.append(row)
    return out


_DUMPER: Any = None

#: what Go's YAML (1.1) reads as booleans beyond what PyYAML's resolver quotes already
_GO_YAML_BOOLS = frozenset({"y", "Y", "n", "N"})
#: and the floats with an exponent and no dot (``1e3``), which PyYAML reads as text
_GO_YAML_FLOAT = re.compile(r"[-+]?[0-9]+[eE][-+]?[0-9]+")


def _dumper() -> Any:
    """A SafeDumper quoting like Go's YAML."""
    global _DUMPER
    if _DUMPER is None:
        import yaml

        class KubeDumper(yaml.SafeDumper):
            def choose_scalar_style(self) -> Any:
                # Go's YAML double-quotes a text that would read as another type ("yes",
                # "1", ""), and single-quotes one that only the syntax forbids plain
                style = super().choose_scalar_style()
                event: Any = self.event  # a ScalarEvent here
                if style == "'" and not event.implicit[0]:
                    return '"'
                return style

        def multiline_literal(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
            # Go's YAML writes a text with line breaks as a ``|`` block (where YAML allows),
            # and quotes y/n, which it reads as booleans
            style = "|" if "\n" in data else '"' if data in _GO_YAML_BOOLS or \
                _GO_YAML_FLOAT.fullmatch(data) else None
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

        KubeDumper.add_representer(str, multiline_literal)
        _DUMPER = KubeDumper
    return _DUMPER


def _go_key_less(a: str, b: str) -> bool:
    """Go's YAML order of map keys: by character, but a run of digits by its number
    (``k2`` before ``k10``), letters after digits where a number goes on."""
    digits = False
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x == y:
            digits = x.isdecimal()
            continue
        x_letter, y_letter = x.isalpha(), y.isalpha()
        if x_letter and y_letter:
            return x < y
        if x_letter or y_letter:
            return x_letter if digits else y_letter
        a_num = b_num = 0
        if x == "0" or y == "0":  # zeros after a non-zero digit count: 10 vs 1 compare
            for c in reversed(a[:i]):
                if not c.isdecimal():
                    break
                if c != "0":
                    a_num = b_num = 1
                    break
        a_end, b_end = i, i
        while a_end < len(a) and a[a_end].isdecimal():
            a_num = a_num * 10 + ord(a[a_end]) - ord("0")
            a_end += 1
        while b_end < len(b) and b[b_end].isdecimal():
            b_num = b_num * 10 + ord(b[b_end]) - ord("0")
            b_end += 1
        if a_num != b_num:
            return a_num < b_num
        if a_end != b_end:
            return a_end < b_end
        return x < y
    return len(a) < len(b)


def _go_ordered(obj: Any) -> Any:
    """``obj`` with every mapping's keys in Go's YAML order (see :func:`_go_key_less`)."""
    if isinstance(obj, dict):
        order = functools.cmp_to_key(lambda a, b: -1 if _go_key_less(str(a), str(b)) else
                                     1 if _go_key_less(str(b), str(a)) else 0)
        return {k: _go_ordered(obj[k]) for k in sorted(obj, key=order)}
    if isinstance(obj, list):
        return [_go_ordered(v) for v in obj]
    return obj


def to_yaml(obj: Any) -> str:
    """YAML with keys in Go's order, block style, Go's quoting, ``|`` for multi-line text,
    long plain text folded at 80 columns: as kubectl prints it."""
    import yaml

    return str(yaml.dump(_go_ordered(obj), Dumper=_dumper(), sort_keys=False,
                         default_flow_style=False, allow_unicode=True,
                         width=80))  # Go's YAML folds at 80 too


#: What Go's encoding/json escapes inside strings (kubectl's -o json goes through it).
GO_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                                  "\u2028": "\\u2028", "\u2029": "\\u2029"})


def to_json(obj: Any) -> str:
    """JSON indented by four, keys sorted, ``<>&`` escaped: as kubectl prints it."""
    text = json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)
    return text.translate(GO_JSON_ESCAPES) + "\n"  # they occur only inside strings


class ProgressBar:
    """``[#######.......] 12/40 Widget/alpha`` redrawn in place on a terminal.

    On anything that is not a terminal it writes nothing (the caller prints plain lines).
    """

    def __init__(self, stream: IO[str], *, width: int = 28):
        self.stream = stream
        self.width = width
        self.active = _isatty(stream)
        self._last = 0

    def update(self, done: int, total: int, label: str = "") -> None:
        if not self.active or total <= 0:
            return
        filled = self.width * min(done, total) // total
        bar = "#" * filled + "." * (self.width - filled)
        text = f"[{bar}] {done}/{total} {label}"[:120]
        pad = " " * max(0, self._last - len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._last = len(text)

    def finish(self) -> None:
        """Erase the bar so the lines printed next start clean."""
        if self.active and self._last:
            self.stream.write("\r" + " " * self._last + "\r")
            self.stream.flush()
            self._last = 0


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real file
        return False
