"""Registry: parsing discovery documents and resolving names the way kubectl does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dynakube.discovery.registry import (
    Registry,
    ResourceInfo,
    SubresourceInfo,
    legacy_group_versions,
    parse_api_version,
    registry_from_aggregated,
    registry_from_documents,
    registry_from_legacy,
)
from dynakube.errors import AmbiguousResourceError, DiscoveryError, UnknownResourceError

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _res(plural: str, kind: str, *, short: list[str] | None = None, cats: list[str] | None = None,
         scope: str = "Namespaced", subs: list[dict[str, Any]] | None = None,
         singular: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "resource": plural, "responseKind": {"group": "", "version": "", "kind": kind},
        "scope": scope, "singularResource": singular or kind.lower(), "verbs": VERBS,
    }
    if short:
        doc["shortNames"] = short
    if cats:
        doc["categories"] = cats
    if subs:
        doc["subresources"] = subs
    return doc


def _group(name: str, versions: dict[str, list[dict[str, Any]]],
           stale: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "metadata": {"name": name} if name else {},
        "versions": [
            {"version": v, "resources": rs, "freshness": "Stale" if v in stale else "Current"}
            for v, rs in versions.items()
        ],
    }


def _list(*groups: dict[str, Any], api: str = "v2") -> dict[str, Any]:
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{api}",
            "metadata": {}, "items": list(groups)}


STATUS = {"subresource": "status", "responseKind": {"group": "", "version": "", "kind": "X"},
          "verbs": ["get", "patch", "update"]}
SCALE = {"subresource": "scale",
         "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
         "verbs": ["get", "patch", "update"]}

CORE = _list(_group("", {"v1": [
    _res("pods", "Pod", short=["po"], cats=["all"], subs=[STATUS]),
    _res("events", "Event", short=["ev"]),
    _res("nodes", "Node", short=["no"], scope="Cluster"),
    _res("services", "Service", short=["svc"], cats=["all"]),
]}))


def _synthetic(*extra: dict[str, Any], api: str = "v2") -> Registry:
    groups = [
        _group("apps", {"v1": [_res("deployments", "Deployment", short=["deploy"], cats=["all"],
                                    subs=[SCALE, STATUS])]}),
        _group("events.k8s.io", {"v1": [_res("events", "Event", short=["ev"])]}),
        _group("metrics.k8s.io", {"v1beta1": [_res("pods", "PodMetrics", singular=""),
                                              _res("nodes", "NodeMetrics", scope="Cluster")]}),
        _group("example.dynakube.io", {
            "v1": [_res("widgets", "Widget", short=["wd", "wdg"], cats=["all", "gadgets"],
                        subs=[STATUS, SCALE])],
            "v1beta1": [_res("widgets", "Widget", short=["wd", "wdg"], cats=["all", "gadgets"])],
        }),
        *extra,
    ]
    return registry_from_aggregated(CORE, _list(*groups, api=api))


@pytest.fixture
def reg() -> Registry:
    return _synthetic()


# -- lookup forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "deployments", "deployment", "Deployment", "DEPLOYMENTS", "deploy", "deployments.apps",
    "Deployment.apps", "deploy.apps", "deployments.v1.apps", " deployments ",
])
def test_every_lookup_form_resolves(reg: Registry, name: str) -> None:
    info = reg.resolve(name)
    assert (info.group, info.version, info.plural, info.kind) == ("apps", "v1", "deployments",
                                                                  "Deployment")


@pytest.mark.parametrize("name", ["widgets", "Widget", "wd", "WDG", "widget",
                                  "Widget.example.dynakube.io", "widgets.example.dynakube.io",
                                  "widgets.example", "widgets.example.dynakube"])
def test_custom_resource_forms_pick_the_preferred_version(reg: Registry, name: str) -> None:
    info = reg.resolve(name)
    assert info.api_version == "example.dynakube.io/v1"
    assert info.preferred


def test_explicit_versions(reg: Registry) -> None:
    old = reg.resolve("widgets.v1beta1.example.dynakube.io")
    assert old.version == "v1beta1" and not old.preferred
    assert reg.resolve("wd", "example.dynakube.io/v1beta1").version == "v1beta1"
    assert reg.resolve("Widget", "example.dynakube.io/v1beta1").version == "v1beta1"
    assert reg.resolve("widgets.example.dynakube.io", "example.dynakube.io/v1beta1").version \
        == "v1beta1"
    assert reg.resolve("pods", "v1").group == ""
    assert reg.resolve("pods.v1").kind == "Pod"


def test_group_prefix_must_end_at_a_dot(reg: Registry) -> None:
    with pytest.raises(UnknownResourceError):
        reg.resolve("widgets.exam")


def test_explicit_version_not_served_suggests_served_ones(reg: Registry) -> None:
    with pytest.raises(UnknownResourceError) as err:
        reg.resolve("deployments", "apps/v2")
    assert err.value.suggestions == ["deployments in apps/v1"]
    with pytest.raises(UnknownResourceError):
        reg.resolve("deployments.apps", "batch/v1")
    with pytest.raises(UnknownResourceError):
        reg.resolve("deployments.v1.apps", "apps/v2")


def test_core_group_wins_like_kubectl(reg: Registry) -> None:
    # events: core v1 and events.k8s.io; pods/nodes: core and metrics-server's metrics.k8s.io
    for name in ("events", "ev", "Event", "pods", "nodes", "pod"):
        assert reg.resolve(name).group == "", name
    assert reg.resolve("events.events.k8s.io").group == "events.k8s.io"
    assert reg.resolve("pods.metrics.k8s.io").kind == "PodMetrics"
    assert reg.resolve("PodMetrics").group == "metrics.k8s.io"


def test_builtin_group_wins_over_a_custom_resource() -> None:
    reg = _synthetic(_group("acme.io", {"v1": [_res("deployments", "Deployment")]}))
    assert reg.resolve("deployments").group == "apps"
    assert reg.resolve("deployments.acme.io").group == "acme.io"


def test_two_custom_groups_are_ambiguous() -> None:
    reg = _synthetic(_group("acme.io", {"v1": [_res("gizmos", "Gizmo", short=["gz"])]}),
                     _group("other.dev", {"v2": [_res("gizmos", "Gizmo", short=["gz"])]}))
    for name in ("gizmos", "Gizmo", "gz", "gizmo"):
        with pytest.raises(AmbiguousResourceError) as err:
            reg.resolve(name)
        assert err.value.candidates == ["gizmos.acme.io", "gizmos.other.dev"]
        assert "gizmos.acme.io" in str(err.value)
    assert reg.resolve("gizmos.other.dev").version == "v2"
    assert reg.resolve("gz", "acme.io/v1").group == "acme.io"


def test_group_prefix_matching_two_groups_is_ambiguous() -> None:
    reg = _synthetic(_group("acme.io", {"v1": [_res("gizmos", "Gizmo")]}),
                     _group("acme.dev", {"v1": [_res("gizmos", "Gizmo")]}))
    with pytest.raises(AmbiguousResourceError):
        reg.resolve("gizmos.acme")
    assert reg.resolve("gizmos.acme.dev").group == "acme.dev"


def test_plural_beats_kind_beats_short_name() -> None:
    reg = _synthetic(_group("acme.io", {"v1": [
        _res("things", "Thing", short=["deploy"]),  # a short name colliding with a plural
        _res("stuffs", "Things", singular="stuff"),  # a kind colliding with another plural
    ]}))
    assert reg.resolve("things").plural == "things"
    assert reg.resolve("deploy").group == "apps"
    assert reg.resolve("Things.acme.io").plural == "things"


def test_unknown_name_suggests_close_names(reg: Registry) -> None:
    with pytest.raises(UnknownResourceError) as err:
        reg.resolve("deploymnets")
    assert err.value.suggestions[0] == "deployments"
    assert "did you mean 'deployments'" in str(err.value)
    with pytest.raises(UnknownResourceError) as err:
        reg.resolve("Widgit")
    assert err.value.suggestions == ["widgets"]
    with pytest.raises(UnknownResourceError) as err:
        reg.resolve("deploymnets.apps")
    assert err.value.suggestions[0] == "deployments.apps"
    with pytest.raises(UnknownResourceError) as err:
        reg.resolve("zzzzzzzz")
    assert err.value.suggestions == []
    with pytest.raises(UnknownResourceError):
        reg.resolve("")
    with pytest.raises(LookupError):  # the error is also a LookupError
        reg.resolve("nope")


def test_ambiguous_suggestion_is_qualified() -> None:
    reg = _synthetic(_group("acme.io", {"v1": [_res("gizmos", "Gizmo")]}),
                     _group("other.dev", {"v1": [_res("gizmos", "Gizmo")]}))
    with pytest.raises(UnknownResourceError) as err:
        reg.resolve("gizmoz")
    assert set(err.value.suggestions) == {"gizmos.acme.io", "gizmos.other.dev"}


# -- versions and deprecation ---------------------------------------------------------------


def test_deprecated_preferred_version_is_skipped(reg: Registry) -> None:
    marked = reg.with_deprecations({("example.dynakube.io", "v1", "widgets"): "v1 is going away"})
    info = marked.resolve("widgets")
    assert info.version == "v1beta1" and not info.deprecated
    old = marked.resolve("widgets", "example.dynakube.io/v1")
    assert old.deprecated and old.deprecation_warning == "v1 is going away"
    # api_resources and categories follow the same choice
    assert [r.version for r in marked.api_resources() if r.plural == "widgets"] == ["v1beta1"]
    assert [r.version for r in marked.in_category("gadgets")] == ["v1beta1"]
    # when every version is deprecated, the preferred one is still chosen
    both = reg.with_deprecations({("example.dynakube.io", "v1", "*"): None,
                                  ("example.dynakube.io", "v1beta1", "widgets"): "old"})
    chosen = both.resolve("widgets")
    assert chosen.version == "v1" and chosen.deprecated and chosen.deprecation_warning is None
    assert reg.resolve("widgets").version == "v1"  # the original is unchanged


def test_resource_only_in_a_non_preferred_version_is_found() -> None:
    reg = _synthetic(_group("acme.io", {"v1": [_res("gizmos", "Gizmo")],
                                        "v1alpha1": [_res("gadgets", "Gadget")]}))
    info = reg.resolve("gadgets")
    assert info.version == "v1alpha1" and not info.preferred
    assert "gadgets.acme.io" in [r.qualified for r in reg.api_resources()]


def test_stale_group_versions_are_kept_out_and_reported() -> None:
    reg = _synthetic(_group("metrics.example.io", {"v1": [_res("samples", "Sample")]},
                            stale=("v1",)),
                     _group("half.io", {"v2": [_res("bits", "Bit")], "v1": [_res("bits", "Bit")]},
                            stale=("v2",)))
    assert "metrics.example.io/v1" in reg.failed and "half.io/v2" in reg.failed
    assert "metrics.example.io" not in reg.groups()
    info = reg.resolve("bits")
    assert info.version == "v1" and info.preferred  # the first version still served
    with pytest.raises(UnknownResourceError) as err:
        reg.resolve("samples.metrics.example.io")
    assert any("metrics.example.io/v1" in note for note in err.value.__notes__)


# -- listings ---------------------------------------------------------------------------------


def test_api_resources_like_kubectl(reg: Registry) -> None:
    listed = reg.api_resources()
    keys = [(r.group, r.plural) for r in listed]
    assert keys == sorted(keys)  # kubectl: by group, then name
    assert keys[0] == ("", "events")
    assert len(keys) == len(set(keys))  # one version each
    assert all(r.preferred for r in listed)
    by_name = [r.plural for r in reg.api_resources(sort_by="name")]
    assert by_name == sorted(by_name)
    by_kind = [r.kind for r in reg.api_resources(sort_by="kind")]
    assert by_kind == sorted(by_kind)
    with pytest.raises(ValueError):
        reg.api_resources(sort_by="size")


def test_categories_expand_in_server_order(reg: Registry) -> None:
    assert [r.qualified for r in reg.in_category("all")] == [
        "pods", "services", "deployments.apps", "widgets.example.dynakube.io"]
    assert [r.qualified for r in reg.in_category("GADGETS")] == ["widgets.example.dynakube.io"]
    assert reg.in_category("nothing") == []


def test_subresources_reachable_from_parent(reg: Registry) -> None:
    deploy = reg.resolve("deploy")
    scale = deploy.subresource("scale")
    assert scale == SubresourceInfo("scale", "Scale", "autoscaling", "v1",
                                    ("get", "patch", "update"))
    status = deploy.subresource("Status")
    assert status is not None and (status.group, status.version) == ("apps", "v1")
    assert deploy.subresource("log") is None
    assert [s.name for s in deploy.subresources] == ["scale", "status"]


def test_names_groups_and_versions(reg: Registry) -> None:
    names = reg.names()
    for name in ("deployments", "deploy", "Deployment", "deployments.apps", "wdg", "po"):
        assert name in names
    assert reg.groups()[:2] == ["", "apps"]
    assert "example.dynakube.io/v1beta1" in reg.api_versions()
    assert reg.preferred_version("example.dynakube.io") == "v1"
    assert reg.preferred_version("nope") is None


def test_for_kind(reg: Registry) -> None:
    assert reg.for_kind("apps/v1", "Deployment").plural == "deployments"
    assert reg.for_kind("example.dynakube.io/v1beta1", "Widget").version == "v1beta1"
    assert reg.for_kind("v1", "Pod").group == ""
    assert reg.for_kind("metrics.k8s.io/v1beta1", "PodMetrics").singular == "podmetrics"
    with pytest.raises(UnknownResourceError) as err:
        reg.for_kind("apps/v1beta2", "Deployment")
    assert err.value.suggestions == ["apps/v1 Deployment"]
    with pytest.raises(UnknownResourceError):
        reg.for_kind("a/b/c", "Deployment")


def test_resource_info_properties() -> None:
    info = ResourceInfo("apps", "v1", "deployments", "deployment", "Deployment", True, ("get",))
    assert (info.api_version, info.group_version, info.qualified, info.fully_qualified) == (
        "apps/v1", "apps/v1", "deployments.apps", "deployments.v1.apps")
    core = ResourceInfo("", "v1", "pods", "pod", "Pod", True, ("get",))
    assert (core.api_version, core.qualified, core.fully_qualified) == ("v1", "pods", "pods.v1")
    assert parse_api_version("apps/v1") == ("apps", "v1")
    assert parse_api_version("v1") == ("", "v1")


def test_v2beta1_documents_parse_the_same() -> None:
    assert _synthetic(api="v2beta1") == _synthetic()


def test_mixed_forms_and_legacy_errors() -> None:
    apis_legacy = {"kind": "APIGroupList", "groups": [{
        "name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}]}
    lists = {"apps/v1": {"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
        {"name": "deployments", "singularName": "deployment", "namespaced": True,
         "kind": "Deployment", "verbs": VERBS, "shortNames": ["deploy"]},
        {"name": "deployments/scale", "singularName": "", "namespaced": True, "group":
         "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get"]},
        {"name": "orphans/status", "kind": "Orphan", "verbs": ["get"]},
    ]}}
    assert legacy_group_versions(CORE, apis_legacy) == ["apps/v1"]
    reg = registry_from_documents(CORE, apis_legacy, lists)
    deploy = reg.resolve("deploy")
    assert deploy.subresources == (SubresourceInfo("scale", "Scale", "autoscaling", "v1",
                                                   ("get",)),)
    assert reg.resolve("pods").group == ""
    missing = registry_from_documents(CORE, apis_legacy, {})
    assert missing.failed == {"apps/v1": "not fetched"}
    with pytest.raises(DiscoveryError):
        registry_from_documents({"kind": "Status"}, apis_legacy)
    with pytest.raises(DiscoveryError):
        registry_from_documents([], apis_legacy)  # type: ignore[arg-type]
    with pytest.raises(DiscoveryError):
        registry_from_aggregated(CORE, apis_legacy)
    with pytest.raises(DiscoveryError):
        registry_from_legacy(CORE, apis_legacy, lists)


# -- the recorded real server ----------------------------------------------------------------


def _body(path: Path) -> Any:
    return json.loads(path.read_text())["body"]


def _recorded(shared_api: Path) -> tuple[Registry, Registry]:
    root = shared_api / "v1.36" / "discovery"
    aggregated = registry_from_aggregated(_body(root / "aggregated" / "api.json"),
                                          _body(root / "aggregated" / "apis.json"))
    legacy_dir = root / "legacy"
    api_doc, apis_doc = _body(legacy_dir / "api.json"), _body(legacy_dir / "apis.json")
    lists = {}
    for gv in legacy_group_versions(api_doc, apis_doc):
        path = legacy_dir / ("api" if "/" not in gv else "apis") / f"{gv}.json"
        lists[gv] = _body(path)
    return aggregated, registry_from_legacy(api_doc, apis_doc, lists)


def test_recorded_aggregated_equals_recorded_legacy(shared_api: Path) -> None:
    aggregated, legacy = _recorded(shared_api)
    assert len(aggregated) > 60
    assert aggregated.failed == {} == legacy.failed
    assert aggregated.resources == legacy.resources
    assert aggregated == legacy


def test_recorded_lookups(shared_api: Path) -> None:
    reg, _ = _recorded(shared_api)
    assert reg.resolve("events").api_version == "v1"
    assert reg.resolve("hpa").api_version == "autoscaling/v2"
    assert reg.resolve("wd").api_version == "example.dynakube.io/v1"
    assert reg.resolve("Widget.example.dynakube.io").kind == "Widget"
    assert reg.resolve("storageclasses.storage").group == "storage.k8s.io"
    widget = reg.resolve("widgets")
    assert widget.subresource("scale") is not None and widget.subresource("status") is not None
    assert "gadgets" in widget.categories and widget.short_names == ("wd", "wdg")
    eviction = reg.resolve("pods").subresource("eviction")
    assert eviction is not None and (eviction.group, eviction.kind) == ("policy", "Eviction")
    assert [r.plural for r in reg.in_category("all")] == [
        "pods", "replicationcontrollers", "services", "daemonsets", "deployments",
        "replicasets", "statefulsets", "horizontalpodautoscalers", "cronjobs", "jobs",
        "widgets"]
    listed = reg.api_resources()
    assert len(listed) == len({(r.group, r.plural) for r in reg.resources})
    assert [(r.group, r.plural) for r in listed] == sorted((r.group, r.plural) for r in listed)


# -- is it discovery data? (documents.document_problem) --------------------------------------


def test_recorded_answers_are_discovery_data(shared_api: Path) -> None:
    """The check that keeps bad answers out of the cache accepts every real one."""
    from dynakube.discovery.documents import document_problem

    root = shared_api / "v1.36" / "discovery"
    roots = {"api.json": ("APIGroupDiscoveryList", "APIVersions"),
             "apis.json": ("APIGroupDiscoveryList", "APIGroupList")}
    checked = 0
    for path in sorted(root.rglob("*.json")):
        kinds = roots.get(path.name) if path.parent.name in ("aggregated", "legacy") else None
        assert document_problem(_body(path), kinds or ("APIResourceList",)) is None, path
        checked += 1
    assert checked > 20


@pytest.mark.parametrize(("doc", "kinds", "said"), [
    ({"kind": "Status", "message": "Unauthorized"}, ("APIVersions",),
     "it is a Status (Unauthorized), not APIVersions"),
    ([], ("APIVersions",), "it is a JSON list, not an object"),
    ({"kind": "APIGroupList", "groups": [{"name": "apps", "versions": "v1"}]},
     ("APIGroupList",), "groups[0].versions is a str, not a list"),
    ({"kind": "APIGroupDiscoveryList", "items": [{"metadata": "x"}]},
     ("APIGroupDiscoveryList",), "items[0].metadata is not an object"),
    ({"kind": "APIGroupDiscoveryList", "items": [{"versions": [{"resources": {}}]}]},
     ("APIGroupDiscoveryList",), "items[0].versions[0].resources is a dict, not a list"),
    ({"kind": "APIResourceList", "resources": ["pods"]}, ("APIResourceList",),
     "resources[0] is a str, not an object"),
    ({"kind": "APIResourceList"}, ("APIGroupList",),
     "its kind is 'APIResourceList', not APIGroupList"),
    ({"groups": []}, ("APIGroupList",), "it has no kind (expected APIGroupList)"),
])
def test_what_is_not_discovery_data_is_named(doc: Any, kinds: tuple[str, ...],
                                             said: str) -> None:
    from dynakube.discovery.documents import document_problem

    assert document_problem(doc, kinds) == said


def test_null_lists_from_go_read_as_empty() -> None:
    """Go writes an empty (nil) slice as null: that is still discovery data."""
    from dynakube.discovery.documents import document_problem

    api = {"kind": "APIVersions", "versions": None}
    apis = {"kind": "APIGroupList", "groups": None}
    assert document_problem(api, ("APIVersions",)) is None
    assert document_problem(apis, ("APIGroupList",)) is None
    assert len(registry_from_legacy(api, apis, {})) == 0


def test_registry_module_keeps_its_names() -> None:
    """Parsing moved to discovery.documents; everything registry.py listed still imports."""
    from dynakube.discovery import documents, registry

    for name in registry.__all__:
        assert getattr(registry, name) is not None
    assert registry.ResourceInfo is documents.ResourceInfo
    assert registry.legacy_group_versions is documents.legacy_group_versions
