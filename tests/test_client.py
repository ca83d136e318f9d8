"""The dynamic client, every verb, over the real wire to the embedded server (or a cluster).

Tests that only take ``kube`` also run against a real cluster when DYNAKUBE_TEST_KUBECONFIG
is set; those that need ``kube_server`` use its request log or switches. A real cluster is
not empty: other namespaces hold objects of every kind, and a new namespace gets its own
``kube-root-ca.crt`` ConfigMap and ``default`` ServiceAccount (soon, not at once). So these
tests judge only the objects they made: by name, by a label unique to the test, in their
own namespace.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

import pytest

import dynakube
from dynakube import errors
from dynakube.apiserver.seed import WIDGET_CRD, widget
from dynakube.client import ALL, Client
from dynakube.request import ApiRequest


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": dict(data)}


def _served(kube: Client, name: str, timeout: float = 30.0) -> dynakube.Resource:
    """The handle once discovery serves ``name`` (a real cluster serves a new CRD soon)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return kube.resource(name)
        except errors.UnknownResourceError:
            if time.monotonic() >= deadline:
                raise
            kube.invalidate()
            time.sleep(0.2)


@pytest.fixture
def widgets(kube: Client) -> dynakube.Resource:
    kube.apply(copy.deepcopy(WIDGET_CRD))
    return _served(kube, "widgets")


def _names(listed: dict[str, Any], prefix: str = "") -> list[str]:
    """The names in a List that start with ``prefix`` (what this test made)."""
    return [i["metadata"]["name"] for i in listed["items"]
            if i["metadata"]["name"].startswith(prefix)]


# -- reads and writes ----------------------------------------------------------------------

def test_create_get_replace_delete(kube: Client) -> None:
    cms = kube.resource("configmaps")
    created = cms.create(configmap("cm1", a="1"))
    assert created["metadata"]["namespace"] == kube.namespace
    assert created["metadata"]["uid"]
    got = cms.get("cm1")
    assert got["data"] == {"a": "1"} and type(got) is dict
    got["data"]["a"] = "2"
    replaced = cms.replace(got)
    assert replaced["data"] == {"a": "2"}
    assert int(replaced["metadata"]["resourceVersion"]) > int(got["metadata"]["resourceVersion"])
    with pytest.raises(errors.ConflictError, match="modified"):
        cms.replace(got)  # got carries the old resourceVersion
    cms.delete("cm1")
    with pytest.raises(errors.NotFoundError) as info:
        cms.get("cm1")
    assert info.value.reason == "NotFound" and info.value.details["name"] == "cm1"


def test_create_twice_is_already_exists(kube: Client) -> None:
    cms = kube.resource("cm")
    cms.create(configmap("dup"))
    with pytest.raises(errors.AlreadyExistsError, match='"dup" already exists'):
        cms.create(configmap("dup"))


def test_dry_run_with_generate_name_stores_nothing(kube: Client) -> None:
    cms = kube.resource("configmaps")
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}
    created = cms.create(obj, dry_run=True)
    assert created["metadata"]["name"].startswith("gen-")
    assert "resourceVersion" not in created["metadata"]
    assert _names(cms.list(), "gen-") == []


def test_patch_types(kube: Client) -> None:
    cms = kube.resource("configmaps")
    cms.create(configmap("p", a="1"))
    assert cms.patch("p", [{"op": "replace", "path": "/data/a", "value": "3"}],
                     patch_type="json")["data"] == {"a": "3"}
    assert cms.patch("p", {"data": {"b": "4"}})["data"] == {"a": "3", "b": "4"}
    assert cms.patch("p", {"data": {"c": "5"}}, patch_type="strategic")["data"] == {
        "a": "3", "b": "4", "c": "5"}
    with pytest.raises(errors.InvalidArgumentError, match="patch_type"):
        cms.patch("p", {}, patch_type="yaml")


