"""dynakube: a Kubernetes client that learns what the cluster serves at run time.

``kube = dynakube.Client(); kube.resource("deployments").get("web")``. Names are loaded on
first use, so ``import dynakube`` stays cheap (no ``requests``, ``yaml`` or ``jsonschema``).
"""

from __future__ import annotations

import importlib
import sys

# ``typing`` costs more than the rest of this module: type checkers alone read what follows.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from . import errors
    from ._version import __version__
    from .aio.client import AsyncClient
    from .client import Client
    from .config.cluster import ClusterConfig
    from .config.load import load_config
    from .controller.informer import Informer
    from .controller.leaderelection import LeaderElector
    from .controller.retry import retry_on_conflict
    from .controller.workqueue import WorkQueue
    from .exec import ExecResult, ExecStream
    from .portforward import PortForward
    from .resource import ALL, Resource
    from .watch import Watch, WatchEvent

__all__ = [
    "__version__",
    "ALL",
    "AsyncClient",
    "Client",
    "ClusterConfig",
    "ExecResult",
    "ExecStream",
    "Informer",
    "LeaderElector",
    "PortForward",
    "Resource",
    "Watch",
    "WatchEvent",
    "WorkQueue",
    "errors",
    "load_config",
    "retry_on_conflict",
]

_LAZY = {
    "__version__": "_version",  # reading package metadata costs ~15 ms: only when asked
    "ALL": "resource",
    "AsyncClient": "aio.client",
    "Client": "client",
    "Resource": "resource",
    "ClusterConfig": "config.cluster",
    "load_config": "config.load",
    "Informer": "controller.informer",
    "LeaderElector": "controller.leaderelection",
    "Watch": "watch",
    "WatchEvent": "watch",
    "WorkQueue": "controller.workqueue",
    "retry_on_conflict": "controller.retry",
    "ExecResult": "exec",
    "ExecStream": "exec",
    "PortForward": "portforward",
}

# Modules that moved into the layer packages in 1.0.0: their old paths keep working, with a
# DeprecationWarning, through 1.1.0 at least (the README's deprecation policy).
_MOVED = {f"dynakube.{old}": f"dynakube.{new}" for old, new in {
    "auth": "transport.auth",
    "ratelimit": "transport.ratelimit",
    "kubeconfig": "config.kubeconfig",
    "registry": "discovery.registry",
    "openapi": "schema.openapi",
    "validation": "schema.validate",
    "fastcheck": "schema.fastcheck",
    "keywords": "schema.keywords",
    "formats": "schema.formats",
    "explain": "schema.explain",
    "reflector": "controller.reflector",
    "store": "controller.store",
    "informer": "controller.informer",
    "workqueue": "controller.workqueue",
    "leaderelection": "controller.leaderelection",
    "retry": "controller.retry",
    "cliget": "cli.get",
    "climanifest": "cli.manifest",
    "printing": "cli.printing",
    "repl": "cli.repl",
    "tour": "cli.tour",
    "testing.builtin_schemas": "apiserver.kinds.data",
    "testing.schema_apiext": "apiserver.kinds.data",
    "testing.schema_meta": "apiserver.kinds.data",
    "testing.decoding": "apiserver.kinds.decoding",
    "testing.kinds": "apiserver.kinds.specs",
    "testing.printers": "apiserver.kinds.printers",
    "testing.openapi": "apiserver.kinds.openapi",
    "testing.cel": "apiserver.rules.cel",
    "testing.collector": "apiserver.rules.collector",
    "testing.schemacheck": "apiserver.rules.schemacheck",
    "testing.structural": "apiserver.rules.structural",
    "testing.validating": "apiserver.rules.validating",
    "testing.fieldmanager": "apiserver.merge.fieldmanager",
    "testing.fieldset": "apiserver.merge.fieldset",
    "testing.patching": "apiserver.merge.patching",
    "testing.handlers": "apiserver.verbs.crud",
    "testing.listing": "apiserver.verbs.lists",
    "testing.patchverb": "apiserver.verbs.patch",
    "testing.watchers": "apiserver.verbs.watch",
    "testing.discoveryserve": "apiserver.http.discovery",
    "testing.httpapi": "apiserver.http.handler",
    "testing.openapiserve": "apiserver.http.openapi",
    "testing.protobuf": "apiserver.http.protobuf",
    "testing.routing": "apiserver.http.routing",
    "testing.resources": "apiserver.storage.resources",
    "testing.storage": "apiserver.storage.store",
    "testing.objects": "apiserver.objects",
    "testing.seed": "apiserver.seed",
    "testing.server": "apiserver.server",
    "testing.status": "apiserver.status",
    "testing.tlsfiles": "apiserver.tlsfiles",
}.items()}


class _MovedModules:
    """Meta-path finder for the old module paths; cheap until one of them is imported."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _MOVED:
            return None
        from .deprecation import moved_module_spec

        return moved_module_spec(name, _MOVED[name], since="1.0.0")


if not any(getattr(f, "__name__", "") == "_MovedModules" for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules)


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
