"""The one place that talks HTTP: TLS, credentials, retries, rate limiting, server warnings.

This is the only module that imports ``requests``. Everything above it builds
:class:`~dynakube.request.ApiRequest` values and gets :class:`Response` objects back, or a
``dynakube.errors`` exception, never a ``requests`` one.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import random
import re
import socket
import ssl
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests
import requests.adapters
import requests.auth
import requests.utils
import urllib3.exceptions
from urllib3 import HTTPHeaderDict
from urllib3.exceptions import InsecureRequestWarning

from .._version import __version__
from ..config.cluster import ClusterConfig
from ..errors import (
    ConfigError,
    InsecureTLSWarning,
    ServerWarning,
    TransportError,
    error_from_response,
)
from ..request import ApiRequest
from .auth import Credentials, CredentialSource, credential_source
from .ratelimit import TokenBucket
from .tls import TLSSettings, sweep_stale_files

__all__ = ["Transport", "Response", "USER_AGENT", "MAX_ERROR_BODY", "parse_warning_header"]

log = logging.getLogger("dynakube.transport")

USER_AGENT = "dynakube/{} python/{}.{}.{}".format(__version__, *sys.version_info[:3])
MAX_RETRY_AFTER_TRIES = 10  # as client-go's rest.Request
CONNECT_RETRIES = 3  # extra tries for a GET whose connection failed (not for a slow answer)
#: How much of an error answer is read: a Status is a few KiB; a proxy or a broken server may
#: send gigabytes, and the message shows only the start anyway.
MAX_ERROR_BODY = 1024 * 1024

_WARNING_RE = re.compile(r'\s*(\d{3})\s+(\S+)\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?\s*(?:,|$)')
_insecure_warned = False


def parse_warning_header(value: str) -> list[str]:
    """The texts of an RFC 7234 ``Warning`` header (``299 - "text"``, comma-separated)."""
    texts = []
    pos = 0
    while pos < len(value):
        match = _WARNING_RE.match(value, pos)
        if not match:
            break
        texts.append(re.sub(r"\\(.)", r"\1", match.group(3)))
        pos = match.end()
    return texts


class Response:
    """A server answer: status, headers and the body (read at once, or streamed by lines)."""

    def __init__(self, raw: requests.Response, request: ApiRequest):
        self._raw = raw
        self.request = request
        self.status: int = raw.status_code
        self.headers: Mapping[str, str] = raw.headers
        self._content: bytes | None = None

    @property
    def content(self) -> bytes:
        """The whole body (read on first use for a streamed response)."""
        if self._content is None:
            try:
                self._content = self._raw.content
            except requests.RequestException as e:
                raise TransportError(f"reading the answer to {self.request.method} "
                                     f"{self.request.path} failed: {e}") from e
        return self._content

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError as e:
            raise TransportError(
                f"the server answered {self.request.method} {self.request.path} with a body "
                f"that is not JSON: {self.content[:200]!r}") from e

    def iter_chunks(self) -> Iterator[bytes]:
        """The streamed body in pieces as they arrive (at most 64 KiB each, never the whole
        body at once); a drop or read timeout is TransportError."""
        raw = self._raw.raw
        try:
            chunks: Iterator[bytes]
            if getattr(raw, "chunked", False) and hasattr(raw, "read_chunked"):
                chunks = raw.read_chunked(65536, decode_content=True)
            else:
                chunks = iter(lambda: raw.read1(65536, decode_content=True), b"")
            for chunk in chunks:
                if chunk:
                    yield chunk
        except Exception as e:  # urllib3 ReadTimeoutError, ProtocolError, OSError ...
            if isinstance(e, TransportError):
                raise
            raise TransportError(f"the stream of {self.request.path} broke: {e}") from e

    def iter_lines(self) -> Iterator[bytes]:
        """Non-blank lines of a streamed body as they arrive (errors as :meth:`iter_chunks`)."""
        pending = b""
        for chunk in self.iter_chunks():
            pending += chunk
            if b"\n" not in chunk:
                continue
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line
        if pending.strip():
            yield pending

    def close(self) -> None:
        """Close the response; also wakes a reader blocked on it in another thread."""
        raw = self._raw.raw
        sock = None
        conn = getattr(raw, "_connection", None) or getattr(raw, "connection", None)
        if conn is not None:
            sock = getattr(conn, "sock", None)
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._raw.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.request.method} {self.request.path}>"


class _Adapter(requests.adapters.HTTPAdapter):
    """TLS from the transport's own context; ``tls-server-name``; repeated headers.

    HTTPS pools get the :class:`~dynakube.transport.tls.TLSSettings` context (trust and client
    key loaded in memory) instead of requests' CA bundle and certificate paths. Impersonation
    needs one ``Impersonate-Group`` header per group, which a ``requests`` header dict cannot
    hold, so they are added here as urllib3 sends them.
    """

    def __init__(self, tls: TLSSettings | None, server_name: str | None,
                 repeated: list[tuple[str, str]]):
        self._tls = tls
        self._server_name = server_name
        self._repeated = repeated
        super().__init__(pool_connections=4, pool_maxsize=16, max_retries=0)

    def build_connection_pool_key_attributes(
            self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[Any, Any]:
        host_params: Any
        pool_kwargs: Any
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        if self._tls is not None and host_params.get("scheme") == "https":
            pool_kwargs = self._tls.pool_kwargs()
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if self._tls is None or not url.lower().startswith("https"):
            super().cert_verify(conn, url, verify, cert)
            return
        # the pool's ssl_context holds the trust: keep requests' CA bundle out of it
        conn.cert_reqs = self._tls.cert_reqs
        conn.ca_certs = conn.ca_cert_dir = None
        conn.cert_file, conn.key_file = self._tls.cert_file, self._tls.key_file

    def send(self, request: requests.PreparedRequest, *args: Any,
             **kwargs: Any) -> requests.Response:
        if self._repeated:
            headers = HTTPHeaderDict(dict(request.headers))
            for name, value in self._repeated:
                headers.add(name, value)
            request.headers = headers  # type: ignore[assignment]
        return super().send(request, *args, **kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block,
                                 **self._hostname_kwargs(), **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # through a proxy-url, the tunnelled TLS still checks the tls-server-name
        return super().proxy_manager_for(proxy, **self._hostname_kwargs(), **proxy_kwargs)

    def _hostname_kwargs(self) -> dict[str, str]:
        if not self._server_name:
            return {}
        return {"server_hostname": self._server_name, "assert_hostname": self._server_name}


class _NoAuth(requests.auth.AuthBase):
    """Stops requests from reading ``~/.netrc``: dynakube sets its own Authorization."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class Transport:
    """An authenticated session to one API server."""

    def __init__(
        self,
        config: ClusterConfig,
        *,
        qps: float | None = 100.0,
        burst: int = 300,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        warning_handler: Callable[[str], None] | None = None,
        user_agent: str = USER_AGENT,
    ):
        self.config = config
        self.server = config.server.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._warning_handler = warning_handler
        self._warned: set[str] = set()
        self._warned_lock = threading.Lock()
        self._limiter = TokenBucket(qps, burst) if qps else None
        self._proxies = _proxies(config.proxy_url)
        self._credentials: CredentialSource | None = credential_source(config)
        sweep_stale_files()  # what killed dynakube processes left in $TMPDIR
        self._tls = self._tls_settings() if self.server.lower().startswith("https:") else None
        self._session = requests.Session()
        self._session.auth = _NoAuth()
        self._session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        if config.disable_compression:  # kubeconfig's disable-compression: no gzip asked
            del self._session.headers["Accept-Encoding"]
        single, repeated = self._impersonation_headers()
        self._session.headers.update(single)
        self._session.mount("https://", _Adapter(self._tls, config.tls_server_name, repeated))
        self._session.mount("http://", _Adapter(None, None, repeated))

    # -- set-up --------------------------------------------------------------------------
    def _impersonation_headers(self) -> tuple[dict[str, str], list[tuple[str, str]]]:
        c = self.config
        single: dict[str, str] = {}
        repeated: list[tuple[str, str]] = []
        if c.impersonate:
            single["Impersonate-User"] = c.impersonate
        if c.impersonate_uid:
            single["Impersonate-Uid"] = c.impersonate_uid
        repeated += [("Impersonate-Group", g) for g in c.impersonate_groups]
        for key, values in c.impersonate_extra:
            name = "Impersonate-Extra-" + quote(key, safe="")
            repeated += [(name, v) for v in values]
        return single, repeated

    def _tls_settings(self) -> TLSSettings:
        global _insecure_warned
        if self.config.insecure_skip_tls_verify and not _insecure_warned:
            _insecure_warned = True
            warnings.warn(f"TLS verification of {self.server} is off "
                          "(insecure-skip-tls-verify); anyone on the path can read and "
                          "change this traffic", InsecureTLSWarning, stacklevel=3)
        # without a CA in the kubeconfig, trust what requests would: its bundle or the
        # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE the environment names
        default = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                   or requests.utils.DEFAULT_CA_BUNDLE_PATH)
        return TLSSettings(self.config, default)

    # -- sending -------------------------------------------------------------------------
    def send(self, request: ApiRequest, *, stream: bool = False,
             read_timeout: float | None = None) -> Response:
        """Send one request; 2xx/304 come back, errors are raised as ``dynakube.errors``."""
        reauthenticated = False
        retry_after_tries = 0
        connect_tries = 0
        while True:
            try:
                raw = self._send_once(request, stream, read_timeout)
            except TransportError as e:
                # Like client-go, only a GET whose connection failed or dropped is repeated:
                # a TLS failure will fail again, and a read timeout means the server is slow
                # (trying again would multiply the caller's timeout).
                connect_tries += 1
                if (request.method != "GET" or connect_tries > CONNECT_RETRIES
                        or isinstance(e.__cause__, (requests.exceptions.SSLError,
                                                    requests.exceptions.ReadTimeout))):
                    raise
                time.sleep(min(2.0, 0.1 * 2 ** connect_tries) * (0.5 + random.random()))
                continue
            status = raw.status_code
            if status < 400:
                self._surface_warnings(raw.headers)
                return Response(raw, request)
            body = _error_body(raw)
            if status == 401 and not reauthenticated and self._credentials is not None:
                reauthenticated = True
                if self._credentials.unauthorized():
                    continue
            delay = _retry_after(raw.headers) if status == 429 or status >= 500 else None
            if delay is not None and retry_after_tries < MAX_RETRY_AFTER_TRIES - 1:
                retry_after_tries += 1
                log.debug("%s %s: %d, retrying after %.1fs", request.method, request.path,
                          status, delay)
                time.sleep(delay)
                continue
            self._surface_warnings(raw.headers)
            raise error_from_response(status, body)

    def _send_once(self, request: ApiRequest, stream: bool,
                   read_timeout: float | None) -> requests.Response:
        if self._limiter is not None:
            self._limiter.acquire()
        creds = self._credentials.current() if self._credentials else Credentials()
        headers = dict(request.headers)
        headers.update(creds.headers)
        if creds.cert is not None and self._tls is not None:
            self._tls.use_client_certificate(creds.cert)
        url = self.server + request.target
        if self._tls is not None and self._tls.insecure:
            _ignore_insecure_request_warnings()  # warned once already; urllib3 would per request
        started = time.perf_counter()
        try:
            # always streamed, so an error answer is read only as far as MAX_ERROR_BODY
            raw = self._session.request(
                request.method, url, data=request.body, headers=headers, stream=True,
                timeout=(self.connect_timeout, _read_timeout(read_timeout or self.timeout)),
                proxies=self._proxies, allow_redirects=True,
            )
            if not stream and raw.status_code < 400:
                raw.content  # noqa: B018 - read now, so a broken body maps like a broken send
        except requests.exceptions.SSLError as e:
            raise TransportError(f"TLS with {self.server} failed: {_tls_reason(e)}; check the "
                                 "certificate-authority, tls-server-name and client "
                                 "certificate in the kubeconfig") from e
        except (requests.exceptions.InvalidHeader, UnicodeEncodeError):
            # requests' message quotes the value, which may be a token: name the header only
            # (http.client sends values as latin-1, hence UnicodeEncodeError)
            merged: dict[str, str | bytes] = {**self._session.headers, **headers}
            name = _bad_header(merged)
            raise ConfigError(f"{request.method} {request.path}: the header {name} has a "
                              "line break, a control character or a character HTTP headers "
                              "cannot carry in its value; fix it in the kubeconfig") from None
        except requests.exceptions.Timeout as e:
            raise TransportError(f"{request.method} {url} timed out: {_root_cause(e)}") from e
        except requests.exceptions.ConnectionError as e:
            raise TransportError(f"cannot connect to {self.server}: {_root_cause(e)}") from e
        except requests.RequestException as e:
            raise TransportError(f"{request.method} {url} failed: {e}") from e
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s %d %.1fms", request.method, url, raw.status_code,
                      (time.perf_counter() - started) * 1000)
        return raw

    def _surface_warnings(self, headers: Mapping[str, str]) -> None:
        value = headers.get("Warning")
        if not value:
            return
        for text in parse_warning_header(value):
            self.warn(text, stacklevel=5)

    def warn(self, text: str, *, stacklevel: int = 3) -> None:
        """Surface a server warning once per transport (to the handler, else ``warnings``)."""
        with self._warned_lock:
            if text in self._warned:
                return
            self._warned.add(text)
        if self._warning_handler is not None:
            self._warning_handler(text)
        else:
            warnings.warn(text, ServerWarning, stacklevel=stacklevel)

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Transport {self.server}>"


