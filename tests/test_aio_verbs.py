"""The asyncio twins of the sync verbs that wait or decide: ``watch(include_existing=True)``,
``wait``, ``delete(wait=True)``, client-side ``apply``, categories and the leader elector's
async callbacks, over the real wire (watch-list served and not)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from dynakube import errors
from dynakube.aio import AsyncClient, AsyncLeaderElector
from dynakube.mergepatch import LAST_APPLIED
from dynakube.testing import ApiServer
from dynakube.wait import WaitTimeoutError

pytestmark = pytest.mark.asyncio


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


@pytest_asyncio.fixture(params=[True, False], ids=["watch-list", "no-watch-list"])
async def aio(request: pytest.FixtureRequest) -> AsyncIterator[AsyncClient]:
    with ApiServer(watch_list=request.param) as server:
        async with AsyncClient(server.config()) as kube:
            yield kube


def later(seconds: float, work: Any) -> asyncio.Task[Any]:
    async def run() -> Any:
        await asyncio.sleep(seconds)
        return await work

    return asyncio.create_task(run())


async def test_include_existing_yields_the_objects_then_the_changes(aio: AsyncClient) -> None:
    cms = await aio.resource("configmaps")
    await cms.create(cm("a"))
    task = later(0.3, cms.create(cm("b")))
    events = [(e.type, e.object["metadata"].get("name"), e.ends_initial_events)
              async for e in cms.watch(include_existing=True, bookmarks=True, timeout=2)]
    await task
    assert events == [("ADDED", "a", False), ("ADDED", "kube-root-ca.crt", False),
                      ("BOOKMARK", None, True), ("ADDED", "b", False)]
    assert [e async for e in cms.watch(timeout=0.5)] == []  # the default: from now


async def test_wait_for_jsonpath_create_and_timeouts(aio: AsyncClient) -> None:
    cms = await aio.resource("configmaps")
    await cms.create(cm("c", x="1"))
    task = later(0.3, cms.patch("c", {"data": {"x": "2"}}))
    found = await cms.wait("c", for_="jsonpath={.data.x}=2", timeout=10)
    await task
    assert found[0]["data"] == {"x": "2"}
    assert (await cms.wait("c", for_="jsonpath={.data.x}", timeout=0))[0]["data"]["x"] == "2"
    with pytest.raises(WaitTimeoutError, match=r"=3 on configmaps/c after 0.5s"):
        await cms.wait("c", for_="jsonpath={.data.x}=3", timeout=0.5)
    with pytest.raises(errors.NotFoundError, match='configmaps "nope" not found'):
        await cms.wait("nope", for_="condition=Ready", timeout=1)
    assert await cms.wait("nope", for_="delete", timeout=1) == []
    task = later(0.3, cms.create(cm("late")))
    assert (await cms.wait("late", for_="create", timeout=10))[0]["metadata"]["name"] == "late"
    await task
    with pytest.raises(errors.InvalidArgumentError, match="not both"):
        await cms.wait("c", for_="create", all=True)


async def test_delete_waits_for_the_finalizer(aio: AsyncClient) -> None:
    pods = await aio.resource("pods")
    await pods.create({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "p", "finalizers": ["example.com/hold"]},
                       "spec": {"containers": [{"name": "c", "image": "x"}]}})
    task = later(0.5, pods.patch("p", {"metadata": {"finalizers": None}}))
    deleting = asyncio.create_task(pods.delete("p", wait=True, timeout=10))
    await asyncio.sleep(0.2)
    assert not deleting.done()  # held by the finalizer
    await deleting
    await task
    with pytest.raises(errors.NotFoundError):
        await pods.get("p")
    await pods.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "q", "finalizers": ["example.com/hold"]},
        "spec": {"containers": [{"name": "c", "image": "x"}]}})
    with pytest.raises(WaitTimeoutError):
        await pods.delete("q", wait=True, timeout=0.5)


async def test_client_side_apply_creates_configures_and_leaves_unchanged(
        async_kube: AsyncClient) -> None:
    seen: list[str] = []
    doc = {**cm("csa", a="1"), "metadata": {"name": "csa", "labels": {"x": "1"}}}
    created = await async_kube.apply(doc, server_side=False,
                                     progress=lambda i, n, what: seen.append(what))
    assert seen == ["ConfigMap/csa"]
    assert LAST_APPLIED in created[0]["metadata"]["annotations"]
    doc = {**cm("csa", a="2"), "metadata": {"name": "csa"}}  # the label is dropped
    configured = (await async_kube.apply(doc, server_side=False))[0]
    assert configured["data"] == {"a": "2"} and "labels" not in configured["metadata"]
    rv = configured["metadata"]["resourceVersion"]
    again = (await async_kube.apply(doc, server_side=False))[0]
    assert again["metadata"]["resourceVersion"] == rv  # unchanged: nothing was written
    cms = await async_kube.resource("configmaps")
    await cms.create(cm("bare", a="1"))
    with pytest.warns(errors.DynakubeWarning, match="missing the"):
        await async_kube.apply(cm("bare", a="3"), server_side=False)
    assert (await cms.get("bare"))["data"] == {"a": "3"}


async def test_server_without_server_side_apply_says_so() -> None:
    with ApiServer(server_side_apply=False) as server:
        async with AsyncClient(server.config()) as kube:
            cms = await kube.resource("configmaps")
            with pytest.raises(errors.UnsupportedMediaTypeError, match="server-side apply"):
                await cms.apply(cm("x"))
            with pytest.raises(errors.UnsupportedMediaTypeError, match="server-side apply"):
                await cms.patch("x", cm("x"), patch_type="apply")


async def test_categories_and_a_coroutine_new_leader_callback(async_kube: AsyncClient) -> None:
    names = {r.plural for r in await async_kube.resources_in_category("all")}
    assert {"pods", "deployments", "services"} <= names and "configmaps" not in names
    leases = await async_kube.resource("leases")
    heard: list[str] = []

    async def new_leader(identity: str) -> None:
        heard.append(identity)

    a = AsyncLeaderElector(leases, "cb", "default", "a", retry_period=0.1)
    b = AsyncLeaderElector(leases, "cb", "default", "b", retry_period=0.1,
                           on_new_leader=new_leader)
    async with a:
        while not a.is_leader:
            await asyncio.sleep(0.02)
        assert not await b.try_acquire_or_renew()
        await asyncio.sleep(0.05)
        assert heard == ["a"] and b.leader == "a"
    assert repr(a).startswith("<AsyncLeaderElector default/cb")
