"""SchemaStore: lazy fetching, the on-disk cache by hash, refreshes, servers without OpenAPI v3.

A tiny HTTP server on 127.0.0.1 serves the real server's recorded /openapi/v3 answers.
"""

from __future__ import annotations

import copy
import json
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from dynakube.cache import DiskCache
from dynakube.config import ClusterConfig
from dynakube.request import ApiRequest
from dynakube.schema import SchemaStore, SchemaWarning, document_path
from dynakube.schema.openapi import Converter
from dynakube.schema.validate import validate
from dynakube.transport import Transport

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "k8s-api"
OPENAPI = SHARED / "v1.36" / "openapi" / "v3"
WIDGETS = "apis/example.dynakube.io/v1"


class _OpenAPIServer:
    """Serves recorded OpenAPI v3 answers; documents can be hidden or replaced at run time."""

    def __init__(self, *, openapi: bool = True):
        self.openapi = openapi
        self.requests: list[str] = []
        self.hidden: set[str] = set()
        self.replaced: dict[str, tuple[str, dict[str, Any]]] = {}
        self.index = json.loads((OPENAPI / "index.json").read_text())["body"]
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                status, body = server.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, target: str) -> tuple[int, Any]:
        split = urlsplit(target)
        not_found = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                     "reason": "NotFound", "code": 404, "message": "not found"}
        if not self.openapi:
            return 404, not_found
        if split.path == "/openapi/v3":
            index = copy.deepcopy(self.index)
            for path in self.hidden:
                index["paths"].pop(path, None)
            for path, (digest, _) in self.replaced.items():
                index["paths"][path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
            return 200, index
        path = split.path[len("/openapi/v3/"):]
        digest = parse_qs(split.query).get("hash", [""])[0]
        if path in self.replaced and self.replaced[path][0] == digest:
            return 200, self.replaced[path][1]
        file = OPENAPI / f"{path}.json"
        if path in self.hidden or not file.is_file():
            return 404, not_found
        return 200, json.loads(file.read_text())["body"]

    def count(self, prefix: str) -> int:
        return sum(1 for r in self.requests if r.startswith(prefix))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served() -> Iterator[_OpenAPIServer]:
    if not OPENAPI.is_dir():
        pytest.skip("../shared/k8s-api is not present (a fresh clone has none)")
    server = _OpenAPIServer()
    yield server
    server.close()


@pytest.fixture
def transport(served: _OpenAPIServer) -> Iterator[Transport]:
    t = Transport(ClusterConfig(server=served.url, token="t"))
    yield t
    t.close()


def _deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def _widget(size: str = "small") -> dict[str, Any]:
    return {"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
            "metadata": {"name": "w"}, "spec": {"size": size}}


def test_only_the_documents_used_are_fetched_once_then_read_from_disk(
        served: _OpenAPIServer, transport: Transport, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    store = SchemaStore(transport, cache)
    assert served.requests == []  # lazy: nothing until asked
    assert validate(store, _deployment()) == []
    assert validate(store, _deployment()) == []
    assert served.count("/openapi/v3?") + served.requests.count("/openapi/v3") == 1
    assert served.count("/openapi/v3/apis/apps/v1?hash=") == 1
    assert len(served.requests) == 2  # not the other 40-odd documents
    assert cache.flush(timeout=30)
    cached = list((tmp_path / "openapi").iterdir())
    digest = served.index["paths"]["apis/apps/v1"]["serverRelativeURL"].split("hash=")[1]
    assert [p.name for p in cached] == [f"apis__apps__v1-{digest}.json"]

    # another process: the index is asked again, the document comes from disk
    served.requests.clear()
    again = SchemaStore(transport, DiskCache(tmp_path))
    assert validate(again, _deployment()) == []
    assert served.requests == ["/openapi/v3"]


def test_invalidate_refreshes_the_index_but_keeps_documents(
        served: _OpenAPIServer, transport: Transport) -> None:
    store = SchemaStore(transport, DiskCache(None))
    assert store.kinds("apps", "v1")
    store.invalidate()
    assert store.kinds("apps", "v1")
    assert served.requests.count("/openapi/v3") == 2
    assert served.count("/openapi/v3/apis/apps/v1") == 1


def test_a_kind_missing_from_the_index_refreshes_it_once(
        served: _OpenAPIServer, transport: Transport) -> None:
    served.hidden.add(WIDGETS)  # the CRD does not exist yet
    store = SchemaStore(transport, DiskCache(None))
    assert validate(store, _widget("huge")) == []  # nothing to check against
    assert validate(store, _widget("huge")) == []  # the miss is remembered briefly
    assert served.requests.count("/openapi/v3") == 2
    served.hidden.clear()  # the CRD was created
    store.invalidate()     # as the client does when discovery is refreshed
    (problem,) = validate(store, _widget("huge"))
    assert problem.path == "spec.size"


def test_a_stale_schema_never_blocks_an_object_the_new_one_accepts(
        served: _OpenAPIServer, transport: Transport) -> None:
    store = SchemaStore(transport, DiskCache(None), recheck_after=0.0)
    assert [p.path for p in validate(store, _widget("huge"))] == ["spec.size"]
    # the CRD's schema changes on the server: "huge" becomes a size
    document = json.loads((OPENAPI / f"{WIDGETS}.json").read_text())["body"]
    widget = document["components"]["schemas"]["io.dynakube.example.v1.Widget"]
    widget["properties"]["spec"]["properties"]["size"]["enum"].append("huge")
    served.replaced[WIDGETS] = ("NEWHASH", document)
    assert validate(store, _widget("huge")) == []


def test_kind_schema_is_self_contained_and_a_fresh_copy(
        served: _OpenAPIServer, transport: Transport) -> None:
    from jsonschema import Draft4Validator

    store = SchemaStore(transport, DiskCache(None))
    schema = store.kind_schema("example.dynakube.io", "v1", "Widget")
    assert schema is not None
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["properties"]["spec"]["properties"]["size"]["enum"] == [
        "small", "medium", "large"]
    validator = Draft4Validator(schema)
    assert validator.is_valid(_widget())
    assert not validator.is_valid(_widget("huge"))
    schema["properties"].clear()
    again = store.kind_schema("example.dynakube.io", "v1", "Widget")
    assert again is not None and "spec" in again["properties"]
    assert store.kind_schema("example.dynakube.io", "v1", "Gadget") is None


def test_a_server_without_openapi_v3_skips_validation_with_one_warning(tmp_path: Path) -> None:
    if not OPENAPI.is_dir():
        pytest.skip("../shared/k8s-api is not present (a fresh clone has none)")
    server = _OpenAPIServer(openapi=False)
    transport = Transport(ClusterConfig(server=server.url, token="t"))
    try:
        store = SchemaStore(transport, DiskCache(tmp_path))
        with pytest.warns(SchemaWarning, match="no OpenAPI v3"):
            assert validate(store, _widget("huge")) == []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert validate(store, _deployment()) == []
            assert store.kind_schema("apps", "v1", "Deployment") is None
            assert not store.available
        assert server.requests == ["/openapi/v3"]  # asked once, not per object
    finally:
        transport.close()
        server.close()


class _Answer:
    def __init__(self, content: bytes):
        self.content = content

    def json(self) -> Any:
        return json.loads(self.content)


class _FlakyDocumentTransport:
    """An index with one group-version whose document is first answered with junk."""

    THING = {"components": {"schemas": {"io.example.v1.Thing": {
        "type": "object", "properties": {"spec": {"type": "object"}},
        "x-kubernetes-group-version-kind": [
            {"group": "example.io", "version": "v1", "kind": "Thing"}]}}}}

    def __init__(self, junk: int, junk_body: bytes = b"<html>upstream hiccup</html>") -> None:
        self.junk = junk
        self.junk_body = junk_body
        self.documents = 0

    def send(self, request: ApiRequest) -> _Answer:
        if request.path == "/openapi/v3":
            url = "/openapi/v3/apis/example.io/v1?hash=ABC123"
            return _Answer(json.dumps({"paths": {"apis/example.io/v1": {
                "serverRelativeURL": url}}}).encode())
        self.documents += 1
        if self.documents <= self.junk:  # a proxy's error page, answered with a 200
            return _Answer(self.junk_body)
        return _Answer(json.dumps(self.THING).encode())


def test_a_broken_document_is_never_cached_under_its_hash(tmp_path: Path) -> None:
    transport = _FlakyDocumentTransport(junk=1)
    first = SchemaStore(transport, DiskCache(tmp_path))
    with pytest.warns(SchemaWarning, match="not a JSON object"):
        assert first.kind_schema("example.io", "v1", "Thing") is None
    assert first.kind_schema("example.io", "v1", "Thing") is None  # not asked again at once
    assert transport.documents == 1
    # another process with the same cache: it must ask the server, not trust the junk
    second = SchemaStore(transport, DiskCache(tmp_path))
    schema = second.kind_schema("example.io", "v1", "Thing")
    assert schema is not None and "spec" in schema["properties"]
    assert transport.documents == 2
    third = SchemaStore(transport, DiskCache(tmp_path))
    assert third.kind_schema("example.io", "v1", "Thing") == schema
    assert transport.documents == 2  # the good document was cached by its hash


@pytest.mark.parametrize("junk", [
    b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"warming up"}',
    b'{"error":"login required"}',
])
def test_a_json_answer_that_is_no_document_is_never_cached(tmp_path: Path, junk: bytes) -> None:
    transport = _FlakyDocumentTransport(junk=1, junk_body=junk)
    with pytest.warns(SchemaWarning, match="not a JSON object with components"):
        assert SchemaStore(transport, DiskCache(tmp_path)).kind_schema(
            "example.io", "v1", "Thing") is None
    assert SchemaStore(transport, DiskCache(tmp_path)).kind_schema(
        "example.io", "v1", "Thing") is not None
    assert transport.documents == 2


def test_a_cached_document_that_is_not_json_is_fetched_again(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    cache.write("openapi/apis__example.io__v1-ABC123.json", b"not json")
    transport = _FlakyDocumentTransport(junk=0)
    store = SchemaStore(transport, cache)
    assert store.kind_schema("example.io", "v1", "Thing") is not None
    assert transport.documents == 1


def test_document_paths() -> None:
    assert document_path("", "v1") == "api/v1"
    assert document_path("apps", "v1") == "apis/apps/v1"


def test_converter_of_an_empty_document_knows_nothing() -> None:
    converter = Converter({})
    assert converter.raw("x") is None
    assert converter.component("x") == {}


# -- against the embedded API server ----------------------------------------------------------

_WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gizmos.example.dynakube.io"},
    "spec": {
        "group": "example.dynakube.io", "scope": "Namespaced",
        "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo",
                  "listKind": "GizmoList"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {
                    "type": "object", "required": ["size"],
                    "properties": {
                        "size": {"type": "string", "enum": ["small", "large"]},
                        "replicas": {"type": "integer", "maximum": 10},
                    },
                }},
            }},
        }],
    },
}


