"""``kubectl wait`` for the library: until a condition holds, an object is created or gone.

:func:`wait` watches (it never polls): a watch that yields the matching objects as they are
now and then every change (``include_existing``: by watch-list, or a list and a watch from
its resourceVersion), and that resumes across dropped connections. The conditions are
kubectl's ``--for`` values, parsed by :func:`parse_condition`:

* ``condition=Available`` / ``condition=Ready=False`` (the status defaults to ``True``;
  type and status compare case-insensitively, as kubectl compares them);
* ``delete`` (gone, finalizers and all: an object of the same name with another uid counts
  as gone), ``create`` (exists);
* ``jsonpath={.status.phase}=Running`` (the one value the path finds, printed as kubectl
  prints it, equals the text) and ``jsonpath={.status.readyReplicas}`` (the path finds
  something).

Objects to wait for are named, or chosen by a label selector or ``all_``; for conditions
they must exist when the wait starts (a :class:`~dynakube.errors.NotFoundError` otherwise,
as kubectl says ``not found``); a ``delete`` of nothing is over at once. Time running out is a
:class:`WaitTimeoutError` naming what was waited for; ``timeout=0`` looks once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .errors import InvalidArgumentError, NotFoundError, WaitTimeoutError
from .meta import object_key

if TYPE_CHECKING:
    from .discovery.registry import ResourceInfo
    from .watch import Watch
    from .watchevent import WatchEvent

Selector = Any


class Resource(Protocol):
    """What a wait needs of ``dynakube.Resource`` (which calls this module: no import)."""

    info: ResourceInfo

    def list(self, namespace: Any = None, *, label_selector: Selector = None,
             field_selector: Selector = None) -> dict[str, Any]: ...

    def watch(self, namespace: Any = None, *, label_selector: Selector = None,
              field_selector: Selector = None, include_existing: bool = False,
              bookmarks: bool = False, timeout: float | None = None) -> Watch: ...

__all__ = ["Condition", "Waiting", "parse_condition", "wait", "wait_deleted"]


@dataclass(frozen=True)
class Condition:
    """A parsed ``--for``: ``kind`` is ``condition``, ``delete``, ``create`` or ``jsonpath``."""

    kind: str
    text: str
    """The ``--for`` value as given (for messages)."""
    name: str = ""
    """The condition type, or the JSONPath expression."""
    value: str | None = None
    """The status (default ``True``), or the JSONPath value (None: the path must exist)."""


def _split_jsonpath(text: str) -> tuple[str, str | None]:
    """``{.a.b}=v`` -> ``("{.a.b}", "v")``; the expression may hold ``=`` (filters)."""
    if text.startswith("{"):
        depth = 0
        for i, ch in enumerate(text):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if depth == 0:
                expression, rest = text[:i + 1], text[i + 1:]
                if rest and not rest.startswith("="):
                    break
                return expression, rest[1:] if rest else None
        raise InvalidArgumentError(f"unexpected JSONPath expression: {text!r}: the braces "
                                   "do not match, or text follows the closing one")
    expression, sep, value = text.partition("=")
    return expression, value if sep else None


def parse_condition(text: str) -> Condition:
    """Parse kubectl's ``--for`` value; a bad one is refused saying what is accepted."""
    text = text.strip()
    lower = text.lower()
    if lower in ("delete", "create"):
        return Condition(lower, text)
    if lower.startswith("condition="):
        name, sep, status = text[len("condition="):].partition("=")
        if not name:
            raise InvalidArgumentError("condition= needs a condition type, such as "
                                       "condition=Available")
        return Condition("condition", text, name, status if sep else "True")
    if lower.startswith("jsonpath="):
        from .jsonpath import relaxed

        expression, value = _split_jsonpath(text[len("jsonpath="):].strip())
        if not expression:
            raise InvalidArgumentError("jsonpath expression cannot be empty")
        if value is not None:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            if not value:
                raise InvalidArgumentError(f"jsonpath wait has no value after '=': {text}")
        return Condition("jsonpath", text, relaxed(expression), value)
    # kubectl's words; what is accepted: delete, create, condition=TYPE[=STATUS],
    # jsonpath='{.field}'[=VALUE]
    raise InvalidArgumentError(f"unrecognized condition: {json.dumps(text)}")


def _condition_met(condition: Condition) -> Callable[[dict[str, Any]], bool]:
    """A test of one object for a ``condition`` or ``jsonpath`` wait."""
    if condition.kind == "condition":
        wanted, status = condition.name.lower(), str(condition.value).lower()

        def met(obj: dict[str, Any]) -> bool:
            found = (obj.get("status") or {}).get("conditions") or []
            return any(isinstance(c, dict) and str(c.get("type", "")).lower() == wanted
                       and str(c.get("status", "")).lower() == status for c in found)
        return met
    from .jsonpath import parse, text_of

    template = parse(condition.name)

    def matches(obj: dict[str, Any]) -> bool:
        values = [v for action in template.find(obj, allow_missing_keys=True) for v in action]
        if condition.value is None:
            return bool(values)
        if len(values) > 1:
            raise InvalidArgumentError(f"{condition.text}: the JSONPath matches more than one "
                                       "value")
        if values and isinstance(values[0], dict | list):
            raise InvalidArgumentError(f"{condition.text}: the JSONPath leads to a nested "
                                       "object or list, which cannot equal a value")
        return bool(values) and text_of(values[0]) == condition.value
    return matches