def test_server_side_apply_and_conflicts(kube: Client) -> None:
    cms = kube.resource("configmaps")
    obj = configmap("applied", x="y")
    first = cms.apply(obj, field_manager="one")
    assert first["data"] == {"x": "y"}
    assert [m["manager"] for m in first["metadata"]["managedFields"]] == ["one"]
    # what apply sends never carries managedFields or resourceVersion
    again = cms.apply(first, field_manager="one")
    assert again["data"] == {"x": "y"}
    with pytest.raises(errors.ConflictError) as info:
        cms.apply(configmap("applied", x="z"), field_manager="two")
    assert info.value.causes[0]["field"] == ".data.x"
    forced = cms.apply(configmap("applied", x="z"), field_manager="two", force=True)
    assert forced["data"] == {"x": "z"}


def test_delete_options(kube: Client) -> None:
    cms = kube.resource("configmaps")
    cm = cms.create(configmap("pre"))
    with pytest.raises(errors.ConflictError, match="precondition"):
        cms.delete("pre", preconditions={"resourceVersion": "1"})
    cms.delete("pre", preconditions={"uid": cm["metadata"]["uid"]},
               propagation_policy="Background", grace_period_seconds=0)
    with pytest.raises(errors.InvalidArgumentError):
        cms.delete("pre", propagation_policy="Sometimes")


def test_delete_collection_by_label(kube: Client) -> None:
    cms = kube.resource("configmaps")
    for i in range(3):
        obj = configmap(f"c{i}")
        obj["metadata"]["labels"] = {"batch": "yes" if i < 2 else "no"}
        cms.create(obj)
    cms.delete_collection(label_selector={"batch": "yes"})
    assert _names(cms.list(label_selector="batch")) == ["c2"]


# -- lists ------------------------------------------------------------------------------------

def test_list_selectors_and_all_namespaces(kube: Client) -> None:
    cms = kube.resource("configmaps")
    run = {"dynakube-test-run": kube.namespace}  # other namespaces may use app=web too
    for name, app in (("a", "web"), ("b", "db"), ("c", "web")):
        obj = configmap(name)
        obj["metadata"]["labels"] = {"app": app, **run}
        cms.create(obj)
    assert _names(cms.list(label_selector={"app": "web"})) == ["a", "c"]
    assert _names(cms.list(label_selector="app in (db)")) == ["b"]
    listed = cms.list(label_selector={"app": "web"}, field_selector="metadata.name=c")
    assert _names(listed) == ["c"]
    assert listed["kind"] == "ConfigMapList"
    everywhere = cms.list(ALL, label_selector={"app": "web", **run})
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere["items"]] == [
        (kube.namespace, "a"), (kube.namespace, "c")]
    (db,) = cms.list(all_namespaces=True, label_selector={"app": "db", **run})["items"]
    assert db["metadata"]["namespace"] == kube.namespace
    with pytest.raises(errors.BadRequestError, match="unable to parse requirement"):
        cms.list(label_selector="a in (b")


def test_iterate_follows_continue_tokens(kube_server: Any, embedded: Client) -> None:
    cms = embedded.resource("configmaps")
    for i in range(7):
        cms.create(configmap(f"it-{i:02d}"))
    kube_server.requests.clear()
    names = [o["metadata"]["name"] for o in cms.iterate(chunk_size=3)]
    assert [n for n in names if n.startswith("it-")] == [f"it-{i:02d}" for i in range(7)]
    assert kube_server.requests.count(method="GET", path=f"/api/v1/namespaces/"
                                      f"{embedded.namespace}/configmaps") == 3


def test_metadata_only_and_tables(kube: Client, widgets: dynakube.Resource) -> None:
    kube.resource("configmaps").create(configmap("meta", a="1"))
    partial = kube.resource("configmaps").list(metadata_only=True)
    assert partial["kind"] == "PartialObjectMetadataList"
    assert _names(partial, "meta") == ["meta"]
    assert all("data" not in item for item in partial["items"])
    widgets.create(widget("w1", "small", replicas=3))
    table = kube.table("widgets")
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Replicas", "Age"]
    assert table["rows"][0]["cells"][:3] == ["w1", "small", 3]
    cm_table = kube.table("configmaps", name="meta")
    assert cm_table["rows"][0]["cells"][:2] == ["meta", 1]


# -- custom resources and subresources -------------------------------------------------------

