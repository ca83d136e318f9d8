"""The asyncio client against the embedded server over the real wire: every verb, discovery,
validation, explain, apply of manifests, logs, and what cancelling does to a connection."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from dynakube import errors
from dynakube.aio import AsyncClient, AsyncResource
from dynakube.testing import ApiServer

pytestmark = pytest.mark.asyncio

NS = "default"


def cm(name: str, **data: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_crud_and_every_patch_type(async_kube: AsyncClient) -> None:
    cms = await async_kube.resource("cm")
    assert isinstance(cms, AsyncResource) and cms.info.plural == "configmaps"
    made = await cms.create(cm("a", x="1"))
    assert (await cms.get("a"))["metadata"]["uid"] == made["metadata"]["uid"]
    assert (await cms.patch("a", {"data": {"y": "2"}}))["data"] == {"x": "1", "y": "2"}
    patched = await cms.patch("a", [{"op": "add", "path": "/data/z", "value": "3"}],
                              patch_type="json")
    assert patched["data"]["z"] == "3"
    assert (await cms.patch("a", {"data": {"s": "4"}}, patch_type="strategic"))["data"]["s"] == "4"
    applied = await cms.apply(cm("a", w="5"), force=True)
    assert applied["data"]["w"] == "5"
    current = await cms.get("a")
    current["data"] = {"only": "this"}
    replaced = await cms.replace(current)
    assert replaced["data"] == {"only": "this"}
    with pytest.raises(errors.ConflictError):
        await cms.replace(current)  # its resourceVersion is stale now
    with pytest.raises(errors.AlreadyExistsError):
        await cms.create(cm("a"))
    await cms.delete("a")
    with pytest.raises(errors.NotFoundError):
        await cms.get("a")


async def test_lists_pages_tables_metadata_and_delete_collection(
        async_kube: AsyncClient) -> None:
    cms = await async_kube.resource("configmaps")
    for i in range(7):
        await cms.create({**cm(f"p{i}"), "metadata": {"name": f"p{i}", "labels": {"t": "p"}}})
    names = [o["metadata"]["name"] async for o in cms.iterate(chunk_size=3, label_selector="t=p")]
    assert names == [f"p{i}" for i in range(7)]
    page = await cms.list(label_selector={"t": "p"}, limit=2)
    assert len(page["items"]) == 2 and page["metadata"]["continue"]
    assert (await cms.list(metadata_only=True))["kind"] == "PartialObjectMetadataList"
    table = await async_kube.table("configmaps", label_selector="t=p")
    assert table["kind"] == "Table" and len(table["rows"]) == 7
    assert (await cms.table(name="p0"))["rows"][0]["cells"][0] == "p0"
    await cms.delete_collection(label_selector="t=p")
    assert (await cms.list(label_selector="t=p"))["items"] == []


async def test_subresources_scale_and_status(async_kube: AsyncClient) -> None:
    deploys = await async_kube.resource("deployments")
    await deploys.create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    scale = await deploys.scale.get("web")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1
    await deploys.scale.patch("web", {"spec": {"replicas": 3}})
    assert (await deploys.get("web"))["spec"]["replicas"] == 3
    status = await deploys.status.get("web")
    assert status["metadata"]["name"] == "web"
    with pytest.raises(errors.InvalidArgumentError, match="no subresource"):
        deploys.subresource("nope")


async def test_client_side_validation_runs_before_sending(async_kube: AsyncClient,
                                                          kube_server: ApiServer) -> None:
    cms = await async_kube.resource("configmaps")
    with pytest.raises(errors.ValidationError, match="data.x"):
        await cms.create(cm("bad", x=1))
    assert not any(r.method == "POST" for r in kube_server.requests)
    problems = await async_kube.validate({**cm("ok"), "bogus": 1})
    assert [p.path for p in problems] == ["bogus"]
    assert await async_kube.validate(cm("ok", x="1")) == []
    assert "KIND:       ConfigMap" in await async_kube.explain("configmap.data")
    schema = await async_kube.schema("deployments")
    assert "spec" in schema["properties"]


async def test_discovery_version_and_kinds(async_kube: AsyncClient) -> None:
    version = await async_kube.version()
    assert version["major"] == "1"
    names = {r.plural for r in await async_kube.api_resources()}
    assert {"pods", "deployments", "configmaps"} <= names
    with pytest.raises(errors.UnknownResourceError):
        await async_kube.resource("nonesuch")
    obj = await (await async_kube.resource("namespaces")).get("default")
    assert (await async_kube.get(obj))["metadata"]["uid"] == obj["metadata"]["uid"]


async def test_apply_manifests_with_a_crd_and_its_objects(async_kube: AsyncClient) -> None:
    manifest = """
apiVersion: example.dynakube.io/v1
kind: Gadget
metadata: {name: g1, namespace: default}
spec: {size: 3}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.dynakube.io}
spec:
  group: example.dynakube.io
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
"""
    results = await async_kube.apply(manifest)
    assert [r["kind"] for r in results] == ["CustomResourceDefinition", "ConfigMap", "Gadget"]
    gadgets = await async_kube.resource("gadgets")
    assert (await gadgets.get("g1"))["spec"] == {"size": 3}
    with pytest.raises(errors.ApplyError):
        await async_kube.apply({**cm("broken"), "data": {"a": 1}})


async def test_pod_logs_as_text_and_followed(async_kube: AsyncClient) -> None:
    pods = await async_kube.resource("pods")
    await pods.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    text = await pods.logs("p")
    assert isinstance(text, str)
    lines: list[str] = []

    async def follow() -> None:
        async for line in await pods.logs("p", follow=True):
            lines.append(line)

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.3)
    task.cancel()  # a followed log ends when its task is cancelled
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert async_kube.transport.open_connections <= 10  # type: ignore[attr-defined]
    with pytest.raises(errors.InvalidArgumentError, match="pods"):
        await (await async_kube.resource("configmaps")).logs("x")


async def test_cancelling_a_request_closes_its_connection(kube_server: ApiServer) -> None:
    async with AsyncClient(kube_server.config()) as kube:
        cms = await kube.resource("configmaps")
        kube_server.faults.delay(5.0)
        task = asyncio.create_task(cms.get("kube-root-ca.crt"))
        await asyncio.sleep(0.3)
        open_before = kube.transport.open_connections  # type: ignore[attr-defined]
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert open_before >= 1
        assert kube.transport.open_connections == open_before - 1  # type: ignore[attr-defined]
        kube_server.faults.delay(0)


async def test_injected_429_and_500_are_retried_or_raised(async_kube: AsyncClient,
                                                          kube_server: ApiServer) -> None:
    cms = await async_kube.resource("configmaps")
    kube_server.faults.fail_next(2, 429, retry_after=0.01)
    assert (await cms.get("kube-root-ca.crt"))["metadata"]["name"] == "kube-root-ca.crt"
    kube_server.faults.fail_next(1, 500)
    with pytest.raises(errors.ServerError):
        await cms.get("kube-root-ca.crt")


async def test_async_with_closes_every_connection(kube_server: ApiServer) -> None:
    kube = AsyncClient(kube_server.config())
    async with kube:
        cms = await kube.resource("configmaps")
        await asyncio.gather(*(cms.get("kube-root-ca.crt") for _ in range(20)))
        assert kube.transport.open_connections >= 1  # type: ignore[attr-defined]
    assert kube.transport.open_connections == 0  # type: ignore[attr-defined]
