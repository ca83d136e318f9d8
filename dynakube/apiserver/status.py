"""``Status`` answers of the embedded API server, worded as kube-apiserver words them.

Every failure the server sends is a :class:`StatusError` raised from wherever it is detected
and turned into an HTTP answer in one place, so codes, reasons and messages stay consistent.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "StatusError",
    "status_body",
    "success_body",
    "bad_request",
    "not_found",
    "already_exists",
    "conflict",
    "invalid",
    "cause",
    "forbidden",
    "unauthorized",
    "method_not_allowed",
    "resource_not_found",
    "not_acceptable",
    "route_unsupported_media_type",
    "options_invalid",
    "unsupported_media_type",
    "expired",
    "too_large_resource_version",
    "PlainNotFound",
]


class StatusError(Exception):
    """An error answer: HTTP ``code`` and the ``Status`` body to send."""

    def __init__(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        self.code = code
        self.body = body
        self.headers = headers or {}
        super().__init__(body.get("message", ""))


class PlainNotFound(Exception):
    """The path is not served at all: the plain-text ``404 page not found``."""


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None,
                **metadata: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": dict(metadata),
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def success_body(details: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


def _error(code: int, reason: str, message: str, details: dict[str, Any] | None = None,
           **metadata: Any) -> StatusError:
    return StatusError(code, status_body(code, reason, message, details, **metadata))


def bad_request(message: str) -> StatusError:
    return _error(400, "BadRequest", message)


def _about(resource: str, name: str, group: str) -> tuple[str, dict[str, Any]]:
    """``resource.group`` and the ``details`` naming one object, in the real server's order."""
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = resource
    return (f"{resource}.{group}" if group else resource), details


def not_found(resource: str, name: str, group: str = "") -> StatusError:
    qualified, details = _about(resource, name, group)
    return _error(404, "NotFound", f'{qualified} "{name}" not found', details)


def already_exists(resource: str, name: str, group: str = "") -> StatusError:
    qualified, details = _about(resource, name, group)
    return _error(409, "AlreadyExists", f'{qualified} "{name}" already exists', details)


def conflict(resource: str, name: str, why: str, group: str = "") -> StatusError:
    qualified, details = _about(resource, name, group)
    return _error(409, "Conflict", f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
                  details)


def cause(field: str, reason: str, message: str) -> dict[str, str]:
    return {"reason": reason, "message": message, "field": field}


def invalid(kind: str, name: str, causes: list[dict[str, str]], group: str = "") -> StatusError:
    """``422 Invalid`` listing ``causes`` (each from :func:`cause`)."""
    qualified = f"{kind}.{group}" if group else kind
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    parts = list(dict.fromkeys(parts))  # ErrorList.ToAggregate drops repeated messages
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: dict[str, Any] = {"name": name} if name else {}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = causes
    return _error(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details)


def forbidden(message: str, details: dict[str, Any]) -> StatusError:
    return _error(403, "Forbidden", message, details)


def unauthorized() -> StatusError:
    return _error(401, "Unauthorized", "Unauthorized")


def method_not_allowed() -> StatusError:
    return _error(405, "MethodNotAllowed",
                  "the server does not allow this method on the requested resource", {})


def resource_not_found() -> StatusError:
    """The JSON ``404`` a built-in group answers for an unknown version, resource or
    subresource (only an unknown group gets the plain-text one)."""
    return _error(404, "NotFound", "the server could not find the requested resource", {})


def not_acceptable(message: str) -> StatusError:
    """``406``: the object cannot be served in the representation asked for."""
    return _error(406, "NotAcceptable", message, {})


def route_unsupported_media_type() -> StatusError:
    """The ``415`` of a built-in route whose ``Content-Type`` matches none it consumes (the
    route matcher answers before any handler, so it names no accepted types)."""
    return _error(415, "UnsupportedMediaType", "415: Unsupported Media Type", {})


def options_invalid(options_kind: str, causes: list[dict[str, str]]) -> StatusError:
    """``422`` for bad request options (``CreateOptions``, ``DeleteOptions``, ...)."""
    return invalid(options_kind, "", causes, "meta.k8s.io")


def unsupported_media_type(accepted: list[str]) -> StatusError:
    return _error(415, "UnsupportedMediaType",
                  "the body of the request was in an unknown format - accepted media types "
                  "include: " + ", ".join(accepted))


def expired(message: str, **metadata: Any) -> StatusError:
    return _error(410, "Expired", message, None, **metadata)


def too_large_resource_version(wanted: int, current: int) -> StatusError:
    """kube-apiserver's answer to a read from a resourceVersion its watch cache has not reached
    within 3 s (``storage.NewTooLargeResourceVersionError``: a ``Timeout``, retry in 1 s)."""
    return StatusError(504, status_body(
        504, "Timeout", f"Timeout: Too large resource version: {wanted}, current: {current}",
        {"causes": [{"reason": "ResourceVersionTooLarge",
                     "message": "Too large resource version"}], "retryAfterSeconds": 1}),
        {"Retry-After": "1"})
