"""Requests as values: built by pure functions, sent in one place (the transport).

Keeping URL building, query parameters and body encoding free of I/O means every verb's exact
wire form can be unit-tested (and golden-filed) without a socket.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from ._record import Record
from .errors import InvalidArgumentError

__all__ = [
    "ApiRequest",
    "Sender",
    "JSON",
    "PATCH_CONTENT_TYPES",
    "api_prefix",
    "resource_path",
    "check_name",
    "encode_body",
    "query_pairs",
]

JSON = "application/json"

PATCH_CONTENT_TYPES = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


class ApiRequest(Record):
    """One HTTP request to the API server, relative to the server URL."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @property
    def target(self) -> str:
        """The path with its query string, as it goes on the request line."""
        return self.path + ("?" + urlencode(self.query) if self.query else "")


class Sender(Protocol):
    """What sends an :class:`ApiRequest`: the one seam between dynakube and the network.

    ``dynakube.transport.http.Transport`` is one; ``Client(transport=...)`` takes any other
    (a recorder wrapping the real one, a fake). It raises ``dynakube.errors`` for error
    answers and returns a response with ``json()``, ``content``, ``headers`` and, when
    ``stream`` is true, ``iter_lines()``, ``iter_chunks()`` (followed logs) and ``close()``.
    """

    def send(self, request: ApiRequest, *, stream: bool = False,
             read_timeout: float | None = None) -> Any: ...


def check_name(value: Any, what: str = "name") -> str:
    """Refuse names that would change the URL's meaning, before any request is sent.

    The server would reject them anyway, but ``a/b`` or ``..`` could address a different
    object than the caller meant, so they never reach the wire.
    """
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{what} must be a non-empty string, got {value!r}")
    if value in (".", "..") or "/" in value or "%" in value:
        raise InvalidArgumentError(
            f"{what} {value!r} may not be '.' or '..' nor contain '/' or '%'"
        )
    return value


def api_prefix(group: str, version: str) -> str:
    """``/api/v1`` for the core group, ``/apis/<group>/<version>`` otherwise."""
    return f"/api/{version}" if not group else f"/apis/{group}/{version}"


def resource_path(
    group: str,
    version: str,
    plural: str,
    *,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The path client-go builds: prefix, namespace, resource, name, subresource last."""
    parts = [api_prefix(group, version)]
    if namespace is not None:
        parts.append("namespaces/" + quote(check_name(namespace, "namespace"), safe=""))
    parts.append(plural)
    if name is not None:
        parts.append(quote(check_name(name), safe=""))
    if subresource:
        if name is None:
            raise InvalidArgumentError(f"subresource {subresource!r} needs an object name")
        parts.append(subresource)
    return "/".join(parts)


def encode_body(body: Any) -> bytes:
    """JSON-encode a request body compactly (what the server parses fastest).

    A value JSON cannot carry (a ``datetime``, a ``set``, ``NaN``) is refused here, before
    anything is sent: the server could only answer with a decoding error far from the cause.
    """
    if isinstance(body, bytes):
        return body
    try:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"the request body is not JSON: {e}; use only dicts, "
                                   "lists, strings, numbers, booleans and None") from e
    return text.encode("utf-8")


def query_pairs(
    params: Mapping[str, Any] | Iterable[tuple[str, Any]],
) -> tuple[tuple[str, str], ...]:
    """Drop ``None`` values and render booleans as the API expects (``true``/``false``)."""
    items = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, str]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append((key, str(value)))
    return tuple(out)
