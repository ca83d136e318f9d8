"""Configuration: kubeconfig files merged as kubectl merges them, and in-cluster service
accounts, read into a frozen :class:`ClusterConfig`. The bottom layer: no I/O but files.

Inside, ``kubeconfig`` (reading files) < ``cluster`` (the value and its checks) < ``load``
(which source wins). Names load on first use, so ``import dynakube.config`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cluster import SERVICE_ACCOUNT_DIR, ClusterConfig, ExecConfig, check_config
    from .kubeconfig import KubeconfigPaths
    from .load import list_contexts, load_config

__all__ = [
    "ClusterConfig",
    "ExecConfig",
    "SERVICE_ACCOUNT_DIR",
    "KubeconfigPaths",
    "check_config",
    "list_contexts",
    "load_config",
]

_LAZY = {
    "ClusterConfig": "cluster",
    "ExecConfig": "cluster",
    "SERVICE_ACCOUNT_DIR": "cluster",
    "check_config": "cluster",
    "KubeconfigPaths": "kubeconfig",
    "list_contexts": "load",
    "load_config": "load",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
