"""Object rules of the embedded server: names, metadata the server owns, and body decoding.

What kube-apiserver does to every object on the way in (parse, check the kind against the URL,
validate the name, fill ``uid``/``creationTimestamp``/``generation``) and on the way out (the
``apiVersion`` of the version asked for, no ``apiVersion``/``kind`` on built-in list items).
"""

from __future__ import annotations

import copy
import functools
import json
import random
import re
import time
import uuid
from typing import Any

from .kinds.specs import KindSpec
from .status import bad_request, cause, invalid

__all__ = [
    "Obj",
    "decode_body",
    "check_depth",
    "yaml_as_json",
    "MAX_DEPTH",
    "check_type_meta",
    "validate_name",
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

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                  "characters, '-' or '.', and must start and end with an alphanumeric character "
                  "(e.g. 'example.com', regex used for validation is "
                  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
              "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
              "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
_1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
             "with an alphabetic character, and end with an alphanumeric character (e.g. "
             "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
_GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_GENERATION_KINDS = {("apps", "Deployment"), ("", "Pod"),
                     ("apiextensions.k8s.io", "CustomResourceDefinition")}


def now_rfc3339(at: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if at is None else at))


def new_uid() -> str:
    return str(uuid.uuid4())


def deep_copy(obj: Obj) -> Obj:
    return copy.deepcopy(obj)


def qualified_resource(spec: KindSpec) -> str:
    return f"{spec.plural}.{spec.group}" if spec.group else spec.plural


def decode_body(raw: bytes | None, spec: KindSpec, *, expect_object: bool = True) -> Any:
    """JSON-decode a request body; a body that is not JSON is a ``400`` like the real one."""
    text = (raw or b"").decode("utf-8", "replace")
    try:
        value = json.loads(text) if text.strip() else None
    except ValueError as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {_json_problem(exc)}"
                          ) from None
    except RecursionError:
        value = _TOO_DEEP
    check_depth(value)
    if expect_object and not isinstance(value, dict):
        if value is None:
            raise bad_request("couldn't get version/kind; json parse error: "
                              "unexpected end of JSON input")
        found = "array" if isinstance(value, list) else type(value).__name__
        raise bad_request(f"couldn't get version/kind; json parse error: json: cannot unmarshal "
                          f"{found} into Go value of type struct {{ APIVersion string "
                          f"\"json:\\\"apiVersion,omitempty\\\"\"; Kind string "
                          f"\"json:\\\"kind,omitempty\\\"\" }}")
    return value


_TOO_DEEP: Any = [[]]
MAX_DEPTH = 100
"""How deeply a body may nest. kube-apiserver's JSON decoder allows 10000 levels; the server's
recursive walks (copying, defaulting, pruning, encoding) would exhaust Python's stack first, so
deeper bodies get the ``400`` the real one gives past its own limit."""


@functools.cache
def _text_timestamps_loader() -> Any:
    """PyYAML's SafeLoader without the timestamp resolver (kube's YAML decoder keeps them)."""
    import yaml

    class Loader(yaml.SafeLoader):
        yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    return Loader


def yaml_as_json(text: str) -> Any:
    """A YAML document as the JSON value kube-apiserver converts it to: timestamps stay text,
    scalar keys become strings. Raises ``ValueError``/``TypeError`` (a key that is a list or a
    map, a value JSON cannot hold), ``RecursionError`` or a ``yaml.YAMLError``."""
    import yaml

    value = yaml.load(text, Loader=_text_timestamps_loader())
    check_depth(value)
    return json.loads(json.dumps(value, default=str))


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


def validate_name(spec: KindSpec, name: Any, *, generated: bool = False) -> None:
    """``422`` for a missing or malformed name, worded per the kind's naming rule."""
    if not name:
        raise invalid(spec.kind, "", [cause("metadata.name", "FieldValueRequired",
                                            "Required value: name or generateName is required")],
                      spec.group)
    if not isinstance(name, str):
        raise bad_request(f"{spec.kind} in version \"{spec.version}\" cannot be handled as a "
                          f"{spec.kind}: json: cannot unmarshal {type(name).__name__} into Go "
                          "struct field ObjectMeta.metadata.name of type string")
    problems: list[str] = []
    if (spec.group, spec.kind) in {("", "Namespace")}:
        if len(name) > 63:
            problems.append("must be no more than 63 characters")
        if not _DNS_LABEL.match(name):
            problems.append(_LABEL_MSG)
    elif (spec.group, spec.kind) == ("", "Service"):
        if len(name) > 63:
            problems.append("must be no more than 63 characters")
        if not _DNS_1035.match(name):
            problems.append(_1035_MSG)
    else:
        if len(name) > 253:
            problems.append("must be no more than 253 characters")
        if not _DNS_SUBDOMAIN.match(name):
            problems.append(_SUBDOMAIN_MSG)
    if problems:
        field = "metadata.generateName" if generated else "metadata.name"
        shown = name
        raise invalid(spec.kind, name, [cause(field, "FieldValueInvalid",
                                              f'Invalid value: "{shown}": ' + "; ".join(problems))],
                      spec.group)


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choice(_GENERATE_CHARS) for _ in range(5))


def has_generation(spec: KindSpec) -> bool:
    return spec.is_custom or (spec.group, spec.kind) in _GENERATION_KINDS


def has_status_subresource(spec: KindSpec) -> bool:
    return spec.subresource("status") is not None


def spec_changed(old: Obj, new: Obj) -> bool:
    """Whether anything but ``metadata`` and ``status`` differs (what bumps ``generation``)."""
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
    """The stored object as the requested version shows it (apiVersion only: no conversion)."""
    if obj.get("apiVersion") == spec.api_version:
        return obj
    out = dict(obj)
    out["apiVersion"] = spec.api_version
    return out


def strip_type_meta(obj: Obj) -> Obj:
    """A built-in list item: the real server omits ``apiVersion`` and ``kind``."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}

