"""The authentication and authorization review APIs, answered for the server's own tokens.

``kubectl auth whoami`` (SelfSubjectReview), ``kubectl auth can-i`` (SelfSubjectAccessReview,
SelfSubjectRulesReview) and webhook-style checks (TokenReview, SubjectAccessReview) work as on
a cluster whose admin is ``system:masters``: the server's token is ``admin`` and may do
everything; the read-only ``forbidden_token`` of the fault controls may get, list and watch
only; anyone else may do nothing. Reviews are answered, never stored (``201``).
"""

from __future__ import annotations

from typing import Any

from ..call import USERS, Call, Reply
from ..objects import Obj, canonical, check_type_meta, decode_body, deep_copy, now_rfc3339
from ..rules import validating
from ..status import bad_request, cause, invalid
from .crud import Api

__all__ = ["AUDIENCE", "USERS", "review", "allowed"]

AUDIENCE = "https://kubernetes.default.svc.cluster.local"
_READ_VERBS = ("get", "list", "watch")
_SELF_RULES = [
    {"apiGroups": ["authorization.k8s.io"],
     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
    {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"],
     "verbs": ["create"]},
]
_PUBLIC_URLS = [
    {"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
     "verbs": ["get"]},
    {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                         "/openapi/*", "/readyz", "/version", "/version/"], "verbs": ["get"]},
]
_WELL_KNOWN = {"nonResourceURLs": ["/.well-known", "/.well-known/*"], "verbs": ["get"]}


def allowed(username: str | None, groups: list[str], attributes: dict[str, Any]) -> bool:
    """Whether the user may do what ``attributes`` (resource or non-resource) describe."""
    if "system:masters" in groups or username == "admin":
        return True
    if username == "readonly":
        return str(attributes.get("verb", "")) in _READ_VERBS
    return False


def _attributes(spec: dict[str, Any], kind: str) -> dict[str, Any]:
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if (resource is None) == (non_resource is None):
        raise invalid(kind, "", [cause(
            "spec.resourceAttributes", "FieldValueInvalid",
            'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes '
            "must be specified")], "authorization.k8s.io")
    chosen = resource if resource is not None else non_resource
    return dict(chosen) if isinstance(chosen, dict) else {}


def _rules(user: str) -> dict[str, Any]:
    if user == "admin":
        return {"incomplete": False,
                "nonResourceRules": [*_PUBLIC_URLS, {"nonResourceURLs": ["*"], "verbs": ["*"]},
                                     _WELL_KNOWN],
                "resourceRules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                  *_SELF_RULES]}
    read = [{"apiGroups": ["*"], "resources": ["*"], "verbs": list(_READ_VERBS)}] \
        if user == "readonly" else []
    return {"incomplete": False, "nonResourceRules": [*_PUBLIC_URLS, _WELL_KNOWN],
            "resourceRules": [*read, *_SELF_RULES]}


def review(api: Api, call: Call) -> Reply:
    """Answer a ``create`` of one of the six review kinds."""
    spec = call.spec
    obj: Obj = decode_body(call.body, spec, unrecognized=True)
    check_type_meta(obj, spec, call.body)
    warnings = validating.check_fields(obj, spec, call.query.get("fieldValidation"), api,
                                       call.body)
    caller = call.user or "admin"
    raw_spec = obj.get("spec")
    body: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    meta: dict[str, Any] = {}
    if spec.namespaced:
        meta["namespace"] = call.namespace
    answer: Obj = {"apiVersion": spec.api_version, "kind": spec.kind, "metadata": meta}
    if spec.kind == "SelfSubjectReview":
        meta["creationTimestamp"] = now_rfc3339()
        answer["status"] = {"userInfo": deep_copy(USERS[caller])}
        return Reply(201, canonical(answer), warnings=warnings)
    if spec.kind == "SelfSubjectRulesReview":
        answer["spec"] = {}
        answer["status"] = _rules(caller)
        return Reply(201, canonical(answer), warnings=warnings)
    answer["spec"] = body
    status: dict[str, Any]
    if spec.kind == "TokenReview":
        token = body.get("token")
        if not token:
            raise bad_request("token is required for TokenReview in authentication")
        user = call.authenticate(str(token)) if call.authenticate else None
        # the server's tokens are audience-agnostic: good for the server's own audiences
        # only, so the answer names their intersection with the asked ones (in the server's
        # order, once each); none in common is an unauthenticated token
        asked = body.get("audiences") or [AUDIENCE]
        audiences = [AUDIENCE] if isinstance(asked, list) and AUDIENCE in asked else []
        status = {"authenticated": True, "user": deep_copy(USERS[user]),
                  "audiences": audiences} if user in USERS and audiences else \
            {"error": "invalid bearer token", "user": {}}
    elif spec.kind == "SelfSubjectAccessReview":
        info = USERS[caller]
        status = {"allowed": allowed(info["username"], info["groups"],
                                     _attributes(body, spec.kind))}
    else:  # SubjectAccessReview, LocalSubjectAccessReview
        attributes = _attributes(body, spec.kind)
        groups = [str(g) for g in body.get("groups") or []]
        if not body.get("user") and not groups:
            raise invalid(spec.kind, "", [cause(
                "spec.user", "FieldValueInvalid",
                'Invalid value: "": at least one of user or group must be specified')],
                "authorization.k8s.io")
        if spec.namespaced and attributes.get("namespace") != call.namespace:
            raise invalid(spec.kind, "", [cause(
                "spec.resourceAttributes.namespace", "FieldValueInvalid",
                f'Invalid value: "{attributes.get("namespace", "")}": must match '
                "metadata.namespace")], "authorization.k8s.io")
        status = {"allowed": allowed(body.get("user"), groups, attributes)}
    validating.manage_fields(None, answer, spec, call, "Update")
    answer["status"] = status
    return Reply(201, canonical(answer), warnings=warnings)
