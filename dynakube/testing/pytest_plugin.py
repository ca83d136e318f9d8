"""pytest fixtures backed by the embedded API server: ``kube_server`` and ``kube``.

Registered through the ``pytest11`` entry point, so any project that installs dynakube can
write ``def test_my_operator(kube): ...``. With ``DYNAKUBE_TEST_KUBECONFIG`` naming a
kubeconfig, ``kube`` talks to that real cluster instead, each test in a fresh namespace that
is deleted afterwards, so the same tests run against kind or any cluster.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dynakube.aio.client import AsyncClient
    from dynakube.apiserver.server import ApiServer
    from dynakube.client import Client

__all__ = ["kube_server", "kube", "async_kube", "KUBECONFIG_ENV"]

KUBECONFIG_ENV = "DYNAKUBE_TEST_KUBECONFIG"


@pytest.fixture
def kube_server() -> Iterator[ApiServer]:
    """A fresh embedded API server for this test (plain HTTP, random port)."""
    from dynakube.apiserver.server import ApiServer

    server = ApiServer().start()
    try:
        yield server
    finally:
        server.stop()


def _real_cluster(path: str) -> Iterator[Client]:
    from dynakube.client import Client
    from dynakube.errors import NotFoundError

    namespace = "dynakube-test-" + secrets.token_hex(4)
    with Client(kubeconfig=path) as admin:
        namespaces = admin.resource("namespaces")
        namespaces.create({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": namespace}})
        try:
            with Client(kubeconfig=path, namespace=namespace) as client:
                yield client
        finally:
            try:
                namespaces.delete(namespace)
            except NotFoundError:
                pass


@pytest.fixture
def kube(request: pytest.FixtureRequest) -> Iterator[Client]:
    """A dynakube ``Client``: bound to ``kube_server``, or to ``$DYNAKUBE_TEST_KUBECONFIG``."""
    path = os.environ.get(KUBECONFIG_ENV)
    if path:
        yield from _real_cluster(path)
        return
    server: ApiServer = request.getfixturevalue("kube_server")
    client = server.client()
    try:
        yield client
    finally:
        client.close()


async def _async_kube(request: pytest.FixtureRequest) -> AsyncIterator[AsyncClient]:
    """A ``dynakube.aio.AsyncClient`` of the same cluster as ``kube`` (and its namespace)."""
    from dynakube.aio.client import AsyncClient

    kube: Client = request.getfixturevalue("kube")
    client = AsyncClient(kube.config, namespace=kube.namespace)
    try:
        yield client
    finally:
        await client.aclose()


try:  # an async fixture needs pytest-asyncio (dynakube's test extra installs it)
    import pytest_asyncio
except ImportError:  # pragma: no cover - without the plugin there are no async tests
    pass
else:
    async_kube = pytest_asyncio.fixture(_async_kube, name="async_kube")