def test_widget_crud_status_and_scale(kube: Client, widgets: dynakube.Resource) -> None:
    created = widgets.create(widget("w1", "small", port="http", tags=["a"]))
    assert created["spec"]["replicas"] == 1  # defaulted by the schema
    assert widgets.status.get("w1")["spec"]["size"] == "small"
    scale = widgets.scale.get("w1")
    assert scale["kind"] == "Scale" and scale["spec"] == {"replicas": 1}
    patched = widgets.scale.patch("w1", {"spec": {"replicas": 3}})
    assert patched["spec"]["replicas"] == 3
    assert widgets.get("w1")["spec"]["replicas"] == 3
    status = widgets.get("w1")
    status["status"] = {"phase": "Ready", "replicas": 3}
    assert widgets.status.replace(status)["status"]["phase"] == "Ready"
    with pytest.raises(errors.InvalidArgumentError, match="no subresource 'logs'"):
        widgets.subresource("logs")


def test_widget_invalid_from_the_server(kube: Client, widgets: dynakube.Resource) -> None:
    bad = widget("w2", "huge", replicas=500, color="red", tags=["a", "a"])
    with pytest.raises(errors.InvalidError) as info:
        widgets.create(bad, validate=False)
    fields = [c["field"] for c in info.value.causes]
    assert fields[:4] == ["spec.color", "spec.replicas", "spec.size", "spec.tags[1]"]


def test_strategic_patch_refused_for_custom_resources(kube_server: Any,
                                                      embedded: Client) -> None:
    embedded.apply(copy.deepcopy(WIDGET_CRD))
    widgets = embedded.resource("widgets")
    widgets.create(widget("w1"))
    kube_server.requests.clear()
    with pytest.raises(errors.InvalidArgumentError, match="strategic"):
        widgets.patch("w1", {"spec": {"replicas": 2}}, patch_type="strategic")
    assert kube_server.requests.count() == 0


def test_deployment_scale_and_status(kube: Client) -> None:
    deploy = kube.resource("deploy")
    labels = {"app": "web"}
    deploy.create({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web"},
                   "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                            "template": {"metadata": {"labels": labels}, "spec": {
                                "containers": [{"name": "web", "image": "nginx"}]}}}})
    assert deploy.scale.patch("web", {"spec": {"replicas": 5}})["spec"]["replicas"] == 5
    assert deploy.get("web")["spec"]["replicas"] == 5
    assert deploy.status.get("web")["metadata"]["name"] == "web"


# -- arguments refused before any request ---------------------------------------------------

@pytest.mark.parametrize("name", ["a/b", "..", ".", "50%", ""])
def test_bad_names_never_reach_the_wire(kube_server: Any, embedded: Client, name: str) -> None:
    cms = embedded.resource("configmaps")
    kube_server.requests.clear()
    with pytest.raises(errors.InvalidArgumentError):
        cms.get(name)
    with pytest.raises(errors.InvalidArgumentError):
        cms.get("ok", namespace=name or "a/b")
    assert kube_server.requests.count() == 0


@pytest.mark.parametrize("name", [None, "", 5, b"cm0", ["cm0"]])
def test_a_missing_name_never_addresses_the_collection(kube_server: Any, embedded: Client,
                                                       name: Any) -> None:
    """``delete(None)`` once went to the collection URL and deleted every object there."""
    cms = embedded.resource("configmaps")
    for i in range(5):
        cms.create(configmap(f"cm{i}"))
    deploy = embedded.resource("deployments")
    nameless = configmap("x")
    nameless["metadata"] = {} if name is None else {"name": name}
    kube_server.requests.clear()
    calls = [
        lambda: cms.delete(name),
        lambda: cms.get(name),
        lambda: cms.patch(name, {"data": {"a": "1"}}),
        lambda: cms.patch(name, [], patch_type="json"),
        lambda: cms.replace(nameless),
        lambda: cms.apply(nameless),
        lambda: deploy.scale.get(name),
        lambda: deploy.scale.patch(name, {"spec": {"replicas": 0}}),
        lambda: deploy.status.replace({"apiVersion": "apps/v1", "kind": "Deployment",
                                       "metadata": nameless["metadata"]}),
    ]
    if name is not None:  # table(name=None) is the collection's table, by design
        calls.append(lambda: embedded.table("configmaps", name=name))
    for call in calls:
        with pytest.raises(errors.InvalidArgumentError, match="name"):
            call()
    assert kube_server.requests.count() == 0
    assert sorted(_names(cms.list(), "cm")) == [
        f"cm{i}" for i in range(5)]