def _read_timeout(seconds: float) -> float | None:
    """``math.inf`` waits for ever (a followed log may stay silent for hours)."""
    return None if math.isinf(seconds) else seconds


def _ignore_insecure_request_warnings() -> None:
    """Silence urllib3's per-request warning, adding the filter only when it is not in force.

    Checked on every unverified request because ``warnings.catch_warnings`` (pytest runs each
    test in one) may have dropped it; but never re-added needlessly, because every change to
    ``warnings.filters`` resets the registries that make the program's other warnings show
    once, so they would repeat after each request.
    """
    for action, message, category, module, lineno in warnings.filters:
        if issubclass(InsecureRequestWarning, category):
            if (action == "ignore" and category is InsecureRequestWarning and message is None
                    and module is None and lineno == 0):
                return
            break
    warnings.filterwarnings("ignore", category=InsecureRequestWarning)


def _proxies(proxy_url: str | None) -> dict[str, str] | None:
    if not proxy_url:
        return None
    if proxy_url.lower().startswith("socks"):
        try:
            importlib.import_module("socks")  # PySocks, which requests needs for SOCKS
        except ImportError:
            raise ConfigError(f"proxy-url {proxy_url.split('://')[0]}://...: a SOCKS proxy "
                              "needs the PySocks package: pip install 'dynakube[socks]'"
                              ) from None
    return {"http": proxy_url, "https": proxy_url}


