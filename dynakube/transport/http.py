"""The one place that talks HTTP: TLS, credentials, retries, rate limiting, server warnings.

This is the only module that imports ``requests``. Everything above it builds
:class:`~dynakube.request.ApiRequest` values and gets :class:`Response` objects back, or a
``dynakube.errors`` exception, never a ``requests`` one.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests
import requests.adapters
import requests.auth
import requests.utils
import urllib3.exceptions
from urllib3 import HTTPHeaderDict
from urllib3.exceptions import InsecureRequestWarning

from .. import bulkjson
from ..config.cluster import ClusterConfig
from ..errors import ConfigError, InsecureTLSWarning, TransportError, error_from_response
from ..request import ApiRequest
from .auth import Credentials, CredentialSource, credential_source
from .ratelimit import TokenBucket
from .rules import (
    MAX_ERROR_BODY,
    USER_AGENT,
    Retries,
    WarningSink,
    bad_header,
    impersonation_headers,
    parse_warning_header,
    root_cause,
    tls_reason,
)
from .tls import TLSSettings

if TYPE_CHECKING:
    from .websocket import WebSocket

__all__ = ["Transport", "Response", "USER_AGENT", "MAX_ERROR_BODY", "parse_warning_header"]

log = logging.getLogger("dynakube.transport")

_insecure_warned = False


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
            return bulkjson.loads(self.content)
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
        self._warnings = WarningSink(warning_handler)
        self._limiter = TokenBucket(qps, burst) if qps else None
        self._proxies = _proxies(config.proxy_url)
        self._credentials: CredentialSource | None = credential_source(config)
        self._tls = self._tls_settings() if self.server.lower().startswith("https:") else None
        self._session = requests.Session()
        self._session.auth = _NoAuth()
        self._session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        if config.disable_compression:  # kubeconfig's disable-compression: no gzip asked
            del self._session.headers["Accept-Encoding"]
        single, repeated = impersonation_headers(config)
        self._session.headers.update(single)
        self._session.mount("https://", _Adapter(self._tls, config.tls_server_name, repeated))
        self._session.mount("http://", _Adapter(None, None, repeated))

    # -- set-up --------------------------------------------------------------------------
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
        retries = Retries(request.method)
        while True:
            try:
                raw = self._send_once(request, stream, read_timeout)
            except TransportError as e:
                wait = retries.wait_for_connection(final=isinstance(
                    e.__cause__, (requests.exceptions.SSLError, requests.exceptions.ReadTimeout)))
                if wait is None:
                    raise
                time.sleep(wait)
                continue
            status = raw.status_code
            if status < 400:
                self._warnings.headers(raw.headers, stacklevel=5)
                return Response(raw, request)
            body = _error_body(raw)
            if (retries.reauthenticate(status, self._credentials is not None)
                    and self._credentials is not None and self._credentials.unauthorized()):
                continue
            delay = retries.wait_for_answer(status, raw.headers)
            if delay is not None:
                log.debug("%s %s: %d, retrying after %.1fs", request.method, request.path,
                          status, delay)
                time.sleep(delay)
                continue
            self._warnings.headers(raw.headers, stacklevel=5)
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
            raise TransportError(f"TLS with {self.server} failed: {tls_reason(e)}; check the "
                                 "certificate-authority, tls-server-name and client "
                                 "certificate in the kubeconfig") from e
        except (requests.exceptions.InvalidHeader, UnicodeEncodeError):
            # requests' message quotes the value, which may be a token: name the header only
            # (http.client sends values as latin-1, hence UnicodeEncodeError)
            merged: dict[str, str | bytes] = {**self._session.headers, **headers}
            name = bad_header(merged) or "(unknown)"
            raise ConfigError(f"{request.method} {request.path}: the header {name} has a "
                              "line break, a control character or a character HTTP headers "
                              "cannot carry in its value; fix it in the kubeconfig") from None
        except requests.exceptions.Timeout as e:
            raise TransportError(f"{request.method} {url} timed out: {root_cause(e)}") from e
        except requests.exceptions.ConnectionError as e:
            raise TransportError(f"cannot connect to {self.server}: {root_cause(e)}") from e
        except requests.RequestException as e:
            raise TransportError(f"{request.method} {url} failed: {e}") from e
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s %d %.1fms", request.method, url, raw.status_code,
                      (time.perf_counter() - started) * 1000)
        return raw

    def warn(self, text: str, *, stacklevel: int = 3) -> None:
        """Surface a server warning once per transport (to the handler, else ``warnings``)."""
        self._warnings.warn(text, stacklevel=stacklevel + 1)

    def open_websocket(self, request: ApiRequest, protocols: Sequence[str]) -> WebSocket:
        """Upgrade a GET (exec, attach, port-forward) to a WebSocket speaking one of
        ``protocols``, with this transport's TLS, credentials, headers and proxy."""
        from .websocket import open_websocket

        headers = [(k, v if isinstance(v, str) else v.decode("latin-1"))
                   for k, v in self._session.headers.items() if k != "Accept"]
        return open_websocket(
            request, protocols, server=self.server, tls=self._tls,
            server_name=self.config.tls_server_name,
            headers=headers + impersonation_headers(self.config)[1],
            credentials=self._credentials, proxy_url=self.config.proxy_url,
            connect_timeout=self.connect_timeout, limiter=self._limiter)

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