def test_namespace_for_cluster_scoped_resource_is_an_error(kube: Client) -> None:
    with pytest.raises(errors.InvalidArgumentError, match="cluster-scoped"):
        kube.resource("namespaces").get("default", namespace="kube-system")
    with pytest.raises(errors.InvalidArgumentError, match="namespace"):
        kube.resource("configmaps").create(
            {**configmap("x"), "metadata": {"name": "x", "namespace": "a"}}, namespace="b")


def test_unknown_resource_suggests(kube: Client) -> None:
    with pytest.raises(errors.UnknownResourceError) as info:
        kube.resource("configmap5")
    assert "configmaps" in info.value.suggestions


# -- whole-object helpers ---------------------------------------------------------------------

MANIFEST = """\
apiVersion: example.dynakube.io/v1
kind: Widget
metadata: {name: from-yaml, namespace: apply-test}
spec: {size: medium}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: apply-test}
data: {k: v}
---
apiVersion: v1
kind: Namespace
metadata: {name: apply-test}
"""


def test_kube_apply_orders_and_waits_for_crds(kube_server: Any, tmp_path: Any) -> None:
    import yaml

    kube = kube_server.client()
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump(WIDGET_CRD) + "---\n" + MANIFEST)
    results = kube.apply(path)
    assert [r["kind"] for r in results] == [
        "Namespace", "CustomResourceDefinition", "ConfigMap", "Widget"]
    got = kube.get({"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
                    "metadata": {"name": "from-yaml", "namespace": "apply-test"}})
    assert got["spec"] == {"size": "medium", "replicas": 1}


def test_kube_apply_reports_bad_documents_and_keeps_going(kube: Client,
                                                         widgets: dynakube.Resource) -> None:
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\n---\n"
            "apiVersion: example.dynakube.io/v1\nkind: Widget\nmetadata: {name: bad}\n"
            "spec: {size: huge}\n---\n- not a mapping\n")
    with pytest.raises(errors.ApplyError) as info:
        kube.apply(text)
    sources = [f.source for f in info.value.failures]
    assert sources == ["<text>#3", "<text>#2"]
    assert isinstance(info.value.failures[1].error, errors.ValidationError)
    assert [r["metadata"]["name"] for r in info.value.results] == ["good"]
    assert kube.resource("configmaps").get("good")


def test_kube_apply_malformed_documents_are_apply_errors_not_crashes(kube: Client) -> None:
    text = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
            "metadata: {name: broken.example.dynakube.io}\nspec: [not, a, mapping]\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: not-a-mapping\n")
    seen: list[str] = []
    with pytest.raises(errors.ApplyError) as info:
        kube.apply(text, validate=False, progress=lambda i, n, what: seen.append(what))
    assert sorted(f.source for f in info.value.failures) == ["<text>#1", "<text>#2"]
    assert "ConfigMap/?" in seen


def test_bodies_json_cannot_carry_are_refused_before_sending(kube: Client) -> None:
    import datetime

    cms = kube.resource("configmaps")
    dated = configmap("dated")
    dated["data"]["when"] = datetime.datetime(2026, 1, 1)
    with pytest.raises(errors.InvalidArgumentError, match="not JSON.*datetime"):
        cms.create(dated, validate=False)
    with pytest.raises(errors.InvalidArgumentError, match="not JSON"):
        cms.patch("dated", {"data": {"n": float("nan")}})
    with pytest.raises(errors.InvalidArgumentError, match="not JSON.*set"):
        cms.patch("dated", {"data": {"a", "b"}})


@pytest.mark.parametrize("validate", [True, False])
def test_an_object_that_is_not_a_dict_is_refused(kube: Client, validate: bool) -> None:
    with pytest.raises(errors.InvalidArgumentError, match="must be a dict"):
        kube.resource("configmaps").create("not an object", validate=validate)  # type: ignore[arg-type]
    # validating one is not an error of the call: its answer is the problem
    (problem,) = kube.validate(["a list"])  # type: ignore[arg-type]
    assert (problem.path, problem.severity) == ("", "error")
    assert problem.message == "expected an object, found array"


