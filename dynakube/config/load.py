"""Which configuration to use: kubectl's precedence between kubeconfig files and the pod.

Explicit path > ``$KUBECONFIG`` > ``~/.kube/config`` > the pod's service account, as
client-go's deferred loading does. The values and their checks live in
:mod:`dynakube.config.cluster`, the file handling in :mod:`dynakube.config.kubeconfig`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError
from .cluster import ClusterConfig, incluster_missing

if TYPE_CHECKING:
    from .kubeconfig import KubeconfigPaths

__all__ = ["load_config", "list_contexts"]


def load_config(
    kubeconfig: KubeconfigPaths = None, context: str | None = None
) -> ClusterConfig:
    """The configuration kubectl would use: explicit path > KUBECONFIG > ~/.kube/config > pod.

    An explicit ``kubeconfig`` that does not exist is an error. When no kubeconfig file is
    found (or the files select no context and ``context`` is None) and the process runs in a
    pod, the service account is used, as client-go's deferred loader does.
    """
    from .kubeconfig import Kubeconfig  # only when a kubeconfig is read

    kc = Kubeconfig.load(kubeconfig, allow_empty=True)
    if context is None and kc.current_context is None and not incluster_missing():
        return ClusterConfig.from_incluster()
    if kc.is_empty and context is None:
        raise ConfigError(
            "no configuration found: " + "; ".join(kc.tried) + "; not in a cluster ("
            + incluster_missing()
            + "). Set KUBECONFIG, pass kubeconfig=, or create ~/.kube/config"
        )
    return ClusterConfig.from_entry(kc.select(context))


def list_contexts(kubeconfig: KubeconfigPaths = None) -> list[str]:
    """The context names the kubeconfig file(s) define, sorted (for pickers and messages)."""
    from .kubeconfig import Kubeconfig

    return Kubeconfig.load(kubeconfig, allow_empty=True).contexts()