def _error_body(raw: requests.Response) -> bytes:
    """At most MAX_ERROR_BODY bytes of an error answer (decoded), then the connection goes."""
    try:
        body: bytes = raw.raw.read(MAX_ERROR_BODY, decode_content=True) or b""
    except (OSError, urllib3.exceptions.HTTPError):
        body = b""  # the status alone still says what happened
    raw.close()
    return body


def _bad_header(headers: Mapping[str, str | bytes]) -> str:
    """The name of the first header whose value cannot be sent (never the value)."""
    for name, value in headers.items():
        text = value if isinstance(value, str) else ""
        if any(not " " <= ch <= "~" and ch != "\t" for ch in text):
            return repr(name)
    return "(unknown)"


def _tls_reason(error: BaseException) -> str:
    """OpenSSL's own verdict (certificate has expired, hostname mismatch, unknown CA), found
    in the chain of wrapped urllib3 and requests errors."""
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
    return _root_cause(error)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = (headers.get("Retry-After") or "").strip()
    if not value.isdigit():
        return None
    return float(min(int(value), 60))


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None or (error.args and isinstance(error.args[0],
                                                                     BaseException)):
        nxt = error.__cause__ or error.args[0]
        if not isinstance(nxt, BaseException):
            break
        error = nxt
    reason = getattr(error, "reason", None)
    return str(reason or error)