def test_retry_on_conflict_rereads(kube: Client) -> None:
    cms = kube.resource("configmaps")
    cms.create(configmap("counter", n="0"))
    stale = cms.get("counter")
    cms.patch("counter", {"data": {"n": "1"}})
    tries: list[int] = []

    def bump() -> dict[str, Any]:
        current = stale if not tries else cms.get("counter")
        tries.append(1)
        current["data"]["n"] = str(int(current["data"]["n"]) + 1)
        return cms.replace(current)

    result = dynakube.retry_on_conflict(bump)
    assert result["data"]["n"] == "2" and len(tries) == 2


def test_concurrent_clients_share_nothing_unsafe(kube: Client) -> None:
    cms = kube.resource("configmaps")
    failures: list[BaseException] = []

    def work(i: int) -> None:
        try:
            cms.create(configmap(f"t{i}"))
            cms.get(f"t{i}")
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            failures.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert sorted(_names(cms.list(), "t")) == [f"t{i}" for i in range(8)]


def test_repl_friendly_handles(kube: Client) -> None:
    deploy = kube.resource("deployments.apps")
    assert repr(deploy) == "<Resource deployments.apps apps/v1 namespaced>"
    assert "configmaps" in dir(kube.resources)
    assert kube.resources.configmaps.info.kind == "ConfigMap"
    assert repr(kube.resource("ns")).endswith("cluster-scoped>")


def test_server_without_server_side_apply(kube_server_factory: Any) -> None:
    with kube_server_factory(server_side_apply=False) as server:
        kube = server.client()
        with pytest.raises(errors.UnsupportedMediaTypeError, match="server-side apply"):
            kube.resource("configmaps").apply(configmap("x"))


def test_client_side_apply_twice_uses_the_documents_namespace(kube: Client) -> None:
    ns = f"{kube.namespace}-other"
    namespaces = kube.resource("namespaces")
    namespaces.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    try:
        doc = {**configmap("twice", a="1"), "metadata": {"name": "twice", "namespace": ns}}
        kube.apply(doc, server_side=False)
        doc["data"] = {"a": "2"}
        assert kube.apply(doc, server_side=False)[0]["data"] == {"a": "2"}
        assert kube.resource("configmaps").get("twice", ns)["data"] == {"a": "2"}
    finally:
        namespaces.delete(ns)  # a real cluster's namespace is left to terminate


def test_yaml_dates_are_applied_as_text_as_kubectl_does(kube: Client) -> None:
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dated}\n"
            "data: {since: 2024-01-01, at: 2001-12-14t21:59:43.10-05:00}\n")
    applied = kube.apply(text)[0]
    assert applied["data"] == {"since": "2024-01-01", "at": "2001-12-14t21:59:43.10-05:00"}


# -- the one seam, and the handle's own public face ---------------------------------------------

