"""dynakube: a Kubernetes client that learns what the cluster serves at run time.

``kube = dynakube.Client(); kube.resource("deployments").get("web")``. Names are loaded on
first use, so ``import dynakube`` stays cheap (no ``requests``, ``yaml`` or ``jsonschema``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import errors
    from ._version import __version__
    from .client import Client
    from .config import ClusterConfig, load_config
    from .informer import Informer
    from .resource import ALL, Resource
    from .retry import retry_on_conflict
    from .watch import Watch, WatchEvent

__all__ = [
    "__version__",
    "ALL",
    "Client",
    "ClusterConfig",
    "Informer",
    "Resource",
    "Watch",
    "WatchEvent",
    "errors",
    "load_config",
    "retry_on_conflict",
]

_LAZY = {
    "__version__": "_version",  # reading package metadata costs ~15 ms: only when asked
    "ALL": "resource",
    "Client": "client",
    "Resource": "resource",
    "ClusterConfig": "config",
    "load_config": "config",
    "Informer": "informer",
    "Watch": "watch",
    "WatchEvent": "watch",
    "retry_on_conflict": "retry",
}


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module(".errors", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dynakube' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
