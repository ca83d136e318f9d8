"""Client-side validation: objects checked against the cluster's own schemas before sending.

The schemas come from :class:`~dynakube.schema.SchemaStore` (the server's OpenAPI v3,
converted by ``openapi.py``). An object the quick check (``fastcheck.py``) finds clean is
done with; otherwise ``jsonschema`` checks it, extended with the API server's own semantics
(``keywords.py``: ``null`` means "not set", whole floats, list uniqueness, formats), and each
error becomes a :class:`~dynakube.errors.Problem` with a path written the way people write it.

The cardinal rule is to never reject what the server would accept, so whatever the server
may fill in or forgive is a warning, not an error: a missing required field the server
defaults, anything under ``status`` (the server resets it on create). Unknown fields follow
``fieldValidation``: ``Strict`` errors, ``Warn`` warnings, ``Ignore`` nothing. A *partial*
object (an apply configuration or a patch) is judged only by what it holds (see
``keywords.py``). A malformed object is a problem, never an exception. Compiled kinds are
cached (LRU) per document hash and kind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import cachetools

from ..errors import (
    DynakubeError,
    InvalidArgumentError,
    Problem,
    ValidationError,
    ValidationWarning,
)
from .fastcheck import Check, compile_check
from .formats import FORMAT_EXPECTED, WARN_ONLY_FORMATS
from .keywords import short, validator_class
from .openapi import COMPONENTS, Converter, is_builtin_component, json_type

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = [
    "FIELD_VALIDATION_MODES",
    "ValidationWarning",
    "CompiledKind",
    "SchemaSource",
    "cannot_validate",
    "compile_kind",
    "check",
    "format_path",
    "raise_for_problems",
    "validate",
]

log = logging.getLogger(__name__)

FIELD_VALIDATION_MODES = ("Strict", "Warn", "Ignore")
_CACHE_SIZE = 128
_compiled_cache: cachetools.LRUCache[tuple[str, str, str], CompiledKind] = (
    cachetools.LRUCache(maxsize=_CACHE_SIZE))
_cache_lock = threading.Lock()


class SchemaSource(Protocol):
    """What validation needs from a schema store (``SchemaStore`` is one)."""

    def converter(self, group: str, version: str) -> tuple[str, Converter] | None: ...

    def component_for(self, group: str, version: str, kind: str) -> str | None: ...

    def recheck(self, group: str, version: str) -> bool: ...


class CompiledKind:
    """A kind's schema ready to check objects: the quick check, then (lazily) ``jsonschema``.

    ``jsonschema`` is imported and its validator built only when an object is not clean,
    so a program whose objects are all fine never pays for it.
    """

    def __init__(self, group: str, version: str, kind: str, component: str,
                 bundle: dict[str, Any], uri: str):
        self.group, self.version, self.kind = group, version, kind
        self.component = component
        self.builtin = is_builtin_component(component)
        self._bundle = bundle
        self._uri = uri
        self._full: dict[bool, Validator] = {}
        self._quick: dict[bool, Check] = {}
        self._lock = threading.Lock()
        self.quick: Check = self.quick_check(partial=False)

    def quick_check(self, *, partial: bool) -> Check:
        """The quick check of whole objects, or (``partial``) of apply configurations and
        patches; compiled on first use."""
        found = self._quick.get(partial)
        if found is not None:
            return found
        with self._lock:
            found = self._quick.get(partial)
            if found is None:
                schemas = self._bundle["components"]["schemas"]

                def resolve(ref: str) -> Mapping[str, Any]:
                    name = ref[len(COMPONENTS):] if ref.startswith(COMPONENTS) else None
                    target = schemas.get(name) if name else None
                    return target if isinstance(target, Mapping) else {"not": {}}

                found = compile_check(schemas[self.component], resolve,
                                      builtin=self.builtin, partial=partial)
                self._quick[partial] = found
            return found

    @property
    def full(self) -> Validator:
        """The ``jsonschema`` validator (draft 4 + the API server's semantics)."""
        return self.full_validator(partial=False)

    def full_validator(self, *, partial: bool) -> Validator:
        """The ``jsonschema`` validator for whole objects, or (``partial``) for patches."""
        found = self._full.get(partial)
        if found is not None:
            return found
        with self._lock:
            found = self._full.get(partial)
            if found is None:
                from referencing import Registry
                from referencing.jsonschema import DRAFT4

                resource = DRAFT4.create_resource(self._bundle)
                registry: Registry[Any] = Registry().with_resource(self._uri, resource)
                cls = validator_class(self.builtin, partial)
                found = cls({"$ref": self._uri + COMPONENTS + self.component},
                            registry=registry)
                self._full[partial] = found
            return found

    def problems(self, obj: Mapping[str, Any], field_validation: str = "Warn", *,
                 partial: bool = False) -> list[Problem]:
        """Every problem with ``obj``, errors first; ``[]`` when there is nothing to say.

        ``partial``: ``obj`` is an apply configuration or a patch, judged only by what it
        holds, since the server validates it merged with what it stores.
        """
        try:
            if self.quick_check(partial=partial)(obj):
                return []
            errors = list(self.full_validator(partial=partial).iter_errors(obj))
        except Exception as e:  # jsonschema's own errors included: none may escape
            return [cannot_validate(self.kind, e)]
        found = [p for p in (_problem(e, self.builtin, field_validation) for e in errors)
                 if p is not None]
        found.sort(key=lambda p: p.severity != "error")
        return _dedupe(found)


def cannot_validate(kind: str, error: Exception) -> Problem:
    """The error that stands for a check that could not run (an object nested too deep, a
    schema the checks cannot follow). A validator that cannot validate must say so, never
    "valid": a CI gate relies on it. The message names the way around it, for a request
    the server may well accept.
    """
    log.debug("validating %s failed", kind, exc_info=error)
    return Problem("", f"could not be validated against the {kind} schema "
                   f"({type(error).__name__}: {str(error)[:200]}); fix the object or skip "
                   "client-side validation (validate=False)",
                   expected="an object the validator can check", found=type(error).__name__)


def compile_kind(converter: Converter, component: str, group: str, version: str,
                 kind: str, uri: str) -> CompiledKind:
    """Build the checks for one kind's component (its closure converted, ``$ref`` kept)."""
    return CompiledKind(group, version, kind, component, converter.bundle(component), uri)


def check(store: SchemaSource, group: str, version: str, kind: str) -> CompiledKind | None:
    """The compiled kind (cached per document hash and kind), or ``None`` without a schema."""
    found = store.converter(group, version)
    if found is None:
        # A group-version the index does not list (yet): a CRD created since it was read?
        if store.component_for(group, version, kind) is None:
            return None
        found = store.converter(group, version)
        if found is None:
            return None
    doc_key, converter = found
    key = (doc_key, f"{group}/{version}", kind)
    with _cache_lock:
        cached = _compiled_cache.get(key)
    if cached is not None:
        return cached
    component = store.component_for(group, version, kind)
    if component is None:
        return None
    compiled = compile_kind(converter, component, group, version, kind,
                            uri=f"urn:dynakube:openapi:{doc_key}")
    with _cache_lock:
        _compiled_cache[key] = compiled
    return compiled


def validate(store: SchemaSource, obj: Mapping[str, Any], *, field_validation: str = "Warn",
             raise_errors: bool = False, partial: bool = False) -> list[Problem]:
    """Check ``obj`` against its kind's schema on the server; problems best first.

    ``field_validation`` is ``Strict`` (unknown fields are errors), ``Warn`` (warnings) or
    ``Ignore``. With ``raise_errors=True`` any error raises :class:`ValidationError` (warnings
    alone do not). ``partial``: ``obj`` is an apply configuration or a patch (nothing the
    server's merge may fill in is required). An object whose kind has no published schema,
    or a server without OpenAPI v3, yields ``[]``. An object that is not even a mapping is
    one error: only bad arguments raise :class:`InvalidArgumentError`.
    """
    if field_validation not in FIELD_VALIDATION_MODES:
        raise InvalidArgumentError(
            f"field_validation must be one of {', '.join(FIELD_VALIDATION_MODES)}, "
            f"got {field_validation!r}")
    if not isinstance(obj, Mapping):
        return _finish([Problem("", f"expected an object, found {json_type(obj)}",
                                expected="an object (a dict)", found=_describe(obj))],
                       obj, raise_errors)
    problems = _identity_problems(obj)
    if problems:
        return _finish(problems, obj, raise_errors)
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    kind = str(obj["kind"])
    try:
        compiled = check(store, group, version, kind)
        if compiled is None:
            return []
        problems = compiled.problems(obj, field_validation, partial=partial)
        if any(p.severity == "error" for p in problems) and store.recheck(group, version):
            # The schema changed on the server since we fetched it: judge by the new one.
            fresh = check(store, group, version, kind)
            if fresh is not None:
                problems = fresh.problems(obj, field_validation, partial=partial)
    except DynakubeError:
        raise
    except Exception as e:  # a schema the checks cannot even be compiled from
        problems = [cannot_validate(kind, e)]
    return _finish(problems, obj, raise_errors)


def raise_for_problems(problems: Sequence[Problem], obj: Any = None,
                       *, source: str | None = None) -> None:
    """Raise :class:`ValidationError` when any problem is an error (all problems listed)."""
    if any(p.severity == "error" for p in problems):
        meta = obj.get("metadata") if isinstance(obj, Mapping) else None
        name = meta.get("name") or meta.get("generateName") if isinstance(meta, Mapping) else None
        kind = obj.get("kind") if isinstance(obj, Mapping) else None
        raise ValidationError(problems, kind=str(kind) if kind else None,
                              name=str(name) if name else None, source=source)


def _finish(problems: list[Problem], obj: Any, raise_errors: bool) -> list[Problem]:
    if raise_errors:
        raise_for_problems(problems, obj)
    return problems


def _identity_problems(obj: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for field, example in (("apiVersion", "apps/v1"), ("kind", "Deployment")):
        value = obj.get(field)
        if not isinstance(value, str) or not value:
            problems.append(Problem(
                field, f"{field} must be set for the object to be understood",
                expected=f"a string such as {example!r}", found=_describe(value),
            ))
    return problems


# -- from jsonschema errors to Problems ---------------------------------------------------

_LENIENT_REQUIRED = frozenset({"value"})  # HTTPHeader/Sysctl values: "" is fine there


def format_path(parts: Iterable[Any]) -> str:
    """``['spec', 'containers', 0, 'name']`` -> ``spec.containers[0].name``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _plain(part):
            out += ("." if out else "") + part
        else:
            out += f"[{part}]"
    return out


def _plain(name: str) -> bool:
    return bool(name) and (name[0].isalpha() or name[0] in "_$") and all(
        c.isalnum() or c in "_$-" for c in name)


def _problem(error: Any, builtin: bool, mode: str) -> Problem | None:
    path = list(error.absolute_path)
    where = format_path(path)
    keyword = error.validator
    value = error.validator_value
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    instance = error.instance
    in_status = bool(path) and path[0] == "status"
    severity = "warning" if in_status else "error"

    if keyword == "additionalProperties":
        if mode == "Ignore":
            return None
        name = str(path[-1])
        known = list((schema.get("properties") or {}).keys())
        return Problem(where, f"unknown field {name!r}",
                       expected="one of the fields " + _names(known) if known else "no fields",
                       found=name, suggestion=_suggest(name, known),
                       severity="error" if mode == "Strict" else "warning")
    if keyword == "required":
        name = str(path[-1])
        sub = (schema.get("properties") or {}).get(name) or {}
        if builtin and "default" in sub:
            default = sub["default"]
            if default != "" or (name in _LENIENT_REQUIRED
                                 and set(schema.get("properties") or {}) == {"name", "value"}):
                severity = "warning"
        message = "required field is missing"
        if severity == "warning" and "default" in sub:
            message += f" (the server will use {short(sub['default'])} and may reject it)"
        return Problem(where, message, expected=_expect(sub) or "a value",
                       found="nothing" if name not in instance else "null", severity=severity)
    if keyword == "type":
        expected = " or ".join(value if isinstance(value, list) else [value])
        message = f"expected {expected}, found {json_type(instance)}"
        if isinstance(instance, float) and instance.is_integer() and "integer" in expected:
            message += f" (write {int(instance)} without the decimal point)"
        return Problem(where, message, expected=expected, found=_describe(instance),
                       severity=severity)
    if keyword == "enum":
        return Problem(where, f"unsupported value {short(instance)}",
                       expected="one of " + ", ".join(short(v) for v in value),
                       found=_describe(instance), severity=severity)
    if keyword == "format":
        if value in WARN_ONLY_FORMATS or (not builtin and value in ("int32", "int64")):
            severity = "warning"
        expected = FORMAT_EXPECTED.get(str(value), f"format {value}")
        return Problem(where, f"invalid value {short(instance)}: expected {expected}",
                       expected=expected, found=_describe(instance), severity=severity)
    if keyword in ("anyOf", "oneOf"):
        # A branch of the right type that failed on something finer (a quantity's syntax)
        # says more than "expected integer or string".
        finer = [e for e in error.context or () if e.validator != "type"]
        if len(finer) == 1:
            return _problem(finer[0], builtin, mode)
        expected = " or ".join(sorted({_expect(s) or "a value" for s in value}))
        return Problem(where, f"expected {expected}, found {json_type(instance)}",
                       expected=expected, found=_describe(instance), severity=severity)
    if keyword == "x-kubernetes-list-type":  # custom resources only: see keywords.py
        return Problem(where, error.message, expected="unique items",
                       found=_describe(instance[path[-1]] if isinstance(path[-1], int) else None),
                       severity=severity)
    if keyword == "pattern":
        return Problem(where, f"invalid value {short(instance)}: must match {value}",
                       expected=f"a string matching {value}", found=_describe(instance),
                       severity=severity)
    bounds = {
        "maximum": "at most", "minimum": "at least", "maxLength": "at most {} characters",
        "minLength": "at least {} characters", "maxItems": "at most {} items",
        "minItems": "at least {} items", "maxProperties": "at most {} entries",
        "minProperties": "at least {} entries", "multipleOf": "a multiple of",
    }
    if keyword in bounds:
        text = bounds[keyword]
        if keyword in ("maximum", "minimum"):
            exclusive = schema.get("exclusive" + keyword.capitalize()) is True
            text = ("less than" if keyword == "maximum" else "more than") if exclusive else text
            expected = f"{text} {value}"
        elif "{}" in text:
            expected = text.format(value)
        else:
            expected = f"{text} {value}"
        return Problem(where, f"invalid value {short(instance)}: must be {expected}",
                       expected=expected, found=_describe(instance), severity=severity)
    return Problem(where, str(error.message), found=_describe(instance), severity=severity)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(p)
    return out


def _suggest(name: str, known: Sequence[str]) -> str | None:
    for candidate in known:
        if candidate.lower() == name.lower():
            return candidate
    import difflib  # only for a field name that is not known: 1 ms of import otherwise

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _names(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(sorted(names)[:limit])
    return shown + (", ..." if len(names) > limit else "")


def _expect(schema: Any) -> str | None:
    if not isinstance(schema, Mapping):
        return None
    if schema.get("x-kubernetes-int-or-string") or schema.get("format") == "int-or-string":
        return "integer or string"
    typ = schema.get("type")
    if isinstance(typ, str):
        return typ
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit(".", 1)[-1]
    for key in ("allOf", "anyOf", "oneOf"):
        subs = schema.get(key)
        if isinstance(subs, list) and subs:
            parts = [p for p in (_expect(s) for s in subs) if p]
            if parts:
                return " or ".join(parts)
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (Mapping, list, tuple)):
        return json_type(value)
    return f"{json_type(value)} {short(value)}"
