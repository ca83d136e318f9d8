"""``kubectl wait`` on the event loop: :func:`dynakube.wait.wait` as a coroutine.

The conditions, the choice of targets and the test of when a wait is over are the sync
module's pure pieces; only the loop over the watch (an
:class:`~dynakube.aio.watch.AsyncWatch` with ``include_existing``) is awaited here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ..errors import InvalidArgumentError
from ..meta import object_key
from ..wait import (
    Condition,
    WaitTimeoutError,
    _condition_met,
    _done,
    _targets,
    _what,
    parse_condition,
)

if TYPE_CHECKING:
    from .handles import Handle as AsyncResource

__all__ = ["wait", "wait_deleted"]


async def wait(resource: AsyncResource, name: str | None = None, namespace: Any = None, *,
               for_: str | Condition, timeout: float = 30.0, label_selector: Any = None,
               all_: bool = False, uid: str | None = None) -> list[dict[str, Any]]:
    """Until ``for_`` holds for ``name`` (or what ``label_selector``/``all_`` picks): the
    objects then, as :func:`dynakube.wait.wait` returns them."""
    condition = for_ if isinstance(for_, Condition) else parse_condition(for_)
    named = cast(Any, resource)  # the pure helpers read only its ``info``
    if timeout < 0:
        raise InvalidArgumentError(f"timeout must be >= 0 seconds, got {timeout}")
    if (name is None) == (not (label_selector or all_)):
        raise InvalidArgumentError("name an object, or choose them with label_selector or "
                                   "all_=True (not both)")
    met = _condition_met(condition) if condition.kind in ("condition", "jsonpath") else None
    field_selector = {"metadata.name": name} if name else None
    state: dict[str, dict[str, Any]] = {}
    if timeout == 0:  # look once, as kubectl's --timeout=0
        listed = await resource.list(namespace, label_selector=label_selector,
                                     field_selector=field_selector)
        state = {object_key(o): o for o in listed.get("items") or ()}
        targets = _targets(named, condition, name, uid, state)
        done = [] if targets is None else _done(condition, met, state, targets)
        if done is not None:
            return done
        raise WaitTimeoutError(f"condition not met for {_what(named, name, label_selector)}")
    found: dict[str, dict[str, Any]] | None = None
    watch = resource.watch(namespace, label_selector=label_selector,
                           field_selector=field_selector, include_existing=True,
                           bookmarks=True, timeout=timeout)
    async with watch:
        async for event in watch:
            if event.type in ("ADDED", "MODIFIED"):
                state[object_key(event.object)] = event.object
            elif event.type == "DELETED":
                key = object_key(event.object)
                if state.pop(key, None) is not None and found and key in found:
                    found[key] = event.object
            elif event.ends_initial_events and found is None:
                found = _targets(named, condition, name, uid, state)
                if found is None:
                    return []
            if found is None or event.type == "BOOKMARK" and not event.ends_initial_events:
                continue
            done = _done(condition, met, state, found)
            if done is not None:
                return done
    raise WaitTimeoutError(f"timed out waiting for the condition {condition.text} on "
                           f"{_what(named, name, label_selector)} after {timeout:g}s")


async def wait_deleted(resource: AsyncResource, name: str, namespace: Any, uid: str | None, *,
                       timeout: float) -> None:
    """Until the object ``name`` (that ``uid``, when given) is gone, finalizers included."""
    await wait(resource, name, namespace, for_=Condition("delete", "delete"),
               timeout=timeout, uid=uid)
