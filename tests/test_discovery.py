"""Discovery over real HTTP: request counts, the disk cache, fallbacks and partial failure.

Most tests use a tiny discovery-only HTTP server started here (it can make one group-version
fail, mark one stale, or switch forms between calls); the last ones run against the embedded
API server (``dynakube.testing.ApiServer``).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dynakube.cache import DiskCache
from dynakube.client import Client
from dynakube.config import ClusterConfig
from dynakube.discovery import (
    ACCEPT_AGGREGATED,
    Discovery,
    DiscoveryWarning,
    deprecation_from_warning,
)
from dynakube.errors import (
    AmbiguousResourceError,
    DiscoveryError,
    UnauthorizedError,
    UnknownResourceError,
)
from dynakube.request import ApiRequest
from dynakube.transport import Transport

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _res(plural: str, kind: str, short: tuple[str, ...] = (), namespaced: bool = True,
         categories: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"plural": plural, "kind": kind, "short": list(short), "namespaced": namespaced,
            "categories": list(categories)}


def _default_groups() -> dict[str, dict[str, list[dict[str, Any]]]]:
    return {
        "": {"v1": [_res("pods", "Pod", ("po",), categories=("all",)),
                    _res("events", "Event", ("ev",)),
                    _res("namespaces", "Namespace", ("ns",), namespaced=False)]},
        "apps": {"v1": [_res("deployments", "Deployment", ("deploy",), categories=("all",))]},
        "events.k8s.io": {"v1": [_res("events", "Event", ("ev",))]},
        "example.dynakube.io": {"v1": [_res("widgets", "Widget", ("wd",))],
                                "v1beta1": [_res("widgets", "Widget", ("wd",))]},
    }


@dataclass
class FakeState:
    """What the tiny server serves; tests change it between calls."""

    aggregated: str | None = "v2"
    groups: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=_default_groups)
    fail: dict[str, int] = field(default_factory=dict)  # path -> status
    stale: set[str] = field(default_factory=set)  # group-versions
    lie_about_type: bool = False
    # path -> answers given with 200 before the real one: (content type, body), once each
    poison: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str | None = None, prefix: str | None = None) -> int:
        with self.lock:
            return sum(1 for _, p, _ in self.requests
                       if (path is None or p == path) and (prefix is None or p.startswith(prefix)))

    def statuses(self) -> list[int]:
        with self.lock:
            return [int(h["_status"]) for _, _, h in self.requests]

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()


def _aggregated(state: FakeState, core: bool) -> dict[str, Any]:
    items = []
    for group, versions in state.groups.items():
        if (group == "") != core:
            continue
        items.append({"metadata": {"name": group} if group else {}, "versions": [
            {"version": v, "freshness": "Stale" if f"{group}/{v}".lstrip("/") in state.stale
             else "Current",
             "resources": [{
                 "resource": r["plural"], "singularResource": r["kind"].lower(),
                 "responseKind": {"group": "", "version": "", "kind": r["kind"]},
                 "scope": "Namespaced" if r["namespaced"] else "Cluster", "verbs": VERBS,
                 **({"shortNames": r["short"]} if r["short"] else {}),
                 **({"categories": r["categories"]} if r["categories"] else {}),
                 "subresources": [{"subresource": "status", "verbs": ["get", "patch"],
                                   "responseKind": {"group": "", "version": "",
                                                    "kind": r["kind"]}}],
             } for r in rs]} for v, rs in versions.items()]})
    return {"kind": "APIGroupDiscoveryList",
            "apiVersion": f"apidiscovery.k8s.io/{state.aggregated}", "metadata": {},
            "items": items}


def _legacy(state: FakeState, path: str) -> dict[str, Any] | None:
    if path == "/api":
        return {"kind": "APIVersions", "versions": list(state.groups.get("", {}))}
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
             "preferredVersion": {"groupVersion": f"{g}/{next(iter(vs))}",
                                  "version": next(iter(vs))}}
            for g, vs in state.groups.items() if g]}
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[0] == "apis" and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        return None
    resources = state.groups.get(group, {}).get(version)
    if resources is None:
        return None
    entries: list[dict[str, Any]] = []
    for r in resources:
        entries.append({"name": r["plural"], "singularName": r["kind"].lower(),
                        "namespaced": r["namespaced"], "kind": r["kind"], "verbs": VERBS,
                        **({"shortNames": r["short"]} if r["short"] else {}),
                        **({"categories": r["categories"]} if r["categories"] else {})})
        entries.append({"name": r["plural"] + "/status", "singularName": "",
                        "namespaced": r["namespaced"], "kind": r["kind"],
                        "verbs": ["get", "patch"]})
    return {"kind": "APIResourceList", "groupVersion": f"{group}/{version}".lstrip("/"),
            "resources": entries}


class _Handler(BaseHTTPRequestHandler):
    state: FakeState
    protocol_version = "HTTP/1.1"  # keep-alive, as an API server: every answer has a length

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        state = self.server.state  # type: ignore[attr-defined]
        status, headers, body = self._answer(state)
        with state.lock:
            state.requests.append(("GET", self.path, {**dict(self.headers.items()),
                                                      "_status": str(status),
                                                      "_port": str(self.client_address[1])}))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer(self, state: FakeState) -> tuple[int, dict[str, str], bytes]:
        path = self.path
        with state.lock:
            queued = state.poison.get(path)
            planted = queued.pop(0) if queued else None
        if planted is not None:
            return 200, {"Content-Type": planted[0]}, planted[1]
        if path in state.fail:
            code = state.fail[path]
            body = json.dumps({"kind": "Status", "status": "Failure", "code": code,
                               "reason": {503: "ServiceUnavailable", 401: "Unauthorized",
                                          404: "NotFound"}.get(code, "InternalError"),
                               "message": "the backend is down"}).encode()
            return code, {"Content-Type": "application/json"}, body
        if path == "/version":
            doc: dict[str, Any] | None = {"major": "1", "minor": "36", "gitVersion": "v1.36.0"}
            return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()
        accept = self.headers.get("Accept", "")
        wanted = state.aggregated and f"v={state.aggregated};as=APIGroupDiscoveryList" in accept
        if path in ("/api", "/apis") and wanted:
            body = json.dumps(_aggregated(state, path == "/api")).encode()
            if state.lie_about_type:
                body = json.dumps(_legacy(state, path)).encode()
            etag = '"' + hashlib.sha256(body).hexdigest() + '"'
            headers = {"Content-Type": "application/json;g=apidiscovery.k8s.io;"
                                       f"v={state.aggregated};as=APIGroupDiscoveryList",
                       "Etag": etag, "Vary": "Accept"}
            if self.headers.get("If-None-Match") == etag:
                return 304, headers, b""
            return 200, headers, body
        doc = _legacy(state, path)
        if doc is None:
            return 404, {"Content-Type": "text/plain"}, b"404 page not found"
        return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()


@pytest.fixture
def fake() -> Iterator[tuple[FakeState, str]]:
    state = FakeState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cache_base(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _discovery(url: str, base: Path, **kw: Any) -> Discovery:
    transport = Transport(ClusterConfig(server=url, token="t"), qps=None)
    return Discovery(transport, DiskCache.for_server(url, base=base), **kw)


def _age_cache(disc: Discovery, seconds: float, files: str = "*.json") -> None:
    directory = disc.cache.directory
    assert directory is not None and disc.cache.flush(timeout=30)
    for path in directory.rglob(files):
        st = path.stat()
        os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


# -- request counts ---------------------------------------------------------------------------


def test_cold_is_two_requests_warm_is_none(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    disc = _discovery(url, cache_base)
    reg = disc.registry()
    assert state.count() == 2
    assert state.count("/api") == state.count("/apis") == 1
    assert all(h["Accept"] == ACCEPT_AGGREGATED for _, _, h in state.requests)
    assert disc.resolve("deploy").api_version == "apps/v1"
    assert disc.registry() is reg
    assert state.count() == 2  # memory
    fresh_process = _discovery(url, cache_base)
    assert fresh_process.resolve("Widget").version == "v1"
    assert fresh_process.registry() == reg
    assert state.count() == 2  # disk, within the TTL


def test_cold_asks_api_then_apis_on_one_connection(fake: tuple[FakeState, str],
                                                  cache_base: Path) -> None:
    state, url = fake
    steps = _discovery(url, cache_base).registry_steps()
    assert [(r.method, r.path) for r in next(steps)] == [("GET", "/api")]  # alone
    steps.close()
    assert _discovery(url, cache_base).resolve("deploy").api_version == "apps/v1"
    assert [p for _, p, _ in state.requests] == ["/api", "/apis"]
    assert len({h["_port"] for _, _, h in state.requests}) == 1
    assert state.statuses() == [200, 200]


def test_only_the_stale_root_document_is_asked_again(fake: tuple[FakeState, str],
                                                     cache_base: Path) -> None:
    state, url = fake
    first = _discovery(url, cache_base)
    reg = first.registry()
    _age_cache(first, 7 * 3600, "apis.json")
    state.clear()
    assert _discovery(url, cache_base).registry() == reg
    assert [(p, h["_status"]) for _, p, h in state.requests] == [("/apis", "304")]


def test_expired_cache_revalidates_with_304(fake: tuple[FakeState, str],
                                            cache_base: Path) -> None:
    state, url = fake
    first = _discovery(url, cache_base)
    reg = first.registry()
    _age_cache(first, 7 * 3600)
    state.clear()
    later = _discovery(url, cache_base)
    assert later.registry() == reg
    assert state.count() == 2 and state.statuses() == [304, 304]
    assert all(h.get("If-None-Match", "").startswith('"') for _, _, h in state.requests)
    state.clear()
    assert _discovery(url, cache_base).registry() == reg  # the 304 made the cache fresh again
    assert state.count() == 0


def test_cache_dated_in_the_future_is_revalidated(fake: tuple[FakeState, str],
                                                  cache_base: Path) -> None:
    state, url = fake
    first = _discovery(url, cache_base)
    first.registry()
    _age_cache(first, -3600)  # the clock jumped back
    state.clear()
    _discovery(url, cache_base).registry()
    assert state.statuses() == [304, 304]


def test_expired_cache_and_changed_server(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    first = _discovery(url, cache_base)
    first.registry()
    state.groups["acme.io"] = {"v1": [_res("gizmos", "Gizmo")]}
    _age_cache(first, 7 * 3600)
    state.clear()
    later = _discovery(url, cache_base)
    assert later.resolve("gizmos").group == "acme.io"
    assert sorted(state.statuses()) == [200, 304]


def test_short_ttl_in_memory(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    disc = _discovery(url, cache_base, ttl=0.0)
    disc.registry()
    disc.registry()
    assert state.count() == 4 and state.statuses()[2:] == [304, 304]


def test_invalidate_revalidates(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    disc = _discovery(url, cache_base)
    disc.registry()
    disc.invalidate()
    disc.registry()
    assert state.statuses() == [200, 200, 304, 304]


def test_miss_refreshes_once_and_is_remembered(fake: tuple[FakeState, str],
                                               cache_base: Path) -> None:
    state, url = fake
    disc = _discovery(url, cache_base)
    disc.registry()
    state.groups["acme.io"] = {"v1": [_res("gizmos", "Gizmo", ("gz",))]}
    state.clear()
    assert disc.resolve("gz").kind == "Gizmo"  # created after discovery: found after a refresh
    assert state.count() == 2
    state.clear()
    for _ in range(5):
        with pytest.raises(UnknownResourceError):
            disc.resolve("nonsense")
    assert state.count() == 2  # one refresh (answered 304), then the miss is remembered
    assert state.statuses() == [304, 304]
    with pytest.raises(UnknownResourceError):
        disc.resolve("other-nonsense")
    assert state.count() == 4
    with pytest.raises(UnknownResourceError):
        disc.for_kind("acme.io/v2", "Gizmo")
    assert state.count() == 6
    assert disc.for_kind("acme.io/v1", "Gizmo").plural == "gizmos"
    assert state.count() == 6


def test_cold_miss_does_not_fetch_twice(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    with pytest.raises(UnknownResourceError) as err:
        _discovery(url, cache_base).resolve("deploymnets")
    assert err.value.suggestions[0] == "deployments"
    assert state.count() == 2


def test_ambiguity_is_not_a_miss(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    state.groups["acme.io"] = {"v1": [_res("gizmos", "Gizmo")]}
    state.groups["other.dev"] = {"v1": [_res("gizmos", "Gizmo")]}
    disc = _discovery(url, cache_base)
    with pytest.raises(AmbiguousResourceError) as err:
        disc.resolve("gizmos")
    assert err.value.candidates == ["gizmos.acme.io", "gizmos.other.dev"]
    assert disc.resolve("events").group == ""  # core wins, as in kubectl
    assert state.count() == 2


def test_concurrent_first_use_fetches_once(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    disc = _discovery(url, cache_base)
    errors: list[BaseException] = []

    def use() -> None:
        try:
            disc.resolve("pods")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and state.count() == 2


# -- forms ------------------------------------------------------------------------------------


def test_v2beta1_server(fake: tuple[FakeState, str], cache_base: Path, tmp_path: Path) -> None:
    state, url = fake
    v2 = _discovery(url, tmp_path / "other").registry()
    state.aggregated = "v2beta1"
    state.clear()
    disc = _discovery(url, cache_base)
    assert disc.registry() == v2
    assert state.count() == 2
    assert all("v=v2beta1" in h["Accept"] for _, _, h in state.requests)


def test_legacy_fallback(fake: tuple[FakeState, str], cache_base: Path, tmp_path: Path) -> None:
    state, url = fake
    aggregated = _discovery(url, tmp_path / "other").registry()
    state.aggregated = None
    state.clear()
    disc = _discovery(url, cache_base)
    reg = disc.registry()
    assert reg == aggregated
    gvs = ["/api/v1", "/apis/apps/v1", "/apis/events.k8s.io/v1",
           "/apis/example.dynakube.io/v1", "/apis/example.dynakube.io/v1beta1"]
    assert state.count() == 2 + len(gvs)
    assert sorted(p for _, p, _ in state.requests[2:]) == sorted(gvs)
    state.clear()
    assert _discovery(url, cache_base).registry() == reg
    assert state.count() == 0  # legacy documents are cached on disk too
    _age_cache(disc, 7 * 3600)
    assert _discovery(url, cache_base).registry() == reg
    assert state.count() == 2 + len(gvs)  # no Etag on legacy answers: all refetched


def test_server_gains_aggregated_discovery(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    state.aggregated = None
    disc = _discovery(url, cache_base)
    legacy = disc.registry()
    state.aggregated = "v2"
    disc.invalidate()
    state.clear()
    assert disc.registry() == legacy
    assert state.count() == 2


def test_partial_failure_in_legacy_discovery(fake: tuple[FakeState, str],
                                             cache_base: Path) -> None:
    state, url = fake
    state.aggregated = None
    state.groups["metrics.example.io"] = {"v1beta1": [_res("samples", "Sample")]}
    state.fail["/apis/metrics.example.io/v1beta1"] = 503
    disc = _discovery(url, cache_base)
    with pytest.warns(DiscoveryWarning, match="metrics.example.io/v1beta1") as record:
        reg = disc.registry()
    assert len(record) == 1
    assert "503" in reg.failed["metrics.example.io/v1beta1"]
    assert disc.resolve("deploy").group == "apps"  # everything else is there
    with pytest.raises(UnknownResourceError) as err:
        disc.resolve("samples")  # refreshes once; same failure: no second warning
    assert any("metrics.example.io/v1beta1" in n for n in err.value.__notes__)
    state.clear()
    del state.fail["/apis/metrics.example.io/v1beta1"]
    recovered = _discovery(url, cache_base)  # a new process: only the missing one is asked
    assert recovered.resolve("samples").version == "v1beta1"
    assert [p for _, p, _ in state.requests] == ["/apis/metrics.example.io/v1beta1"]


def test_stale_group_version_in_aggregated_discovery(fake: tuple[FakeState, str],
                                                     cache_base: Path) -> None:
    state, url = fake
    state.groups["metrics.example.io"] = {"v1beta1": [_res("samples", "Sample")]}
    state.stale.add("metrics.example.io/v1beta1")
    disc = _discovery(url, cache_base)
    with pytest.warns(DiscoveryWarning, match="metrics.example.io/v1beta1"):
        reg = disc.registry()
    assert "metrics.example.io/v1beta1" in reg.failed
    assert state.count() == 2


def test_content_type_that_lies_is_an_error(fake: tuple[FakeState, str],
                                            cache_base: Path) -> None:
    state, url = fake
    state.lie_about_type = True
    with pytest.raises(DiscoveryError, match="claimed aggregated"):
        _discovery(url, cache_base).registry()


def test_not_a_kubernetes_server(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    state.fail["/api"] = 404
    state.aggregated = None
    with pytest.raises(DiscoveryError, match="not point at a Kubernetes API server"):
        _discovery(url, cache_base).registry()


def test_unauthorized_is_not_swallowed(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    state.fail["/api"] = 401
    with pytest.raises(UnauthorizedError):
        _discovery(url, cache_base).registry()


# -- the disk cache ---------------------------------------------------------------------------


def test_corrupt_cache_file_is_ignored_and_rewritten(fake: tuple[FakeState, str],
                                                     cache_base: Path) -> None:
    state, url = fake
    disc = _discovery(url, cache_base)
    reg = disc.registry()
    path = disc.cache.path("discovery/apis.json")
    assert path is not None and disc.cache.flush(timeout=30)
    path.write_bytes(b'{"format": 1, "etag": null, "length": 5, "sha256": "x"}\n{"kin')
    state.clear()
    assert _discovery(url, cache_base).registry() == reg
    assert [p for _, p, _ in state.requests] == ["/apis"]
    assert "If-None-Match" not in state.requests[0][2]
    state.clear()
    assert _discovery(url, cache_base).registry() == reg
    assert state.count() == 0


def test_valid_file_with_bad_json_is_ignored(fake: tuple[FakeState, str],
                                             cache_base: Path) -> None:
    state, url = fake
    disc = _discovery(url, cache_base)
    reg = disc.registry()
    disc.cache.write("discovery/api.json", b"[1, 2", etag='"x"')
    state.clear()
    assert _discovery(url, cache_base).registry() == reg
    assert [p for _, p, _ in state.requests] == ["/api"]


def test_cache_files_are_private(fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    state.aggregated = None
    disc = _discovery(url, cache_base)
    disc.registry()
    directory = disc.cache.directory
    assert directory is not None and directory.parent == cache_base
    assert disc.cache.flush(timeout=30)
    files = list(directory.rglob("*.json"))
    assert len(files) == 7
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for sub in [directory, *[p for p in directory.rglob("*") if p.is_dir()]]:
        assert stat.S_IMODE(sub.stat().st_mode) == 0o700


def test_disabled_disk_cache(fake: tuple[FakeState, str]) -> None:
    state, url = fake
    transport = Transport(ClusterConfig(server=url, token="t"), qps=None)
    Discovery(transport, DiskCache(None)).registry()
    Discovery(transport, DiskCache(None)).registry()
    assert state.count() == 4


# -- version and deprecation ------------------------------------------------------------------


def test_version(fake: tuple[FakeState, str], cache_base: Path) -> None:
    _, url = fake
    assert _discovery(url, cache_base).version()["minor"] == "36"


def test_deprecation_warnings_steer_lookups(fake: tuple[FakeState, str],
                                            cache_base: Path) -> None:
    state, url = fake
    disc = _discovery(url, cache_base)
    assert deprecation_from_warning("example.dynakube.io/v1beta1 Widget is deprecated; use v1") \
        == ("example.dynakube.io", "v1beta1", "Widget")
    assert deprecation_from_warning("v1 ComponentStatus is deprecated in v1.19+") == (
        "", "v1", "ComponentStatus")
    assert deprecation_from_warning('unknown field "spec.foo"') is None
    info = disc.note_warning("example.dynakube.io/v1 Widget is deprecated; use v1beta1")
    assert info is not None and info.deprecated and info.version == "v1"
    assert disc.resolve("widgets").version == "v1beta1"
    assert disc.note_warning("acme.io/v1 Nothing is deprecated") is None
    disc.invalidate()
    assert disc.resolve("widgets").version == "v1beta1"  # kept across refreshes
    disc.mark_deprecated("example.dynakube.io", "v1beta1")
    assert disc.resolve("widgets").version == "v1"  # both deprecated: preferred again
    assert state.count() == 4


# -- the embedded API server ------------------------------------------------------------------


def _embedded() -> Any:
    testing = pytest.importorskip("dynakube.testing")
    server = getattr(testing, "ApiServer", None)
    if server is None:
        pytest.skip("dynakube.testing.ApiServer is not available")
    return server


def _on(server: Any, base: Path) -> Discovery:
    transport = Transport(server.config(), qps=None)
    return Discovery(transport, DiskCache.for_server(server.url, base=base))


@pytest.mark.parametrize("mode", ["v2", "v2beta1", None])
def test_embedded_server_counts(mode: str | None, cache_base: Path) -> None:
    api_server = _embedded()
    with api_server(aggregated_discovery=mode) as server:
        disc = _on(server, cache_base)
        server.requests.clear()
        reg = disc.registry()
        if mode is None:
            assert server.requests.count() == 2 + len(reg.api_versions())
        else:
            assert server.requests.count() == 2
        assert server.requests.count(path="/api") == server.requests.count(path="/apis") == 1
        assert reg.failed == {}
        assert reg.resolve("deploy").api_version == "apps/v1"
        assert reg.resolve("events").group == ""
        assert reg.resolve("Deployment").subresource("scale") is not None
        server.requests.clear()
        assert _on(server, cache_base).registry() == reg
        assert server.requests.count() == 0
        if mode is not None:
            _age_cache(disc, 7 * 3600)
            assert _on(server, cache_base).registry() == reg
            assert server.requests.count() == 2
            assert [r.status for r in server.requests] == [304, 304]


def test_embedded_server_forms_agree(tmp_path: Path) -> None:
    api_server = _embedded()
    registries = []
    for mode in ("v2", "v2beta1", None):
        with api_server(aggregated_discovery=mode) as server:
            registries.append(_on(server, tmp_path / str(mode)).registry())
    assert registries[0] == registries[1] == registries[2]
    assert len(registries[0]) >= 5 and registries[0].failed == {}


GIZMO_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gizmos.acme.example.com"},
    "spec": {
        "group": "acme.example.com", "scope": "Namespaced",
        "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo",
                  "shortNames": ["gz"], "categories": ["all"]},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {
                          "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}],
    },
}


def test_embedded_server_new_crd_found_after_one_refresh(cache_base: Path) -> None:
    api_server = _embedded()
    with api_server() as server:
        disc = _on(server, cache_base)
        disc.registry()
        disc.transport.send(ApiRequest(
            "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            headers=(("Content-Type", "application/json"),),
            body=json.dumps(GIZMO_CRD).encode()))
        server.requests.clear()
        info = disc.resolve("gz")
        assert (info.group, info.version, info.kind) == ("acme.example.com", "v1", "Gizmo")
        assert server.requests.count() == 2
        assert sorted(r.status for r in server.requests) == [200, 304]  # only /apis changed
        server.requests.clear()
        for _ in range(3):
            with pytest.raises(UnknownResourceError):
                disc.resolve("gizmoz")
        assert server.requests.count() == 2


def test_embedded_server_partial_failure(cache_base: Path) -> None:
    api_server = _embedded()
    with api_server(aggregated_discovery=None) as server:
        first = _on(server, cache_base)
        everything = first.registry()
        directory = first.cache.directory
        assert directory is not None and first.cache.flush(timeout=30)
        for path in (directory / "discovery" / "apis").rglob("*.json"):
            path.unlink()
        server.requests.clear()
        server.faults.fail_next(1, status=503)
        with pytest.warns(DiscoveryWarning, match="503") as record:
            partial = _on(server, cache_base).registry()
        assert len(record) == 1
        assert len(partial.failed) == 1
        assert server.requests.count(prefix="/apis/") == len(everything.api_versions()) - 1
        (gv,) = partial.failed
        assert gv not in partial.api_versions()
        assert set(partial.api_versions()) == set(everything.api_versions()) - {gv}


# -- what is not discovery is never cached ---------------------------------------------------

_STATUS_200 = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                          "message": "the backend is warming up", "code": 503}).encode()


@pytest.mark.parametrize("aggregated", ["v2", None])
@pytest.mark.parametrize(("content_type", "body", "said"), [
    ("application/json", _STATUS_200, "it is a Status (the backend is warming up)"),
    ("application/json", b'{"kind": "APIVersions", "versions": "v1"}',
     "versions is not a list of strings"),
    ("application/json", b'{"login": "required"}',
     "it has no kind (expected APIGroupDiscoveryList or APIVersions)"),
    ("application/json", b'{"kind": "APIGroupDiscoveryList", "items": [1]}',
     "items[0] is a int, not an object"),
    ("text/html", b"<html><body>Sign in to continue</body></html>", "not a JSON object"),
])
def test_a_200_that_is_not_discovery_is_never_cached(
        fake: tuple[FakeState, str], cache_base: Path, aggregated: str | None,
        content_type: str, body: bytes, said: str) -> None:
    state, url = fake
    state.aggregated = aggregated
    state.poison["/api"] = [(content_type, body)]
    with pytest.raises(DiscoveryError) as info:
        _discovery(url, cache_base).registry()
    # the server has recovered: the next process (a new Client on the same cache) works
    with Client(ClusterConfig(server=url, token="t"), cache_dir=cache_base) as kube:
        assert kube.resource("po").info.kind == "Pod"
        assert kube.resource("deploy").info.group == "apps"
    assert state.count(path="/api") == 2
    assert said in str(info.value) and "nothing was cached" in str(info.value)


def test_a_group_version_answer_that_is_not_a_resource_list_is_never_cached(
        fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    state.aggregated = None
    state.poison["/apis/apps/v1"] = [("application/json", _STATUS_200)]
    with pytest.warns(DiscoveryWarning) as warned:
        reg = _discovery(url, cache_base).registry()
    assert "apps/v1" in reg.failed
    state.clear()
    reg = _discovery(url, cache_base).registry()  # a new process: apps/v1 fetched again
    assert reg.resolve("deploy").group == "apps" and not reg.failed
    assert [p for _, p, _ in state.requests] == ["/apis/apps/v1"]
    assert "apps/v1: the answer is not discovery data: it is a Status" in str(
        warned[0].message)


@pytest.mark.parametrize("key", ["discovery/api.json", "discovery/apis.json",
                                 "discovery/api/v1.json"])
def test_a_cached_document_that_is_not_discovery_is_a_miss(
        fake: tuple[FakeState, str], cache_base: Path, key: str) -> None:
    """What an older version cached from a bad answer is refetched, not trusted for 6 h."""
    state, url = fake
    state.aggregated = None
    reg = _discovery(url, cache_base).registry()
    disc = _discovery(url, cache_base)
    disc.cache.write(key, _STATUS_200, etag='"poisoned"')
    state.clear()
    assert disc.registry() == reg
    path = "/" + key.removeprefix("discovery/").removesuffix(".json")
    assert [p for _, p, _ in state.requests] == [path]
    assert "If-None-Match" not in state.requests[0][2]  # the bad copy's Etag is not offered


def test_a_warning_from_cached_discovery_says_where_it_comes_from(
        fake: tuple[FakeState, str], cache_base: Path) -> None:
    state, url = fake
    state.stale.add("example.dynakube.io/v1beta1")
    with pytest.warns(DiscoveryWarning) as first:
        _discovery(url, cache_base).registry()
    assert "cache" not in str(first[0].message)  # straight from the server
    disc = _discovery(url, cache_base)
    with pytest.warns(DiscoveryWarning) as again:
        disc.registry()  # a new process, within the TTL: the cached /apis says it
    text = str(again[0].message)
    assert "example.dynakube.io/v1beta1: stale" in text
    assert f"cached in {disc.cache.directory}" in text
    assert "kube.invalidate()" in text and "DYNAKUBE_CACHE_DIR" in text
