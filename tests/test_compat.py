"""The compatibility matrix in the README, one test per cell.

The embedded server's switches make it answer like an older server generation; the same
slice of client behaviour runs against each, and the capability-specific cells are checked
where the switch matters.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from dynakube import errors
from dynakube.apiserver.seed import WIDGET_CRD, widget
from dynakube.testing import ApiServer

MODES: dict[str, dict[str, Any]] = {
    "newest": {},
    "discovery-v2beta1": {"aggregated_discovery": "v2beta1"},
    "discovery-legacy": {"aggregated_discovery": None},
    "no-openapi-v3": {"openapi_v3": False},
    "no-watch-list": {"watch_list": False},
    "no-server-side-apply": {"server_side_apply": False},
}


@pytest.fixture(params=list(MODES), ids=list(MODES))
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, ApiServer]]:
    with ApiServer(**MODES[request.param]) as srv:
        yield request.param, srv



def test_core_slice_works_on_every_generation(server: tuple[str, ApiServer]) -> None:
    """Discovery, CRUD on built-in and custom kinds, lists, tables, watches."""
    mode, srv = server
    kube = srv.client()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the no-openapi mode warns once; checked below
        kube.resource("customresourcedefinitions").create(copy.deepcopy(WIDGET_CRD))
        kube.invalidate()
        widgets = kube.resource("wd")
        widgets.create(widget("w1", "small"))
        cms = kube.resource("configmaps")
        cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                    "data": {"a": "1"}})
    assert widgets.get("w1")["spec"]["replicas"] == 1
    assert cms.patch("c", {"data": {"b": "2"}})["data"] == {"a": "1", "b": "2"}
    assert [r["metadata"]["name"] for r in widgets.list()["items"]] == ["w1"]
    assert kube.table("widgets")["rows"][0]["cells"][:2] == ["w1", "small"]
    rv = widgets.list()["metadata"]["resourceVersion"]
    widgets.create(widget("w2", "large"))
    with widgets.watch(resource_version=rv, timeout=5) as watch:
        first = next(iter(watch))
    assert (first.type, first.object["metadata"]["name"]) == ("ADDED", "w2")
    if mode == "no-watch-list":
        with pytest.raises(errors.InvalidError, match="WatchList"):
            next(iter(widgets.watch(send_initial_events=True, timeout=2)))


def test_discovery_cost_per_generation() -> None:
    """v2 and v2beta1 aggregated: 2 requests; legacy: /api, /apis and one per group-version."""
    for mode, expected_aggregated in (("newest", True), ("discovery-v2beta1", True),
                                      ("discovery-legacy", False)):
        with ApiServer(**MODES[mode]) as srv:
            kube = srv.client()
            srv.requests.clear()
            kube.resource("deployments")
            count = srv.requests.count(prefix="/api")
            if expected_aggregated:
                assert count == 2, mode
            else:
                groups = len(kube.discovery.registry().api_versions())
                assert count == 2 + groups, mode


def test_without_openapi_v3_validation_is_skipped_with_one_warning() -> None:
    with ApiServer(openapi_v3=False) as srv:
        kube = srv.client()
        cms = kube.resource("configmaps")
        bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
               "data": {"a": 1}}
        with pytest.warns(errors.DynakubeWarning, match="(?i)openapi") as record:
            with pytest.raises(errors.BadRequestError):  # the server still refuses it
                cms.create(bad)
            cms.create({**bad, "metadata": {"name": "y"}, "data": {"a": "1"}})
        assert len([w for w in record if "openapi" in str(w.message).lower()]) == 1
        with pytest.raises(errors.DynakubeError, match="(?i)openapi"):
            kube.explain("configmaps.data")


def test_without_watch_list_the_informer_falls_back_to_list_and_watch() -> None:
    with ApiServer(watch_list=False) as srv:
        kube = srv.client()
        cms = kube.resource("configmaps")
        for i in range(3):
            cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}})
        with kube.informer("configmaps") as informer:
            assert informer.wait_for_sync(10)
            keys = sorted(informer.store.keys())
            # every namespace also holds the kube-root-ca.crt a cluster's controller makes
            assert [k for k in keys if k != "default/kube-root-ca.crt"] == [
                "default/c0", "default/c1", "default/c2"]
        assert srv.requests.count(method="GET", path="/api/v1/namespaces/default/configmaps") >= 2


def test_without_server_side_apply_apply_names_the_capability() -> None:
    with ApiServer(server_side_apply=False) as srv:
        kube = srv.client()
        with pytest.raises(errors.UnsupportedMediaTypeError, match="server-side apply"):
            kube.resource("configmaps").apply(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
        # the client-side path still works there
        kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
                   server_side=False)
        assert kube.resource("configmaps").get("x")


def test_deprecated_version_warns_once_and_is_never_preferred() -> None:
    with ApiServer() as srv:
        kube = srv.client()
        kube.resource("customresourcedefinitions").create(copy.deepcopy(WIDGET_CRD))
        kube.invalidate()
        assert kube.resource("Widget").info.version == "v1"
        old = kube.resource("widgets", api_version="example.dynakube.io/v1beta1")
        with pytest.warns(errors.ServerWarning, match="deprecated") as record:
            old.create({**widget("w4"), "apiVersion": "example.dynakube.io/v1beta1"})
            old.get("w4")
            old.list()
        assert len(record) == 1
        assert record[0].filename == __file__  # it points at the caller's line
