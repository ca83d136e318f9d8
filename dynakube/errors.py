"""The exception tree: everything dynakube raises is a ``DynakubeError``.

Server answers are mapped to classes in one place (:func:`error_from_response`), keeping the
server's ``Status`` body, so callers can ``except NotFoundError`` instead of comparing codes.
Raw ``requests``/``yaml``/``jsonschema`` exceptions never escape; they are chained with ``from``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._record import Record

__all__ = [
    "DynakubeError",
    "ConfigError",
    "TransportError",
    "InvalidArgumentError",
    "ApiError",
    "BadRequestError",
    "UnauthorizedError",
    "ForbiddenError",
    "NotFoundError",
    "MethodNotAllowedError",
    "AlreadyExistsError",
    "ConflictError",
    "GoneError",
    "ResourceVersionTooLargeError",
    "UnsupportedMediaTypeError",
    "InvalidError",
    "TooManyRequestsError",
    "ServerError",
    "DiscoveryError",
    "UnknownResourceError",
    "AmbiguousResourceError",
    "Problem",
    "ValidationError",
    "ApplyError",
    "error_from_response",
    "ManifestError",
    "UnsupportedError",
    "WaitTimeoutError",
    "DynakubeWarning",
    "ServerWarning",
    "InsecureTLSWarning",
    "DiscoveryWarning",
    "ValidationWarning",
    "SchemaWarning",
    "ManifestWarning",
]

_MAX_TEXT = 500


class DynakubeError(Exception):
    """Root of every exception dynakube raises."""


class DynakubeWarning(UserWarning):
    """Root of the warnings dynakube emits (filter them with this class)."""


class ServerWarning(DynakubeWarning):
    """A ``Warning`` header from the API server (deprecations, unknown fields...)."""


class InsecureTLSWarning(DynakubeWarning):
    """TLS verification is off (``insecure-skip-tls-verify``)."""


class DiscoveryWarning(DynakubeWarning):
    """Part of the server could not be discovered (an aggregated API server is down)."""


class ValidationWarning(DynakubeWarning):
    """A schema problem that does not stop the request (an unknown field in ``Warn`` mode...)."""


class SchemaWarning(ValidationWarning):
    """Client-side schema validation could not run (the server publishes no OpenAPI v3...)."""


class ManifestWarning(DynakubeWarning):
    """A manifest loads, but not as written reads (a key given twice: the last one wins)."""


class ConfigError(DynakubeError):
    """A kubeconfig or in-cluster configuration that cannot be used; says what to fix."""


class TransportError(DynakubeError):
    """The request never got an HTTP answer: connection refused or reset, TLS failure, timeout."""


class InvalidArgumentError(DynakubeError, ValueError):
    """A call's arguments are wrong (a bad name, a namespace for a cluster-scoped resource...).

    Raised before any request is sent.
    """


class UnsupportedError(DynakubeError):
    """The server does not do what was asked: it refused the WebSocket upgrade of exec,
    attach or port-forward (answered without switching protocols, or agreed on none of the
    offered subprotocols)."""


class WaitTimeoutError(DynakubeError, TimeoutError):
    """A wait's timeout passed before its condition held; the message names both."""


class ManifestError(InvalidArgumentError):
    """A manifest document cannot be loaded (bad YAML, too many aliases or nodes).

    ``source`` names the document (``file.yaml#3``), counted from 1 as ``---`` separates them.
    """

    def __init__(self, source: str, message: str):
        self.source = source
        super().__init__(f"{source}: {message}")


class ApiError(DynakubeError):
    """The server answered with an error; ``status`` is its ``Status`` body (or a stand-in)."""

    def __init__(self, code: int, status: Mapping[str, Any], *, text: str | None = None):
        self.code = code
        self.status: dict[str, Any] = dict(status)
        self.reason: str = str(self.status.get("reason") or "")
        self.message: str = str(self.status.get("message") or text or f"HTTP {code}")
        details = self.status.get("details")
        self.details: dict[str, Any] = dict(details) if isinstance(details, Mapping) else {}
        causes = self.details.get("causes")
        self.causes: list[dict[str, Any]] = list(causes) if isinstance(causes, list) else []
        self.text = text
        super().__init__(self._describe())

    def _describe(self) -> str:
        prefix = f"{self.code} {self.reason}" if self.reason else str(self.code)
        return f"{prefix}: {self.message}"


class BadRequestError(ApiError):
    """400: the request was malformed (bad selector, undecodable body, strict unknown field)."""


class UnauthorizedError(ApiError):
    """401: the credentials were missing, wrong or expired."""


class ForbiddenError(ApiError):
    """403: authenticated, but not allowed to do this."""


class NotFoundError(ApiError):
    """404: the object (or the resource itself) does not exist."""


class MethodNotAllowedError(ApiError):
    """405: the resource does not support this verb."""


class ConflictError(ApiError):
    """409: a stale resourceVersion, a failed precondition, or an apply conflict."""


class AlreadyExistsError(ConflictError):
    """409 AlreadyExists: create of a name that is taken."""


class GoneError(ApiError):
    """410 / Expired: the resourceVersion or continue token is too old; relist."""


class ResourceVersionTooLargeError(GoneError):
    """504 ResourceVersionTooLarge, or a resourceVersion seen to go backwards.

    The server is behind the resourceVersion asked for: it was restored from a backup, its
    etcd was replaced, or it restarted empty. Retrying cannot help; like ``GoneError`` (its
    base, so ``except GoneError`` handlers relist) only a fresh list recovers.
    """


