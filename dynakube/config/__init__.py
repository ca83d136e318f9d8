"""Configuration: kubeconfig files merged as kubectl merges them, and in-cluster service
accounts, read into a frozen :class:`ClusterConfig`. The bottom layer: no I/O but files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .load import (
        SERVICE_ACCOUNT_DIR,
        ClusterConfig,
        ExecConfig,
        KubeconfigPaths,
        check_config,
        list_contexts,
        load_config,
    )

__all__ = [
    "ClusterConfig",
    "ExecConfig",
    "SERVICE_ACCOUNT_DIR",
    "KubeconfigPaths",
    "check_config",
    "list_contexts",
    "load_config",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import load

        return getattr(load, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
