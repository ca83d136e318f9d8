"""The review APIs answer for the embedded server's own tokens: TokenReview, SelfSubjectReview,
SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview and
LocalSubjectAccessReview, shaped as ``defaults/authentication.k8s.io/*`` and
``defaults/authorization.k8s.io/*`` of kinds.json recorded them."""

from __future__ import annotations

from typing import Any

import pytest
from rawhttp import RawKube, kinds_entry

from dynakube.testing import ApiServer

AUTHN = "/apis/authentication.k8s.io/v1"
AUTHZ = "/apis/authorization.k8s.io/v1"


@pytest.fixture
def k(kube_server: ApiServer) -> RawKube:
    return RawKube(kube_server)


def _access(verb: str, resource: str = "pods", namespace: str = "default") -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": namespace, "resource": resource,
                                            "verb": verb}}}


def _keys(obj: Any) -> Any:
    """The shape of a body: its keys, recursively (values aside)."""
    if isinstance(obj, dict):
        return {key: _keys(value) for key, value in obj.items() if key != "managedFields"}
    return type(obj).__name__


def test_token_review_knows_the_servers_tokens(k: RawKube, kube_server: ApiServer) -> None:
    def review(token: str) -> dict[str, Any]:
        answer = k("POST", AUTHN + "/tokenreviews", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token}})
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    admin = review(kube_server.token)["status"]
    assert admin["authenticated"] is True
    assert admin["user"]["username"] == "admin"
    assert "system:masters" in admin["user"]["groups"]
    assert review(kube_server.forbidden_token)["status"]["user"]["username"] == "readonly"
    unknown = review("not-a-real-token")
    wanted = kinds_entry("defaults/authentication.k8s.io/v1/tokenreviews")["body"]
    assert unknown["status"] == wanted["status"]
    assert _keys(unknown) == _keys(wanted)


def test_token_review_audiences(k: RawKube, kube_server: ApiServer) -> None:
    """The review's audiences (the server's own when none are asked) intersected with what
    the token is good for; a token good for none of them is an invalid bearer token."""
    from dynakube.apiserver.verbs.reviews import AUDIENCE

    def status(audiences: list[str] | None) -> dict[str, Any]:
        spec: dict[str, Any] = {"token": kube_server.token}
        if audiences is not None:
            spec["audiences"] = audiences
        answer = k("POST", AUTHN + "/tokenreviews", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec})
        assert answer.status_code == 201, answer.text
        return answer.json()["status"]  # type: ignore[no-any-return]

    assert status(None)["audiences"] == [AUDIENCE]
    assert status(["https://elsewhere.example", AUDIENCE])["audiences"] == [AUDIENCE]
    assert status([AUDIENCE, AUDIENCE])["audiences"] == [AUDIENCE]  # an intersection: once
    assert status(["https://elsewhere.example"]) == {"error": "invalid bearer token",
                                                     "user": {}}


def test_self_subject_review_is_the_caller(k: RawKube, kube_server: ApiServer) -> None:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    answer = k("POST", AUTHN + "/selfsubjectreviews", body)
    assert answer.status_code == 201
    wanted = kinds_entry("defaults/authentication.k8s.io/v1/selfsubjectreviews")["body"]
    assert answer.json()["status"] == wanted["status"]
    assert _keys(answer.json()) == _keys(wanted)
    readonly = RawKube(kube_server, kube_server.forbidden_token)
    assert readonly("POST", AUTHN + "/selfsubjectreviews", body).json()["status"][
        "userInfo"]["username"] == "readonly"


def test_self_subject_access_review(k: RawKube, kube_server: ApiServer) -> None:
    answer = k("POST", AUTHZ + "/selfsubjectaccessreviews", _access("get"))
    assert answer.status_code == 201
    wanted = kinds_entry("defaults/authorization.k8s.io/v1/selfsubjectaccessreviews")["body"]
    assert answer.json()["status"] == {"allowed": True} == wanted["status"]
    assert _keys(answer.json()) == _keys(wanted)
    admin_write = k("POST", AUTHZ + "/selfsubjectaccessreviews", _access("delete", "nodes"))
    assert admin_write.json()["status"]["allowed"] is True
    readonly = RawKube(kube_server, kube_server.forbidden_token)
    can = readonly("POST", AUTHZ + "/selfsubjectaccessreviews", _access("list"))
    assert can.json()["status"]["allowed"] is True
    cannot = readonly("POST", AUTHZ + "/selfsubjectaccessreviews", _access("create"))
    assert cannot.status_code == 201 and cannot.json()["status"]["allowed"] is False
    neither = k("POST", AUTHZ + "/selfsubjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {}})
    assert neither.status_code == 422


def test_subject_access_reviews_answer_for_named_users(k: RawKube) -> None:
    alice = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
             "spec": {"resourceAttributes": {"resource": "nodes", "verb": "list"},
                      "user": "alice"}}
    answer = k("POST", AUTHZ + "/subjectaccessreviews", alice)
    wanted = kinds_entry("defaults/authorization.k8s.io/v1/subjectaccessreviews")["body"]
    assert answer.json()["status"] == wanted["status"] == {"allowed": False}
    assert _keys(answer.json()) == _keys(wanted)
    alice["spec"]["groups"] = ["system:masters"]
    assert k("POST", AUTHZ + "/subjectaccessreviews", alice).json()["status"]["allowed"]
    local = {"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview",
             "metadata": {"namespace": "default"},
             "spec": {"resourceAttributes": {"namespace": "default", "resource": "pods",
                                             "verb": "get"}, "user": "alice"}}
    answer = k("POST", "/apis/authorization.k8s.io/v1/namespaces/default/"
                       "localsubjectaccessreviews", local)
    assert answer.status_code == 201
    assert answer.json()["metadata"]["namespace"] == "default"
    assert answer.json()["status"] == {"allowed": False}


def test_self_subject_rules_review(k: RawKube, kube_server: ApiServer) -> None:
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": "default"}}
    answer = k("POST", AUTHZ + "/selfsubjectrulesreviews", body)
    wanted = kinds_entry("defaults/authorization.k8s.io/v1/selfsubjectrulesreviews")["body"]
    assert answer.json()["status"] == wanted["status"]
    assert answer.json()["spec"] == wanted["spec"]
    readonly = RawKube(kube_server, kube_server.forbidden_token)
    rules = readonly("POST", AUTHZ + "/selfsubjectrulesreviews", body).json()["status"]
    assert rules["resourceRules"][0] == {"apiGroups": ["*"], "resources": ["*"],
                                         "verbs": ["get", "list", "watch"]}
