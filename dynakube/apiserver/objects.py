"""Object rules of the embedded server: names, metadata the server owns, and body decoding.

What kube-apiserver does to every object on the way in (parse, check the kind against the URL
and the name's type, fill ``uid``/``creationTimestamp``/``generation``) and on the way out (the
version asked for, converted where it is a view of another; no ``apiVersion``/``kind`` on
built-in list items). Name formats are semantic validation (``rules.semantic.metadata``).
"""

from __future__ import annotations

import copy
import json
import random
import time
import uuid
from typing import Any

from .kinds.conversions import convert
from .kinds.specs import KindSpec
from .status import bad_request, cause, invalid

__all__ = [
    "Obj",
    "decode_body",
    "go_json_error",
    "check_depth",
    "MAX_DEPTH",
    "check_type_meta",
    "check_name_type",
    "generate_name",
    "now_rfc3339",
    "new_uid",
    "spec_changed",
    "has_generation",
    "has_status_subresource",
    "for_version",
    "canonical",
    "strip_type_meta",
    "deep_copy",
    "qualified_resource",
]

Obj = dict[str, Any]

_GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_GENERATION_KINDS = {
    ("", "Pod"), ("", "PodTemplate"), ("", "ReplicationController"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apps", "DaemonSet"), ("apps", "Deployment"), ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"), ("batch", "CronJob"), ("batch", "Job"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "Ingress"), ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "NetworkPolicy"), ("policy", "PodDisruptionBudget"),
    ("resource.k8s.io", "DeviceClass"), ("resource.k8s.io", "ResourceSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
}
"""The built-in kinds whose strategies keep ``metadata.generation`` (as the recordings show)."""


def now_rfc3339(at: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if at is None else at))


def new_uid() -> str:
    return str(uuid.uuid4())


def deep_copy(obj: Obj) -> Obj:
    return copy.deepcopy(obj)


def qualified_resource(spec: KindSpec) -> str:
    return f"{spec.plural}.{spec.group}" if spec.group else spec.plural


def decode_body(raw: bytes | None, spec: KindSpec, *, expect_object: bool = True,
                unrecognized: bool = False) -> Any:
    """JSON-decode a request body; a body that is not JSON is a ``400`` like the real one.

    ``unrecognized``: a create or replace body, whose kind the real server could not tell,
    so it says which kind it wanted and quotes the start of the body."""
    raw = raw or b""
    text = raw.decode("utf-8", "replace")

    def refuse(problem: str) -> BaseException:
        message = f"couldn't get version/kind; json parse error: {problem}"
        if unrecognized:
            message = (f"the object provided is unrecognized (must be of type {spec.kind}): "
                       f"{message} ({_summary(raw)})")
        return bad_request(message)

    try:
        value = json.loads(text, parse_constant=_refuse_constant,
                           parse_float=_finite_float) if text.strip() else None
    except ValueError as exc:
        raise refuse(go_json_error(raw) or _json_problem(exc)) from None
    except RecursionError:
        value = _TOO_DEEP
    check_depth(value)
    if expect_object and not isinstance(value, dict):
        if value is None:
            raise refuse("unexpected end of JSON input")
        found = "array" if isinstance(value, list) else type(value).__name__
        raise refuse(f"json: cannot unmarshal {found} into Go value of type struct {{ "
                     f"APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string "
                     f"\"json:\\\"kind,omitempty\\\"\" }}")
    return value


def _summary(data: bytes, limit: int = 30) -> str:
    """apimachinery's ``summarizeData``: how a refused body is quoted in the message."""
    if not data:
        return "<empty>"
    if data[0] == 0:
        return data.hex()
    if len(data) > limit:
        return data[:limit].decode("utf-8", "replace") + " ..."
    return data.decode("utf-8", "replace")


class _GoSyntaxError(Exception):
    pass


