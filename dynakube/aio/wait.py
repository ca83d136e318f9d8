"""``kubectl wait`` on the event loop: :func:`dynakube.wait.wait` as a coroutine.

The conditions, the choice of targets and the test of when a wait is over are the sync
module's pure :class:`~dynakube.wait.Waiting`; only the loop over the watch (an
:class:`~dynakube.aio.watch.AsyncWatch` with ``include_existing``) is awaited here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..wait import Condition, Waiting

if TYPE_CHECKING:
    from .handles import Handle as AsyncResource

__all__ = ["wait", "wait_deleted"]


async def wait(resource: AsyncResource, name: str | None = None, namespace: Any = None, *,
               for_: str | Condition, timeout: float = 30.0, label_selector: Any = None,
               all_: bool = False, uid: str | None = None) -> list[dict[str, Any]]:
    """Until ``for_`` holds for ``name`` (or what ``label_selector``/``all_`` picks): the
    objects then, as :func:`dynakube.wait.wait` returns them."""
    waiting = Waiting(resource.info, for_, name, timeout=timeout,
                      label_selector=label_selector, all_=all_, uid=uid)
    if timeout == 0:
        return waiting.look(await resource.list(namespace, label_selector=label_selector,
                                                field_selector=waiting.field_selector))
    async with resource.watch(namespace, label_selector=label_selector,
                              field_selector=waiting.field_selector, include_existing=True,
                              bookmarks=True, timeout=timeout) as watch:
        async for event in watch:
            done = waiting.feed(event)
            if done is not None:
                return done
    raise waiting.timed_out()


async def wait_deleted(resource: AsyncResource, name: str, namespace: Any, uid: str | None, *,
                       timeout: float) -> None:
    """Until the object ``name`` (that ``uid``, when given) is gone, finalizers included."""
    await wait(resource, name, namespace, for_=Condition("delete", "delete"),
               timeout=timeout, uid=uid)