class UnsupportedMediaTypeError(ApiError):
    """415: e.g. a strategic merge patch sent to a custom resource."""


class InvalidError(ApiError):
    """422 Invalid: the object failed the server's validation; see ``causes``."""


class TooManyRequestsError(ApiError):
    """429: throttled by the server (after the client's own retries ran out)."""


class ServerError(ApiError):
    """5xx: the server failed; usually worth retrying later."""


_BY_REASON: dict[str, type[ApiError]] = {
    "BadRequest": BadRequestError,
    "Unauthorized": UnauthorizedError,
    "Forbidden": ForbiddenError,
    "NotFound": NotFoundError,
    "MethodNotAllowed": MethodNotAllowedError,
    "AlreadyExists": AlreadyExistsError,
    "Conflict": ConflictError,
    "Gone": GoneError,
    "Expired": GoneError,
    "UnsupportedMediaType": UnsupportedMediaTypeError,
    "Invalid": InvalidError,
    "TooManyRequests": TooManyRequestsError,
    "InternalError": ServerError,
    "ServiceUnavailable": ServerError,
    "ServerTimeout": ServerError,
    "Timeout": ServerError,
}

_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    410: GoneError,
    415: UnsupportedMediaTypeError,
    422: InvalidError,
    429: TooManyRequestsError,
}


def error_from_response(code: int, body: bytes | str | Mapping[str, Any] | None) -> ApiError:
    """Map an error answer (status code and body) to the matching ``ApiError`` subclass.

    The class is chosen by the ``Status`` reason first, then by the code; a body that is not
    a ``Status`` (a plain-text 404 from an unknown path, an HTML proxy page) still gets the
    class for its code, with the text kept, truncated.
    """
    status: Mapping[str, Any] | None = None
    text: str | None = None
    if isinstance(body, Mapping):
        status = body
    elif body:
        raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = None
        if isinstance(decoded, Mapping) and decoded.get("kind") == "Status":
            status = decoded
        else:
            text = raw.strip()
            if len(text) > _MAX_TEXT:
                text = text[:_MAX_TEXT] + "..."
    if status is None:
        status = {"kind": "Status", "status": "Failure", "code": code, "message": text or ""}
    reason = str(status.get("reason") or "")
    cls = _BY_REASON.get(reason) or _BY_CODE.get(code)
    if _too_large(code, status):
        cls = ResourceVersionTooLargeError
    if cls is None:
        cls = ServerError if code >= 500 else ApiError
    return cls(code, status, text=text)


def _too_large(code: int, status: Mapping[str, Any]) -> bool:
    """kube-apiserver's "Too large resource version": by cause, or by message (older ones)."""
    details = status.get("details")
    causes = details.get("causes") if isinstance(details, Mapping) else None
    if isinstance(causes, list) and any(
            isinstance(c, Mapping) and c.get("reason") == "ResourceVersionTooLarge"
            for c in causes):
        return True
    return code == 504 and "Too large resource version" in str(status.get("message") or "")


class DiscoveryError(DynakubeError):
    """Discovery could not produce any usable answer from the server."""


class UnknownResourceError(DynakubeError, LookupError):
    """No served resource matches the name; ``suggestions`` holds close matches."""

    def __init__(self, name: str, suggestions: Sequence[str] = ()):
        self.name = name
        self.suggestions = list(suggestions)
        msg = f"the server does not serve a resource called {name!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(msg)


class AmbiguousResourceError(DynakubeError, LookupError):
    """A name matches resources in several groups; ``candidates`` lists them fully qualified."""

    def __init__(self, name: str, candidates: Sequence[str]):
        self.name = name
        self.candidates = list(candidates)
        super().__init__(
            f"{name!r} is ambiguous: it matches " + ", ".join(self.candidates)
            + "; qualify it with the group (for example " + repr(self.candidates[0]) + ")"
        )


class Problem(Record):
    """One schema problem found client-side, with a path as people write it."""

    path: str
    message: str
    expected: str | None = None
    found: str | None = None
    suggestion: str | None = None
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = self.path or "(root)"
        text = f"{where}: {self.message}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text


class ValidationError(DynakubeError):
    """Client-side validation found problems before anything was sent."""

    def __init__(self, problems: Sequence[Problem], *, kind: str | None = None,
                 name: str | None = None, source: str | None = None):
        self.problems = list(problems)
        self.kind = kind
        self.name = name
        self.source = source
        subject = " ".join(p for p in (kind, repr(name) if name else None) if p) or "object"
        where = f" ({source})" if source else ""
        lines = [f"{subject}{where} is invalid: {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class _Failure:
    __slots__ = ("source", "error")

    def __init__(self, source: str, error: DynakubeError):
        self.source, self.error = source, error


class ApplyError(DynakubeError):
    """Some documents of a multi-document apply failed; ``failures`` lists each failed
    document's ``source`` (``file.yaml#2``) with its ``error``, in the order they failed.

    ``results`` holds what was applied successfully, so nothing done is lost from view.
    """

    def __init__(self, failures: Sequence[tuple[str, DynakubeError]],
                 results: Sequence[Any] = ()):
        self.failures = [_Failure(s, e) for s, e in failures]
        self.results = list(results)
        lines = [f"{len(self.failures)} document(s) failed to apply:"]
        lines += [f"  - {f.source}: {f.error}" for f in self.failures]
        super().__init__("\n".join(lines))
