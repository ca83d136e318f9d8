"""The pytest plugin: ``kube_server`` and ``kube``, including the real-cluster mode."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from dynakube.testing import ApiServer
from dynakube.testing.pytest_plugin import KUBECONFIG_ENV, _real_cluster


def test_kube_server_is_fresh_and_running(kube_server: ApiServer) -> None:
    assert kube_server.running
    answer = requests.get(kube_server.url + "/api/v1/namespaces/default/configmaps",
                          headers={"Authorization": f"Bearer {kube_server.token}"}, timeout=5)
    assert [i["metadata"]["name"] for i in answer.json()["items"]] == ["kube-root-ca.crt"]


def test_kube_uses_the_embedded_server_by_default(kube: Any, kube_server: ApiServer) -> None:
    assert kube.config.server == kube_server.url
    assert kube.namespace == "default"


def test_real_cluster_mode_uses_a_fresh_namespace_and_deletes_it() -> None:
    with ApiServer() as cluster:
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {cluster.token}"
        fixture = _real_cluster(cluster.kubeconfig_path)
        client = next(fixture)
        namespace = client.namespace
        assert namespace.startswith("dynakube-test-")
        ns_url = f"{cluster.url}/api/v1/namespaces/{namespace}"
        assert session.get(ns_url).status_code == 200
        client.resource("configmaps").create({"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": "x"}})
        assert session.get(ns_url + "/configmaps/x").status_code == 200
        with pytest.raises(StopIteration):
            next(fixture)
        assert session.get(ns_url).status_code == 404
        assert session.get(ns_url + "/configmaps/x").status_code == 404


@pytest.fixture
def other_cluster() -> Any:
    with ApiServer() as server:
        yield server


def test_kube_follows_the_environment_variable(request: pytest.FixtureRequest,
                                               monkeypatch: pytest.MonkeyPatch,
                                               other_cluster: ApiServer) -> None:
    monkeypatch.setenv(KUBECONFIG_ENV, other_cluster.kubeconfig_path)
    kube = request.getfixturevalue("kube")
    assert kube.config.server == other_cluster.url
    assert kube.namespace.startswith("dynakube-test-")