class CountingSender:
    """A ``Sender`` passing each request on to a real transport, counting them by path."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.paths: list[str] = []
        self.streams = 0

    def send(self, request: Any, *, stream: bool = False,
             read_timeout: float | None = None) -> Any:
        self.paths.append(request.path)
        self.streams += stream
        return self.inner.send(request, stream=stream, read_timeout=read_timeout)


def test_transport_is_the_one_seam_for_every_request(kube_server: Any) -> None:
    from dynakube.transport.http import Transport

    config = kube_server.config()
    sender = CountingSender(Transport(config))
    with Client(config, transport=sender) as kube:
        assert kube.transport is sender
        cms = kube.resource("configmaps")
        cms.create(configmap("seam"))
        kube.validate(configmap("seam"))
        with cms.watch(resource_version="0", timeout=0.5) as events:
            assert any(e.object["metadata"]["name"] == "seam" for e in events)
    assert {"/api", "/openapi/v3", "/api/v1/namespaces/default/configmaps"} <= set(sender.paths)
    assert sender.streams >= 1
    assert len(kube_server.requests) == len(sender.paths)  # nothing went around it
    # a transport passed in stays its owner's: the client left it open
    assert sender.inner.send(ApiRequest("GET", "/version")).json()["major"]
    sender.inner.close()


def test_resource_handles_have_table_check_and_namespace_of(kube: Client,
                                                             widgets: dynakube.Resource) -> None:
    widgets.create(widget("t1", "small"))
    # rows, not whole tables: an Age cell may tick over between the two calls
    assert [r["cells"][:2] for r in widgets.table()["rows"]] == [
        r["cells"][:2] for r in kube.table("widgets")["rows"]] == [["t1", "small"]]
    assert widgets.table(name="t1")["rows"][0]["cells"][0] == "t1"
    assert widgets.namespace_of({"metadata": {"namespace": "other"}}) == "other"
    assert widgets.namespace_of({}, "given") == "given"
    assert widgets.namespace_of() == kube.namespace
    assert kube.resource("namespaces").namespace_of({"metadata": {"name": "x"}}) is None
    with pytest.raises(errors.ValidationError, match="size"):
        widgets.check(widget("t2", "huge"))
    widgets.check(widget("t2", "huge"), validate=False)
    with pytest.warns(errors.ValidationWarning, match="unknown field"):
        widgets.check({**widget("t3"), "extra": 1})
    # the constructor is public API too
    same = dynakube.Resource(kube, widgets.info)
    assert same.get("t1")["metadata"]["name"] == "t1"


@pytest.mark.parametrize("call", [
    lambda kube: kube.resource(None),
    lambda kube: kube.resource(42),
    lambda kube: kube.resource(""),
    lambda kube: kube.resource(["configmaps"]),
    lambda kube: kube.resource("configmaps", api_version=1),
    lambda kube: kube.resources[3],
    lambda kube: kube.explain(None),
    lambda kube: kube.explain(5),
    lambda kube: kube.explain("deployment.spec", api_version=b"apps/v1"),
    lambda kube: kube.schema(7),
])
def test_non_string_names_are_invalid_arguments(kube: Client, call: Any) -> None:
    with pytest.raises(errors.InvalidArgumentError, match="must be a non-empty string"):
        call(kube)


def test_bad_arguments_are_invalid_argument_errors(kube_server: Any, embedded: Client) -> None:
    from dynakube.controller.retry import retry_on_conflict

    with pytest.raises(errors.InvalidArgumentError, match="qps"):
        Client(kube_server.config(), qps=-1)
    with pytest.raises(errors.InvalidArgumentError, match="burst"):
        Client(kube_server.config(), burst=0)
    with pytest.raises(errors.InvalidArgumentError, match="sort_by"):
        embedded.api_resources(sort_by="size")
    kinds = [r.kind for r in embedded.api_resources(sort_by="kind")]
    assert kinds == sorted(kinds) and "ConfigMap" in kinds
    with pytest.raises(errors.InvalidArgumentError, match="attempts"):
        retry_on_conflict(lambda: None, attempts=0)


def test_every_warning_class_lives_in_errors_and_keeps_its_old_home() -> None:
    from dynakube.discovery.loader import DiscoveryWarning
    from dynakube.schema import SchemaWarning as FromPackage
    from dynakube.schema.store import SchemaWarning
    from dynakube.schema.validate import ValidationWarning

    assert DiscoveryWarning is errors.DiscoveryWarning
    assert SchemaWarning is FromPackage is errors.SchemaWarning
    assert ValidationWarning is errors.ValidationWarning
    assert issubclass(errors.SchemaWarning, errors.ValidationWarning)
    for name in ("DiscoveryWarning", "SchemaWarning", "ValidationWarning", "ManifestWarning",
                 "ServerWarning", "InsecureTLSWarning", "ManifestError"):
        assert name in errors.__all__


def test_object_key_and_metadata_have_one_home() -> None:
    import dynakube.controller.store
    import dynakube.resource
    import dynakube.watch
    from dynakube import meta

    assert dynakube.resource.object_metadata is meta.object_metadata
    assert dynakube.watch.object_key is meta.object_key
    assert dynakube.controller.store.object_key is meta.object_key
    assert meta.object_key({"metadata": {"name": "a", "namespace": "ns"}}) == "ns/a"
    assert meta.object_key({"metadata": {"name": "node-1"}}) == "node-1"
    with pytest.raises(errors.InvalidArgumentError, match="metadata.name"):
        meta.object_key({"metadata": {}})
    with pytest.raises(errors.InvalidArgumentError, match="must be a dict"):
        meta.object_metadata(["not", "a", "dict"])  # type: ignore[arg-type]
