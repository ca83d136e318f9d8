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
    "unsupported_media_type",
    "expired",
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


def unsupported_media_type(accepted: list[str]) -> StatusError:
    return _error(415, "UnsupportedMediaType",
                  "the body of the request was in an unknown format - accepted media types "
                  "include: " + ", ".join(accepted))


def expired(message: str, **metadata: Any) -> StatusError:
    return _error(410, "Expired", message, None, **metadata)
