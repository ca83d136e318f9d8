"""dynakube on asyncio: the dynamic client, watches and informers as coroutines.

``async with AsyncClient() as kube: pods = await kube.resource("pods")``. The names mirror
the sync API; they load on first use, so importing :mod:`dynakube.aio` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import AsyncClient
    from .exec import AsyncExecStream
    from .informer import AsyncInformer
    from .leaderelection import AsyncLeaderElector
    from .logs import AsyncLogStream
    from .portforward import AsyncPortForward, AsyncPortStream
    from .resource import AsyncResource
    from .watch import AsyncWatch
    from .workqueue import AsyncWorkQueue

__all__ = ["AsyncClient", "AsyncResource", "AsyncWatch", "AsyncInformer", "AsyncWorkQueue",
           "AsyncLeaderElector", "AsyncLogStream", "AsyncExecStream", "AsyncPortForward",
           "AsyncPortStream"]

_LAZY = {"AsyncClient": "client", "AsyncResource": "resource", "AsyncWatch": "watch",
         "AsyncInformer": "informer", "AsyncWorkQueue": "workqueue",
         "AsyncLeaderElector": "leaderelection", "AsyncLogStream": "logs",
         "AsyncExecStream": "exec", "AsyncPortForward": "portforward",
         "AsyncPortStream": "portforward"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
