"""The embedded API server: a whole kube-apiserver in memory, speaking the real HTTP API.

Product code, not test clutter: the tour, ``--embedded``, ``python -m dynakube.apiserver serve``
and users' tests (through :mod:`dynakube.testing`) all run on it. Its subpackages are its
layers, each importing only those below it (``tests/test_server_layout.py`` checks)::

    server.py serve.py seed.py     ApiServer, the ``serve`` command, sample content
    http/                          the wire: handler, listener, routing, discovery, OpenAPI
    verbs/                         crud, lists, patch, watch (``Api``)
    rules/ → merge/                admission and kind rules; patches and managedFields
    call.py yamlbody.py            Call, Reply, Options, the ApiState protocol; YAML bodies
    storage/  objects.py           the object store and resource table; object rules
    kinds/  status.py              per-kind facts; Status bodies
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import ApiServer

__all__ = ["ApiServer"]


def __getattr__(name: str) -> Any:
    if name == "ApiServer":
        from .server import ApiServer

        return ApiServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
