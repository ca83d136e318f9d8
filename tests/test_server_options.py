"""Request options, methods, media types and decode errors, answered as kube-apiserver 1.36.

Every ``options/*`` entry of ``../shared/k8s-api/v1.36/kinds.json`` is replayed against the
embedded server (set up with the objects the recording script had made) and must get the same
status, reason, message and causes. A few checks without the recordings follow, so that a
fresh clone still tests the wire.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rawhttp import CM, SHARED, RawKube, configmap

from dynakube.testing import ApiServer

KINDS_JSON = SHARED / "v1.36" / "kinds.json"
NS = "/api/v1/namespaces/kinds"


def _options_entries() -> list[tuple[str, dict[str, Any]]]:
    if not KINDS_JSON.is_file():
        return []
    kinds = json.loads(KINDS_JSON.read_text())
    return [(key, entry) for key, entry in kinds.items() if key.startswith("options/")]


ENTRIES = _options_entries()


@pytest.fixture(scope="module")
def setup() -> Any:
    """A server holding what the recording script had made before its ``options`` calls."""
    with ApiServer() as server:
        k = RawKube(server)
        k.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": "kinds"}})
        k.create(NS + "/configmaps", configmap("rich", {"unconditional": "yes"}))
        immutable = configmap("immutable", {"k": "v"}, labels={"metadata": "changes-allowed"})
        k.create(NS + "/configmaps", dict(immutable, immutable=True))
        k.create(NS + "/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rich"},
                                "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
        yield k


def _send(k: RawKube, request: dict[str, Any]) -> Any:
    body = request.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    headers = {"Accept": request.get("accept") or "application/json"}
    if request.get("contentType"):
        headers["Content-Type"] = request["contentType"]
    return k.s.request(request["method"], k.url + request["path"], params=request["query"],
                       data=body, headers=headers)


@pytest.mark.skipif(not ENTRIES, reason="../shared/k8s-api is not available")
@pytest.mark.parametrize(("key", "entry"), ENTRIES, ids=[key for key, _ in ENTRIES])
def test_recorded_option_answers(setup: RawKube, key: str, entry: dict[str, Any]) -> None:
    answer = _send(setup, entry["request"])
    assert answer.status_code == entry["status"], answer.text
    wanted = entry["body"]
    if isinstance(wanted, str):  # the plain-text 404, or YAML
        assert answer.headers["Content-Type"] == entry["headers"]["Content-Type"]
        if entry["headers"]["Content-Type"].startswith("text/plain"):
            assert answer.text == wanted
        return
    got = answer.json()
    assert got["kind"] == wanted["kind"]
    if wanted["kind"] != "Status":
        return
    for field in ("status", "reason", "message", "code"):
        assert got.get(field) == wanted.get(field), field
    assert (got.get("details") or {}).get("causes") == (wanted.get("details") or {}).get(
        "causes")
    if "details" in wanted and "uid" not in wanted["details"]:
        assert got.get("details") == wanted["details"]


# -- without the recordings ------------------------------------------------------------------


@pytest.fixture
def k(kube_server: ApiServer) -> RawKube:
    return RawKube(kube_server)


def _invalid_option(answer: Any, kind: str, field: str) -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert (body["reason"], body["details"]["kind"], body["details"]["group"]) == (
        "Invalid", kind, "meta.k8s.io")
    assert [c["field"] for c in body["details"]["causes"]] == [field]
    return body  # type: ignore[no-any-return]


def test_dry_run_must_be_all_and_nothing_is_created(k: RawKube) -> None:
    body = _invalid_option(k("POST", CM, configmap("maybe"), dryRun="Yes"), "CreateOptions",
                           "dryRun")
    assert body["message"] == ('CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported '
                               'value: ["Yes"]: supported values: "All"')
    assert k.get(CM + "/maybe").status_code == 404
    k.create(CM, configmap("there"))
    _invalid_option(k("DELETE", CM + "/there", dryRun="yes"), "DeleteOptions", "dryRun")
    _invalid_option(k("PUT", CM + "/there", configmap("there"), dryRun="true"),
                    "UpdateOptions", "dryRun")
    assert k.get(CM + "/there").status_code == 200


def test_force_only_on_apply_and_field_validation_values(k: RawKube) -> None:
    k.create(CM, configmap("f"))
    body = _invalid_option(k("PATCH", CM + "/f", {"data": {"a": "b"}},
                             ctype="application/merge-patch+json", force="false"),
                           "PatchOptions", "force")
    assert body["details"]["causes"][0]["message"] == ("Forbidden: may not be specified for "
                                                       "non-apply patch")
    _invalid_option(k("POST", CM, configmap("g"), fieldValidation="strict"), "CreateOptions",
                    "fieldValidation")
    applied = k("PATCH", CM + "/h", {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "h"}},
                ctype="application/apply-patch+yaml", fieldManager="me", force="true")
    assert applied.status_code == 201, applied.text


def test_an_apply_body_needs_its_api_version(k: RawKube) -> None:
    answer = k("PATCH", CM + "/x", {"kind": "ConfigMap", "metadata": {"name": "x"}},
               ctype="application/apply-patch+yaml", fieldManager="me")
    assert answer.status_code == 400
    assert answer.json()["message"] == ("Incorrect version specified in apply patch. Specified "
                                        "patch version: , expected: v1")
    assert k.get(CM + "/x").status_code == 404


def test_methods_not_allowed_and_json_404s(k: RawKube) -> None:
    for method, path in (("POST", CM + "/item"), ("PUT", CM), ("PATCH", CM),
                         ("GET", "/api/v1/namespaces/default/bindings"),
                         ("GET", "/apis/authentication.k8s.io/v1/tokenreviews"),
                         ("DELETE", "/api/v1/namespaces")):
        answer = k(method, path, {})
        assert answer.status_code == 405, (method, path, answer.text)
        assert answer.json()["reason"] == "MethodNotAllowed"
        assert answer.json()["details"] == {}
    for path in ("/apis/apps/v9/deployments", "/api/v1/namespaces/default/gizmos",
                 CM + "/x/bogus", "/api/v1/namespaces/default/pods/p/log-not"):
        answer = k.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["message"] == "the server could not find the requested resource"
    assert k.get("/apis/nothing.example.com/v1/things").text == "404 page not found\n"


def test_not_acceptable(k: RawKube) -> None:
    k.create(CM, configmap("one"))
    answer = k.get(CM + "/one", accept="application/xml")
    assert (answer.status_code, answer.json()["reason"]) == (406, "NotAcceptable")
    listed = k.get(CM, accept="application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,"
                              "application/json")
    assert listed.status_code == 406
    assert listed.json()["message"] == ("you requested PartialObjectMetadata, but the requested "
                                        "object is a list (*core.ConfigMapList)")
    one = k.get(CM + "/one", accept="application/json;as=PartialObjectMetadataList;v=v1;"
                                    "g=meta.k8s.io")
    assert one.status_code == 406
    assert one.json()["message"] == ("you requested PartialObjectMetadataList, but the "
                                     "requested object is not a list (*core.ConfigMap)")
    # %T names the internal type: events.k8s.io Events are core Events inside the server
    events = k.get("/apis/events.k8s.io/v1/namespaces/default/events",
                   accept="application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io")
    assert events.json()["message"].endswith("is a list (*core.EventList)")
    yaml_answer = k.get(CM + "/one", accept="application/yaml")
    assert yaml_answer.headers["Content-Type"] == "application/yaml"
    assert "name: one" in yaml_answer.text


@pytest.mark.parametrize("include", ["PartialObjectMetadata", "metadata", "All"])
def test_table_include_object_is_validated(k: RawKube, include: str) -> None:
    answer = k.get(CM, accept="application/json;as=Table;v=v1;g=meta.k8s.io",
                   includeObject=include)
    assert answer.status_code == 400
    assert answer.json()["message"] == (f'includeObject: Invalid value: "{include}": must be '
                                        "'Metadata', 'Object', 'None', or empty")


@pytest.mark.parametrize("include", ["Metadata", "Object", "None", ""])
def test_table_include_object_accepted_values(k: RawKube, include: str) -> None:
    answer = k.get(CM, accept="application/json;as=Table;v=v1;g=meta.k8s.io",
                   includeObject=include)
    assert answer.status_code == 200, answer.text


def test_decode_errors_in_go_words(k: RawKube) -> None:
    answer = k("POST", CM, '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 1,}}')
    assert answer.status_code == 400
    assert answer.json()["message"] == (
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
        "version/kind; json parse error: invalid character '}' looking for beginning of object "
        'key string ({"apiVersion": "v1", "kind": " ...)')
    answer = k("PATCH", CM + "/x", {"data": {}}, ctype="text/plain")
    assert (answer.status_code, answer.json()["message"]) == (415, "415: Unsupported Media Type")


def test_list_options(k: RawKube) -> None:
    answer = k.get(CM, **{"continue": "garbage", "limit": "1"})
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("invalid continue token: continue key is not "
                                               "valid: ")
    assert k.get(CM, timeoutSeconds="soon").status_code == 400
    answer = k.get(CM, fieldSelector="data.a=1")
    assert answer.json()["message"] == ('"data.a" is not a known field selector: only '
                                        '"metadata.name", "metadata.namespace"')
    assert k.get("/api/v1/pods", fieldSelector="status.phase=Pending").status_code == 200


def test_secret_data_base64_may_be_wrapped(k: RawKube) -> None:
    wrapped = "aGVsbG8g\nd29ybGQ=\n"
    answer = k("POST", "/api/v1/namespaces/default/secrets",
               {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                "data": {"greeting": wrapped}})
    assert answer.status_code == 201, answer.text
    assert answer.json()["data"] == {"greeting": "aGVsbG8gd29ybGQ="}