@pytest.fixture
def embedded() -> Iterator[Any]:
    from dynakube.testing import ApiServer

    server = ApiServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _server_transport(server: Any) -> Transport:
    transport = Transport(ClusterConfig(server=server.url, token=server.token))
    try:
        transport.send(ApiRequest("GET", "/openapi/v3"))
    except Exception as e:  # the embedded server's OpenAPI support is still being written
        transport.close()
        pytest.skip(f"the embedded server does not serve /openapi/v3 yet: {e}")
    return transport


def _gizmo(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.dynakube.io/v1", "kind": "Gizmo",
            "metadata": {"name": "g", "namespace": "default"}, "spec": spec}


def test_a_crd_created_at_run_time_is_validated_with_its_own_schema(embedded: Any) -> None:
    transport = _server_transport(embedded)
    try:
        store = SchemaStore(transport, DiskCache(None))
        assert validate(store, _gizmo(size="huge")) == []  # no such kind yet: nothing to say
        transport.send(ApiRequest(
            "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            headers=(("Content-Type", "application/json"),),
            body=json.dumps(_WIDGET_CRD).encode()))
        store.invalidate()  # the client does this with discovery after a miss
        problems = validate(store, _gizmo(size="huge", replicas=11, colour="red"),
                            field_validation="Strict")
        assert {(p.path, p.severity) for p in problems} == {
            ("spec.size", "error"), ("spec.replicas", "error"), ("spec.colour", "error")}
        assert validate(store, _gizmo(size="small", replicas=10.0)) == []
    finally:
        transport.close()


@pytest.mark.parametrize(("mode", "expected"), [("Strict", ["error"]), ("Warn", ["warning"]),
                                                ("Ignore", [])])
def test_unknown_fields_in_each_mode_against_the_embedded_server(
        embedded: Any, mode: str, expected: list[str]) -> None:
    transport = _server_transport(embedded)
    try:
        store = SchemaStore(transport, DiskCache(None))
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "bogus": 1}
        assert [p.severity for p in validate(store, obj, field_validation=mode)] == expected
    finally:
        transport.close()


def test_an_embedded_server_without_openapi_v3() -> None:
    from dynakube.testing import ApiServer

    server = ApiServer(openapi_v3=False)
    server.start()
    transport = Transport(ClusterConfig(server=server.url, token=server.token))
    try:
        store = SchemaStore(transport, DiskCache(None))
        with pytest.warns(SchemaWarning, match="no OpenAPI v3"):
            assert validate(store, _deployment()) == []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert validate(store, _deployment()) == []
    finally:
        transport.close()
        server.stop()
