"""Keep every test away from the developer's real cluster, proxies and caches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "k8s-api"

_CLEARED = (
    "KUBECONFIG",
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
    "POD_NAMESPACE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No KUBECONFIG, no proxies, a throwaway HOME and cache directory for every test."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DYNAKUBE_CACHE_DIR", str(home / ".cache" / "dynakube"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    yield


@pytest.fixture
def shared_api() -> Path:
    """The recorded real-server answers; tests using it skip when the folder is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared/k8s-api is not present (a fresh clone has none)")
    return SHARED


@pytest.fixture
def kube_server_factory() -> Any:
    """``with kube_server_factory(openapi_v3=False) as server:`` — a server with switches."""
    from dynakube.testing import ApiServer

    return ApiServer


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One embedded server per test module, holding ``dynakube.apiserver.seed``'s content."""
    from dynakube.apiserver.seed import seed
    from dynakube.testing import ApiServer

    with ApiServer() as server:
        with server.client(cache_dir=str(tmp_path_factory.mktemp("seedcache"))) as kube:
            seed(kube)
        yield server


@pytest.fixture
def embedded(kube_server: Any) -> Iterator[Any]:
    """A client of ``kube_server`` itself, for tests that read its request log or switches:
    they run on the embedded server even when ``kube`` is a real cluster's."""
    client = kube_server.client()
    try:
        yield client
    finally:
        client.close()
