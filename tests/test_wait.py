"""``wait``, ``delete(wait=True)`` and ``watch(include_existing=True)`` over the real wire,
with watch-list served and not."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from dynakube.errors import NotFoundError
from dynakube.testing import ApiServer
from dynakube.wait import WaitTimeoutError, parse_condition


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def _later(seconds: float, fn: Any, *args: Any) -> threading.Timer:
    timer = threading.Timer(seconds, fn, args)
    timer.start()
    return timer


@pytest.mark.parametrize("watch_list", [True, False])
def test_include_existing_yields_the_objects_then_the_changes(watch_list: bool) -> None:
    with ApiServer(watch_list=watch_list) as server, server.client() as kube:
        cms = kube.resource("configmaps")
        cms.create(_cm("a"))
        timer = _later(0.3, cms.create, _cm("b"))
        events = [(e.type, e.object["metadata"].get("name"), e.ends_initial_events)
                  for e in cms.watch(include_existing=True, bookmarks=True, timeout=2)]
        timer.join()
        assert events == [("ADDED", "a", False), ("ADDED", "kube-root-ca.crt", False),
                          ("BOOKMARK", None, True), ("ADDED", "b", False)]
        assert [e.type for e in cms.watch(timeout=0.5)] == []  # the default: from now


@pytest.mark.parametrize("watch_list", [True, False])
def test_wait_for_jsonpath_resumes_across_dropped_watches(watch_list: bool) -> None:
    with ApiServer(watch_list=watch_list) as server, server.client() as kube:
        cms = kube.resource("configmaps")
        cms.create(_cm("c", x="1"))
        _later(0.3, server.faults.close_watches)
        timer = _later(0.6, cms.patch, "c", {"data": {"x": "2"}})
        found = cms.wait("c", for_="jsonpath={.data.x}=2", timeout=10)
        timer.join()
        assert found[0]["data"] == {"x": "2"}
        assert cms.wait("c", for_="jsonpath={.data.x}", timeout=0)[0]["data"]["x"] == "2"
        with pytest.raises(WaitTimeoutError, match=r"=3 on configmaps/c after 0.5s"):
            cms.wait("c", for_="jsonpath={.data.x}=3", timeout=0.5)
        with pytest.raises(NotFoundError, match='configmaps "nope" not found'):
            cms.wait("nope", for_="condition=Ready", timeout=1)
        assert cms.wait("nope", for_="delete", timeout=1) == []


def test_conditions_create_and_delete_with_finalizers(kube_server: Any) -> None:
    with kube_server.client() as kube:
        cms = kube.resource("configmaps")
        timer = _later(0.3, cms.create, _cm("late"))
        assert cms.wait("late", for_="create", timeout=10)[0]["metadata"]["name"] == "late"
        timer.join()
        pods = kube.resource("pods")
        pods.create({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": "p", "finalizers": ["example.com/hold"]},
                     "spec": {"containers": [{"name": "c", "image": "x"}]}})
        timer = _later(0.5, pods.status.patch, "p", {"status": {"conditions": [
            {"type": "Ready", "status": "True"}]}})
        assert pods.wait("p", for_="condition=ready", timeout=10)  # case-insensitive
        timer.join()
        timer = _later(0.5, pods.patch, "p", {"metadata": {"finalizers": None}})
        started = time.monotonic()
        pods.delete("p", wait=True, timeout=10)
        assert time.monotonic() - started >= 0.4  # it waited for the finalizer
        timer.join()
        with pytest.raises(NotFoundError):
            pods.get("p")


def test_parse_condition() -> None:
    c = parse_condition("jsonpath={.status.conditions[?(@.type==\"Ready\")].status}=True")
    assert (c.kind, c.name, c.value) == ("jsonpath",
                                         '{.status.conditions[?(@.type=="Ready")].status}',
                                         "True")
    assert parse_condition("condition=Available").value == "True"
    with pytest.raises(Exception, match="unrecognized condition"):
        parse_condition("bogus")
