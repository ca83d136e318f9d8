"""The controller layer: watches turned into local caches and the parts of a controller.

Reflector → store/indexers → informer, as client-go's ``tools/cache`` composes them, plus a
work queue, leader election and ``retry_on_conflict``. Names load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .informer import DeletedFinalStateUnknown, Informer
    from .leaderelection import LeaderElector
    from .retry import retry_on_conflict
    from .store import Store
    from .workqueue import WorkQueue

__all__ = [
    "DeletedFinalStateUnknown",
    "Informer",
    "LeaderElector",
    "Store",
    "WorkQueue",
    "retry_on_conflict",
]

_HOME = {
    "DeletedFinalStateUnknown": "informer",
    "Informer": "informer",
    "LeaderElector": "leaderelection",
    "Store": "store",
    "WorkQueue": "workqueue",
    "retry_on_conflict": "retry",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