def _quote_byte(c: int) -> str:
    """Go's ``quoteChar``: a byte as encoding/json names it in a syntax error."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    escapes = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
    if c in escapes:
        return f"'{escapes[c]}'"
    if c < 0x20 or c == 0x7F:
        return f"'\\x{c:02x}'"
    if 0x80 <= c <= 0xA0 or c == 0xAD:
        return f"'\\u{c:04x}'"
    return f"'{chr(c)}'"


class _GoScanner:
    """Finds the first syntax error of a JSON text as Go's encoding/json words it."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise _GoSyntaxError("unexpected end of JSON input")
        return self.data[self.pos]

    def fail(self, context: str) -> _GoSyntaxError:
        return _GoSyntaxError(f"invalid character {_quote_byte(self.data[self.pos])} {context}")

    def space(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] in b" \t\r\n":
            self.pos += 1

    def value(self) -> None:
        c = self.peek()
        if c == ord("{"):
            self.pos += 1
            self.members(ord("}"), True)
        elif c == ord("["):
            self.pos += 1
            self.members(ord("]"), False)
        elif c == ord('"'):
            self.string()
        elif c == ord("-") or ord("0") <= c <= ord("9"):
            self.number()
        elif c in b"tfn":
            word = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}[c]
            for expected in word:
                if self.peek() != expected:
                    raise self.fail(f"in literal {word.decode()} (expecting "
                                    f"{_quote_byte(expected)})")
                self.pos += 1
        else:
            raise self.fail("looking for beginning of value")

    def members(self, close: int, keyed: bool) -> None:
        self.space()
        if self.peek() == close:
            self.pos += 1
            return
        while True:
            if keyed:
                if self.peek() != ord('"'):
                    raise self.fail("looking for beginning of object key string")
                self.string()
                self.space()
                if self.peek() != ord(":"):
                    raise self.fail("after object key")
                self.pos += 1
                self.space()
            self.value()
            self.space()
            c = self.peek()
            if c == close:
                self.pos += 1
                return
            if c != ord(","):
                raise self.fail("after object key:value pair" if keyed else
                                "after array element")
            self.pos += 1
            self.space()

    def string(self) -> None:
        self.pos += 1
        while True:
            c = self.peek()
            if c == ord('"'):
                self.pos += 1
                return
            if c == ord("\\"):
                self.pos += 1
                e = self.peek()
                if e == ord("u"):
                    for _ in range(4):
                        self.pos += 1
                        if chr(self.peek()) not in "0123456789abcdefABCDEF":
                            raise self.fail("in \\u hexadecimal character escape")
                elif e not in b'"\\/bfnrt':
                    raise self.fail("in string escape code")
            elif c < 0x20:
                raise self.fail("in string literal")
            self.pos += 1

    def digits(self, context: str) -> None:
        if not ord("0") <= self.peek() <= ord("9"):
            raise self.fail(context)
        while self.pos < len(self.data) and ord("0") <= self.data[self.pos] <= ord("9"):
            self.pos += 1

    def number(self) -> None:
        if self.peek() == ord("-"):
            self.pos += 1
        if self.peek() == ord("0"):
            self.pos += 1
        else:
            self.digits("in numeric literal")
        if self.pos < len(self.data) and self.data[self.pos] == ord("."):
            self.pos += 1
            self.digits("after decimal point in numeric literal")
        if self.pos < len(self.data) and self.data[self.pos] in b"eE":
            self.pos += 1
            if self.peek() in b"+-":
                self.pos += 1
            self.digits("in exponent of numeric literal")


def go_json_error(data: bytes) -> str | None:
    """The syntax error Go's encoding/json reports for ``data`` (None for valid syntax), so
    that a refused body is described in the real server's words."""
    scanner = _GoScanner(data)
    try:
        scanner.space()
        scanner.value()
        scanner.space()
        if scanner.pos < len(data):
            raise scanner.fail("after top-level value")
    except _GoSyntaxError as exc:
        return str(exc)
    except RecursionError:
        return None
    return None


_TOO_DEEP: Any = [[]]
MAX_DEPTH = 100
"""How deeply a body may nest. kube-apiserver's JSON decoder allows 10000 levels; the server's
recursive walks (copying, defaulting, pruning, encoding) would exhaust Python's stack first, so
deeper bodies get the ``400`` the real one gives past its own limit."""


def check_depth(value: Any) -> None:
    """A ``400`` for a decoded body nested deeper than :data:`MAX_DEPTH`."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(
            node, list) else ()
        if node is _TOO_DEEP or (children and depth > MAX_DEPTH):
            raise bad_request("couldn't get version/kind; json parse error: exceeded max depth")
        stack.extend((child, depth + 1) for child in children)


def _refuse_constant(name: str) -> Any:
    """``NaN``/``Infinity`` are not JSON: Go's decoder stops at their first letter."""
    where = "in numeric literal" if name.startswith("-") else "looking for beginning of value"
    raise ValueError(f"invalid character '{name.lstrip('-')[0]}' {where}")