class Waiting:
    """One wait as values (no I/O): what it waits for, the objects seen, and when it is
    over. :func:`wait` and ``dynakube.aio``'s wait feed it a list or a watch's events."""

    def __init__(self, info: ResourceInfo, for_: str | Condition, name: str | None, *,
                 timeout: float, label_selector: Selector, all_: bool, uid: str | None):
        self.condition = for_ if isinstance(for_, Condition) else parse_condition(for_)
        if timeout < 0:
            raise InvalidArgumentError(f"timeout must be >= 0 seconds, got {timeout}")
        if (name is None) == (not (label_selector or all_)):
            raise InvalidArgumentError("name an object, or choose them with label_selector "
                                       "or all_=True (not both)")
        self.info, self.name, self.uid, self.timeout = info, name, uid, timeout
        self.label_selector = label_selector
        self.field_selector = {"metadata.name": name} if name else None
        self._met = _condition_met(self.condition) \
            if self.condition.kind in ("condition", "jsonpath") else None
        self._state: dict[str, dict[str, Any]] = {}
        self._found: dict[str, dict[str, Any]] | None = None  # what to wait for, once known

    def look(self, listed: dict[str, Any]) -> list[dict[str, Any]]:
        """``timeout=0`` (kubectl's ``--timeout=0``): decide on one list."""
        self._state = {object_key(o): o for o in listed.get("items") or ()}
        targets = self._targets()
        done = [] if targets is None else self._done(targets)
        if done is None:
            raise WaitTimeoutError(f"condition not met for {self._what()}")
        return done

    def feed(self, event: WatchEvent) -> list[dict[str, Any]] | None:
        """Take one event of a watch with ``include_existing``; the objects once the wait
        is over, else None."""
        state, found = self._state, self._found
        if event.type in ("ADDED", "MODIFIED"):
            state[object_key(event.object)] = event.object
        elif event.type == "DELETED":
            key = object_key(event.object)
            if state.pop(key, None) is not None and found and key in found:
                found[key] = event.object
        elif event.ends_initial_events and found is None:
            found = self._found = self._targets()
            if found is None:
                return []
        if found is None or event.type == "BOOKMARK" and not event.ends_initial_events:
            return None
        return self._done(found)

    def timed_out(self) -> WaitTimeoutError:
        return WaitTimeoutError(f"timed out waiting for the condition {self.condition.text} "
                                f"on {self._what()} after {self.timeout:g}s")

    def _what(self) -> str:
        target = f"{self.info.qualified}/{self.name}" if self.name else self.info.qualified
        if not self.name and self.label_selector:
            target += f" matching {self.label_selector}"
        return target

    def _targets(self) -> dict[str, dict[str, Any]] | None:
        """The objects to wait for (key -> object) among those there at the start; None when
        the wait is over already (nothing to delete). Conditions need something to hold on."""
        targets = {k: o for k, o in self._state.items()
                   if not (self.uid and _uid(o) != self.uid)}
        if targets or self.condition.kind == "create":
            return targets
        if self.condition.kind == "delete":
            return None
        message = f'{self.info.qualified} "{self.name}" not found' if self.name else \
            "no matching resources found"
        raise NotFoundError(404, {"kind": "Status", "status": "Failure", "reason": "NotFound",
                                  "code": 404, "message": message})

    def _done(self, targets: dict[str, dict[str, Any]]) -> list[dict[str, Any]] | None:
        """The objects once the wait is over, else None."""
        state, kind = self._state, self.condition.kind
        if kind == "create":
            return list(state.values()) if state else None
        if kind == "delete":
            left = [k for k, obj in targets.items()
                    if k in state and _uid(state[k]) == _uid(obj)]
            return list(targets.values()) if not left else None
        assert self._met is not None
        objects = [state.get(k) for k in targets]
        if all(obj is not None and self._met(obj) for obj in objects):
            return [obj for obj in objects if obj is not None]
        return None


def _uid(obj: dict[str, Any]) -> str | None:
    return (obj.get("metadata") or {}).get("uid")


def wait(resource: Resource, name: str | None = None, namespace: Any = None, *,
         for_: str | Condition, timeout: float = 30.0, label_selector: Selector = None,
         all_: bool = False, uid: str | None = None) -> list[dict[str, Any]]:
    """Wait until ``for_`` holds for the object ``name`` (or every object ``label_selector``
    or ``all_`` picks); returns those objects as they are then (for ``delete``: as they were
    last seen; none when there was nothing to delete).

    ``uid`` (for ``delete``): only that incarnation of ``name`` is waited for.
    """
    waiting = Waiting(resource.info, for_, name, timeout=timeout,
                      label_selector=label_selector, all_=all_, uid=uid)
    if timeout == 0:
        return waiting.look(resource.list(namespace, label_selector=label_selector,
                                          field_selector=waiting.field_selector))
    with resource.watch(namespace, label_selector=label_selector,
                        field_selector=waiting.field_selector, include_existing=True,
                        bookmarks=True, timeout=timeout) as watch:
        for event in watch:
            done = waiting.feed(event)
            if done is not None:
                return done
    raise waiting.timed_out()


def wait_deleted(resource: Resource, name: str, namespace: Any, uid: str | None, *,
                 timeout: float) -> None:
    """Until the object ``name`` (that ``uid``, when given) is gone, finalizers included."""
    wait(resource, name, namespace, for_=Condition("delete", "delete"), timeout=timeout,
         uid=uid)
