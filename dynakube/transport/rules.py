"""What both transports do alike, as pure functions: the headers they send, how they read an
answer's ``Warning`` and ``Retry-After``, when they try again, and what their errors say.

The ``requests`` transport (:mod:`~dynakube.transport.http`) and the asyncio one
(:mod:`~dynakube.transport.asynchttp`) differ only in how bytes move; keeping these rules here
is what makes them one contract (``tests/test_transport_contract.py`` runs both).
"""

from __future__ import annotations

import random
import re
import ssl
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from urllib.parse import quote

from .._version import __version__
from ..config.cluster import ClusterConfig
from ..errors import ServerWarning

__all__ = [
    "USER_AGENT",
    "MAX_RETRY_AFTER_TRIES",
    "CONNECT_RETRIES",
    "MAX_ERROR_BODY",
    "Headers",
    "Retries",
    "WarningSink",
    "parse_warning_header",
    "retry_after",
    "impersonation_headers",
    "bad_header",
    "tls_reason",
    "root_cause",
]

USER_AGENT = "dynakube/{} python/{}.{}.{}".format(__version__, *sys.version_info[:3])
MAX_RETRY_AFTER_TRIES = 10  # as client-go's rest.Request
CONNECT_RETRIES = 3  # extra tries for a GET whose connection failed (not for a slow answer)
#: How much of an error answer is read: a Status is a few KiB; a proxy or a broken server may
#: send gigabytes, and the message shows only the start anyway.
MAX_ERROR_BODY = 1024 * 1024

# compiled on first use (re keeps it), not at import: most answers carry no Warning
_WARNING = r'\s*(\d{3})\s+(\S+)\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?\s*(?:,|$)'


def parse_warning_header(value: str) -> list[str]:
    """The texts of an RFC 7234 ``Warning`` header (``299 - "text"``, comma-separated)."""
    texts = []
    pos = 0
    warning = re.compile(_WARNING)
    while pos < len(value):
        match = warning.match(value, pos)
        if not match:
            break
        texts.append(re.sub(r"\\(.)", r"\1", match.group(3)))
        pos = match.end()
    return texts


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a ``Retry-After`` asks for (capped at a minute), or None without one."""
    value = (headers.get("Retry-After") or "").strip()
    if not value.isdigit():
        return None
    return float(min(int(value), 60))


class Headers(Mapping[str, str]):
    """Answer headers looked up by any case; repeated ones joined with ``, `` (as requests)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            key = name.lower()
            if key in self._items:
                value = self._items[key][1] + ", " + value
            self._items[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self._items.values())!r})"


class Retries:
    """One send's bookkeeping of the tries it made, and the rules for another one.

    Like client-go: a 401 re-fetches credentials once; a 429 or 5xx with ``Retry-After`` is
    waited out up to ten tries; only a GET whose connection failed or dropped is repeated
    (a TLS failure will fail again, and a read timeout means the server is slow: trying
    again would multiply the caller's timeout).
    """

    __slots__ = ("method", "reauthenticated", "retry_after_tries", "connect_tries")

    def __init__(self, method: str):
        self.method = method
        self.reauthenticated = False
        self.retry_after_tries = 0
        self.connect_tries = 0

    def reauthenticate(self, status: int, has_credentials: bool) -> bool:
        """Whether to refresh credentials and try again after this answer (once only)."""
        if status != 401 or self.reauthenticated or not has_credentials:
            return False
        self.reauthenticated = True
        return True

    def wait_for_answer(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Seconds to wait before trying again after an error answer, or None to raise."""
        delay = retry_after(headers) if status == 429 or status >= 500 else None
        if delay is None or self.retry_after_tries >= MAX_RETRY_AFTER_TRIES - 1:
            return None
        self.retry_after_tries += 1
        return delay

    def wait_for_connection(self, *, final: bool) -> float | None:
        """Seconds to wait before reconnecting after a failed connection, or None to raise.

        ``final``: the failure is one a repeat cannot fix (TLS, a read timeout).
        """
        self.connect_tries += 1
        if self.method != "GET" or self.connect_tries > CONNECT_RETRIES or final:
            return None
        return min(2.0, 0.1 * 2 ** self.connect_tries) * (0.5 + random.random())


class WarningSink:
    """Server warnings, surfaced once per transport: to the handler, else as ``warnings``."""

    def __init__(self, handler: Callable[[str], None] | None):
        self._handler = handler
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def headers(self, headers: Mapping[str, str], *, stacklevel: int) -> None:
        """Surface each text of an answer's ``Warning`` header (``stacklevel`` as
        ``warnings.warn`` counts it from :meth:`warn`, one frame below the caller)."""
        value = headers.get("Warning")
        if value:
            for text in parse_warning_header(value):
                self.warn(text, stacklevel=stacklevel)

    def warn(self, text: str, *, stacklevel: int) -> None:
        with self._lock:
            if text in self._seen:
                return
            self._seen.add(text)
        if self._handler is not None:
            self._handler(text)
        else:
            warnings.warn(text, ServerWarning, stacklevel=stacklevel)


def impersonation_headers(config: ClusterConfig
                          ) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """``Impersonate-*`` headers: the single-valued ones, and those repeated per value."""
    single: dict[str, str] = {}
    repeated: list[tuple[str, str]] = []
    if config.impersonate:
        single["Impersonate-User"] = config.impersonate
    if config.impersonate_uid:
        single["Impersonate-Uid"] = config.impersonate_uid
    repeated += [("Impersonate-Group", g) for g in config.impersonate_groups]
    for key, values in config.impersonate_extra:
        name = "Impersonate-Extra-" + quote(key, safe="")
        repeated += [(name, v) for v in values]
    return single, repeated


def bad_header(headers: Mapping[str, str | bytes]) -> str | None:
    """The name of the first header whose value HTTP cannot carry (never the value)."""
    for name, value in headers.items():
        text = value if isinstance(value, str) else ""
        if any(not " " <= ch <= "~" and ch != "\t" for ch in text):
            return repr(name)
    return None


def tls_reason(error: BaseException) -> str:
    """OpenSSL's own verdict (certificate has expired, hostname mismatch, unknown CA), found
    in a chain of wrapped errors."""
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    first_ssl: ssl.SSLError | None = None
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError):
            message = getattr(e, "verify_message", None) or e.reason or str(e)
            return f"certificate verify failed: {message}"
        if isinstance(e, ssl.SSLError) and first_ssl is None:
            first_ssl = e
        todo.extend(x for x in (e.__cause__, e.__context__, getattr(e, "reason", None),
                                *e.args) if isinstance(x, BaseException))
    if first_ssl is not None:
        return str(first_ssl.reason or first_ssl)
    return root_cause(error)


def root_cause(error: BaseException) -> str:
    """The innermost reason of a chain of wrapped errors, as text."""
    while error.__cause__ is not None or (error.args and isinstance(error.args[0],
                                                                     BaseException)):
        nxt = error.__cause__ or error.args[0]
        if not isinstance(nxt, BaseException):
            break
        error = nxt
    reason = getattr(error, "reason", None)
    return str(reason or error) or type(error).__name__