def _finite_float(text: str) -> float:
    """A JSON number; one past float64 (``1e999``) is refused as Go refuses it, so no
    ``Infinity`` is ever stored or served back."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return value


def _json_problem(exc: ValueError) -> str:
    msg = str(exc)
    if "Expecting value" in msg:
        return "invalid character looking for beginning of value"
    return msg


def check_type_meta(obj: Obj, spec: KindSpec, raw: bytes | None) -> None:
    """Fill a missing apiVersion/kind from the URL (built-ins) or refuse; refuse mismatches."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    text = (raw or b"").decode("utf-8", "replace")
    if spec.is_custom:
        if not kind:
            raise bad_request(f"Object 'Kind' is missing in '{text}'")
        if not api_version:
            raise bad_request(f"Object 'apiVersion' is missing in '{text}'")
    if api_version and api_version != spec.api_version:
        raise bad_request(f"the API version in the data ({api_version}) does not match the "
                          f"expected API version ({spec.api_version})")
    if kind and kind != spec.kind:
        if spec.is_custom:
            name = obj.get("metadata", {}).get("name") if isinstance(obj.get("metadata"),
                                                                       dict) else ""
            raise invalid(spec.kind, str(name or ""), [cause(
                "kind", "FieldValueInvalid", f'Invalid value: "{kind}": must be {spec.kind}')],
                spec.group)
        internal = spec.group.split(".")[0] if spec.group else "core"
        raise bad_request(f"{kind} in version \"{spec.version}\" cannot be handled as a "
                          f"{spec.kind}: converting ({spec.version}.{kind}) to "
                          f"({internal}.{spec.kind}): unknown conversion")
    obj["apiVersion"] = spec.api_version
    obj["kind"] = spec.kind
    meta = obj.get("metadata")
    if meta is None:
        obj["metadata"] = {}
    elif not isinstance(meta, dict):
        raise bad_request(f"{spec.kind} in version \"{spec.version}\" cannot be handled as a "
                          f"{spec.kind}: json: cannot unmarshal {type(meta).__name__} into Go "
                          f"struct field {spec.kind}.metadata of type v1.ObjectMeta")


def check_name_type(spec: KindSpec, meta: Obj) -> None:
    """``400`` for a ``name`` or ``generateName`` that is no string, as decoding refuses it.

    Their formats are semantic validation (``rules.semantic.metadata``, per kind), which
    judges them with the rest of the object, after admission, as kube-apiserver does."""
    for field in ("name", "generateName"):
        value = meta.get(field)
        if value is not None and not isinstance(value, str):
            raise bad_request(f"{spec.kind} in version \"{spec.version}\" cannot be handled as "
                              f"a {spec.kind}: json: cannot unmarshal {type(value).__name__} into "
                              f"Go struct field ObjectMeta.metadata.{field} of type string")


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choice(_GENERATE_CHARS) for _ in range(5))


def has_generation(spec: KindSpec) -> bool:
    return spec.is_custom or (spec.group, spec.kind) in _GENERATION_KINDS


def has_status_subresource(spec: KindSpec) -> bool:
    return spec.subresource("status") is not None


_GENERATION_FIXED = {("scheduling.k8s.io", "PriorityClass")}  # set on create, never bumped


def spec_changed(old: Obj, new: Obj) -> bool:
    """Whether anything but ``metadata`` and ``status`` differs (what bumps ``generation``;
    a PriorityClass keeps its first one)."""
    group, _, _ = str(new.get("apiVersion") or "").rpartition("/")
    if (group, new.get("kind")) in _GENERATION_FIXED:
        return False
    keys = (set(old) | set(new)) - {"metadata", "status", "apiVersion", "kind"}
    return any(old.get(k) != new.get(k) for k in keys)


_META_ORDER = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
               "generation", "creationTimestamp", "deletionTimestamp",
               "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
               "finalizers", "managedFields")


def canonical(obj: Obj) -> Obj:
    """Keys in the order the real server writes them (kind, apiVersion, metadata, the rest)."""
    out: Obj = {}
    for key in ("kind", "apiVersion"):
        if key in obj:
            out[key] = obj[key]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        ordered = {k: meta[k] for k in _META_ORDER if k in meta}
        ordered.update((k, v) for k, v in meta.items() if k not in ordered)
        out["metadata"] = ordered
    out.update((k, v) for k, v in obj.items() if k not in out)
    return out


def for_version(obj: Obj, spec: KindSpec) -> Obj:
    """The stored object as the requested version shows it: converted where the versions
    differ in shape (``kinds.conversions``), relabelled otherwise."""
    return convert(obj, spec.api_version, spec.kind)


def strip_type_meta(obj: Obj) -> Obj:
    """A built-in list item: the real server omits ``apiVersion`` and ``kind``."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}

