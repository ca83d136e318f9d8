"""The asyncio transport: the sync :class:`~dynakube.transport.http.Transport`'s contract on
asyncio streams and ``h11`` (sans-I/O HTTP/1.1), with no thread per request or per watch.

Same TLS (:class:`~dynakube.transport.tls.TLSSettings`), credentials
(:mod:`~dynakube.transport.auth`; exec plugins run in a worker thread so the loop never
blocks), proxies (:mod:`~dynakube.transport.proxy`), retries, rate limit, warnings and errors
(:mod:`~dynakube.transport.rules`) as the ``requests`` one. Connections are kept alive in a
bounded pool: at most ``max_connections`` ordinary requests are in flight at once, while
streams (watches, followed logs) hold a connection of their own for as long as they live.
Cancelling the task that waits on a request or reads a stream closes its connection at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import ssl
import time
import warnings
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import h11

from .. import bulkjson
from ..config.cluster import ClusterConfig
from ..errors import (
    ConfigError,
    InsecureTLSWarning,
    TransportError,
    UnsupportedError,
    error_from_response,
)
from ..request import ApiRequest
from .asyncconn import AsyncWebSocket, Connection, Pool, connect, upgrade
from .auth import Credentials, CredentialSource, ExecPlugin, credential_source
from .proxy import choose_proxy
from .ratelimit import TokenBucket
from .rules import (
    MAX_ERROR_BODY,
    USER_AGENT,
    Headers,
    Retries,
    WarningSink,
    bad_header,
    impersonation_headers,
)
from .tls import TLSSettings

__all__ = ["AsyncTransport", "AsyncResponse", "DEFAULT_MAX_CONNECTIONS"]

log = logging.getLogger("dynakube.transport")

DEFAULT_MAX_CONNECTIONS = 10
_CHUNK = 65536
_insecure_warned = False


class AsyncResponse:
    """A server answer: status, headers and the body (read at once, or streamed).

    A streamed response owns its connection until :meth:`aclose` (or ``async with``); one
    read to its end goes back to the pool.
    """

    def __init__(self, request: ApiRequest, status: int, headers: Headers,
                 connection: Connection, release: Callable[[Connection, bool], None],
                 read_timeout: float | None):
        self.request = request
        self.status = status
        self.headers = headers
        self._conn = connection
        self._release = release
        self._read_timeout = read_timeout
        self._decoder = _decoder(headers)
        self._body: bytes | None = None
        self._done = False
        self._closed = False

    @property
    def content(self) -> bytes:
        """The whole body (a streamed response: after :meth:`read`)."""
        if self._body is None:
            raise TransportError(f"the answer to {self.request.method} {self.request.path} is "
                                 "streamed: await read() first, or iterate it")
        return self._body

    def json(self) -> Any:
        try:
            return bulkjson.loads(self.content)  # a large list decodes with the GC paused
        except ValueError as e:
            raise TransportError(
                f"the server answered {self.request.method} {self.request.path} with a body "
                f"that is not JSON: {self.content[:200]!r}") from e

    async def read(self, limit: int | None = None) -> bytes:
        """The rest of the body (at most ``limit`` bytes, then the connection goes)."""
        if self._body is None:
            parts: list[bytes] = []
            size = 0
            chunks = self.iter_chunks()
            try:
                async for chunk in chunks:
                    parts.append(chunk)
                    size += len(chunk)
                    if limit is not None and size >= limit:
                        break
            finally:
                await chunks.aclose()
            self._body = b"".join(parts)[:limit]
            await self.aclose()
        return self._body

    async def iter_chunks(self) -> AsyncGenerator[bytes, None]:
        """The body in pieces as they arrive (at most 64 KiB read at a time); a drop or a read
        timeout is TransportError, and leaving early or being cancelled closes the
        connection."""
        try:
            while not self._done:
                data = await self._conn.next_data(self._read_timeout)
                if data is None:
                    self._done = True
                    tail = self._decoder.flush() if self._decoder is not None else b""
                    if tail:
                        yield tail
                    break
                if self._decoder is not None:
                    data = self._decoder.decompress(data)
                if data:
                    yield data
        except TransportError:
            self._abort()
            raise
        except zlib.error as e:
            self._abort()
            raise TransportError(f"the answer to {self.request.path} is not valid gzip: "
                                 f"{e}") from e
        except BaseException:  # cancelled, or the consumer left: the connection is unusable
            if not self._done:
                self._abort()
            raise
        self._finish()

    async def iter_lines(self) -> AsyncIterator[bytes]:
        """Non-blank lines of the body as they arrive (errors as :meth:`iter_chunks`)."""
        pending = b""
        async for chunk in self.iter_chunks():
            pending += chunk
            if b"\n" not in chunk:
                continue
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line
        if pending.strip():
            yield pending

    def _finish(self) -> None:
        if not self._closed:
            self._closed = True
            self._release(self._conn, True)

    def _abort(self) -> None:
        if not self._closed:
            self._closed = True
            self._release(self._conn, False)

    async def aclose(self) -> None:
        """Give the connection back (read to its end) or close it (a stream cut short)."""
        if self._done:
            self._finish()
        else:
            self._abort()

    def close(self) -> None:
        """:meth:`aclose` for code that cannot await (a ``finally`` in a sync callback)."""
        self._abort() if not self._done else self._finish()

    async def __aenter__(self) -> AsyncResponse:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncResponse {self.status} {self.request.method} {self.request.path}>"


def _decoder(headers: Headers) -> Any:
    encoding = (headers.get("Content-Encoding") or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    return None


class AsyncTransport:
    """An authenticated, pooled asyncio session to one API server (``async with`` it)."""

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
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ):
        self.config = config
        self.server = config.server.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._warnings = WarningSink(warning_handler)
        self._limiter = TokenBucket(qps, burst) if qps else None
        self._credentials: CredentialSource | None = credential_source(config)
        parts = urlsplit(self.server)
        self._https = parts.scheme.lower() == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._netloc = parts.netloc
        self._base_path = parts.path.rstrip("/")
        self._socks = _socks_proxy(config.proxy_url)
        self._proxy = None if self._socks else choose_proxy(self.server, config.proxy_url,
                                                            os.environ)
        self._tls = self._tls_settings() if self._https else None
        # files named in the kubeconfig are re-read when they change (client-go's
        # ReloadTLSFiles); inline data and exec plugin certificates live in the context
        self._cert_files = ((self._tls.cert_file, self._tls.key_file)
                            if self._tls is not None and self._tls.cert_file
                            and self._tls.key_file else None)
        self._cert_stamp: tuple[float, float] | None = None
        single, repeated = impersonation_headers(config)
        self._headers: list[tuple[str, str]] = [
            ("User-Agent", user_agent), ("Accept", "application/json"), *single.items(),
            *repeated]
        if not config.disable_compression:
            self._headers.append(("Accept-Encoding", "gzip"))
        self._pool = Pool(max_connections)

    def _tls_settings(self) -> TLSSettings:
        global _insecure_warned
        if self.config.insecure_skip_tls_verify and not _insecure_warned:
            _insecure_warned = True
            warnings.warn(f"TLS verification of {self.server} is off "
                          "(insecure-skip-tls-verify); anyone on the path can read and "
                          "change this traffic", InsecureTLSWarning, stacklevel=3)
        # without a CA in the kubeconfig, trust what the environment names, as requests does
        default = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        return TLSSettings(self.config, default)

    def _ssl_context(self) -> ssl.SSLContext | None:
        tls = self._tls
        if tls is None:
            return None
        if self._cert_files is not None:
            cert, key = self._cert_files
            try:
                stamp = (os.stat(cert).st_mtime, os.stat(key).st_mtime)
            except OSError as e:
                raise ConfigError(f"cannot read {e.filename}: {e.strerror}") from None
            if stamp != self._cert_stamp:
                with open(cert, "rb") as c, open(key, "rb") as k:
                    tls.use_client_certificate((c.read(), k.read()))
                self._cert_stamp = stamp
        return tls.context

    # -- sending -------------------------------------------------------------------------
    async def send(self, request: ApiRequest, *, stream: bool = False,
                   read_timeout: float | None = None) -> AsyncResponse:
        """Send one request; 2xx/304 come back, errors are raised as ``dynakube.errors``.

        Without ``stream`` the body is read before this returns (``content``, ``json()``);
        with it, iterate :meth:`AsyncResponse.iter_lines` and close the response.
        """
        retries = Retries(request.method)
        while True:
            try:
                response = await self._send_once(request, stream, read_timeout)
            except TransportError as e:
                # a TLS failure will fail again; a read timeout means a slow server
                wait = retries.wait_for_connection(
                    final=isinstance(e.__cause__, ssl.SSLError | TimeoutError))
                if wait is None:
                    raise
                await asyncio.sleep(wait)
                continue
            status = response.status
            if status < 400:
                self._warnings.headers(response.headers, stacklevel=4)
                return response
            body = await response.read(MAX_ERROR_BODY)
            if retries.reauthenticate(status, self._credentials is not None):
                if await self._unauthorized():
                    continue
            delay = retries.wait_for_answer(status, response.headers)
            if delay is not None:
                log.debug("%s %s: %d, retrying after %.1fs", request.method, request.path,
                          status, delay)
                await asyncio.sleep(delay)
                continue
            self._warnings.headers(response.headers, stacklevel=4)
            raise error_from_response(status, body)

    async def _credentials_now(self) -> Credentials:
        source = self._credentials
        if source is None:
            return Credentials()
        if isinstance(source, ExecPlugin):  # may run a program: never on the loop
            return await asyncio.to_thread(source.current)
        return source.current()

    async def _unauthorized(self) -> bool:
        assert self._credentials is not None
        return self._credentials.unauthorized()  # forgets a cache, or re-reads a token file

    def _request_headers(self, request: ApiRequest, creds: Credentials) -> list[tuple[str, str]]:
        own = {k.lower() for k, _ in request.headers} | {k.lower() for k in creds.headers}
        merged = [(k, v) for k, v in self._headers if k.lower() not in own]
        merged += [*request.headers, *creds.headers.items()]
        if request.body is not None or request.method in ("POST", "PUT", "PATCH"):
            merged.append(("Content-Length", str(len(request.body or b""))))
        name = bad_header(dict(merged))
        if name is not None:
            raise ConfigError(f"{request.method} {request.path}: the header {name} has a line "
                              "break, a control character or a character HTTP headers cannot "
                              "carry in its value; fix it in the kubeconfig")
        return merged

    async def _ready_to_send(self) -> Credentials:
        """Wait out the rate limit, then the credentials for the next request (their client
        certificate put into the TLS settings)."""
        if self._limiter is not None:
            delay = self._limiter.reserve()
            if delay > 0:
                await asyncio.sleep(delay)
        creds = await self._credentials_now()
        if creds.cert is not None and self._tls is not None:
            self._tls.use_client_certificate(creds.cert)
        return creds

    async def _send_once(self, request: ApiRequest, stream: bool,
                         read_timeout: float | None) -> AsyncResponse:
        creds = await self._ready_to_send()
        headers = self._request_headers(request, creds)
        target = self._base_path + request.target
        if self._proxy is not None and not self._https:  # plain HTTP via a proxy: absolute URL
            target = f"http://{self._netloc}{target}"
            if self._proxy.authorization:
                headers.append(("Proxy-Authorization", self._proxy.authorization))
        event = h11.Request(method=request.method, target=target,
                            headers=[("Host", self._netloc), *headers])
        timeout = _read_timeout(read_timeout or self.timeout)
        if stream:  # a watch or a followed log: its own connection, outside the limit
            return await self._exchange(request, event, timeout, stream)
        async with self._pool.slot():
            return await self._exchange(request, event, timeout, stream)

    async def _exchange(self, request: ApiRequest, event: h11.Request, timeout: float | None,
                        stream: bool) -> AsyncResponse:
        started = time.perf_counter()
        conn: Connection | None = None
        try:
            # an idle connection the server closed is noticed before reuse (as urllib3 does);
            # one that breaks mid-request is a failure like any other (a GET is retried)
            conn = await self._connection()
            status, answer = await conn.exchange(event, request.body, timeout)
            response = AsyncResponse(request, status, Headers(answer), conn, self._release,
                                     timeout)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s%s %d %.1fms", request.method, self.server, request.target,
                          status, (time.perf_counter() - started) * 1000)
            if status >= 400:
                await response.read(MAX_ERROR_BODY)
            elif not stream:
                await response.read()
            return response
        except BaseException:  # cancelled too: the connection is closed at once
            if conn is not None:
                self._pool.forget(conn)
            raise

    async def _connection(self) -> Connection:
        idle = self._pool.take_idle()
        if idle is not None:
            return idle
        context = self._ssl_context()
        conn = await connect(
            self._host, self._port, context=context,
            server_name=self.config.tls_server_name or self._host, proxy=self._proxy,
            socks=self._socks, timeout=self.connect_timeout, server=self.server)
        self._pool.opened(conn)
        return conn

    async def open_websocket(self, request: ApiRequest,
                             protocols: Sequence[str]) -> AsyncWebSocket:
        """Upgrade a GET (exec, attach, port-forward) to a WebSocket speaking one of
        ``protocols``: this transport's TLS, credentials (re-run once after a 401), headers,
        proxy and rate limit, on a connection of its own (outside the pool's limit)."""
        reauthenticated = False
        while True:
            creds = await self._ready_to_send()
            headers = [(k, v) for k, v in self._request_headers(request, creds)
                       if k.lower() != "accept"]
            conn = await connect(
                self._host, self._port, context=self._ssl_context(),
                server_name=self.config.tls_server_name or self._host,
                proxy=self._proxy, socks=self._socks, timeout=self.connect_timeout,
                server=self.server)
            self._pool.opened(conn)
            try:
                result = await upgrade(conn, self.server, self._base_path + request.target,
                                       request.path, protocols, headers, self.connect_timeout,
                                       self._pool.forget)
            except BaseException:
                self._pool.forget(conn)
                raise
            if isinstance(result, AsyncWebSocket):
                return result
            self._pool.forget(conn)
            code, body = result
            if code == 401 and not reauthenticated and self._credentials is not None:
                reauthenticated = True
                if await self._unauthorized():
                    continue
            if code >= 400:
                raise error_from_response(code, body)
            raise UnsupportedError(
                f"{self.server} answered {request.method} {request.path} with {code} instead "
                "of switching to a WebSocket: it does not serve this over WebSockets "
                "(kube-apiserver does since 1.30 for exec/attach and 1.31 for port-forward), "
                "or a proxy on the way drops the upgrade")

    def _release(self, conn: Connection, reusable: bool) -> None:
        self._pool.put_back(conn, reusable)

    def warn(self, text: str, *, stacklevel: int = 3) -> None:
        """Surface a server warning once per transport (to the handler, else ``warnings``)."""
        self._warnings.warn(text, stacklevel=stacklevel + 1)

    @property
    def open_connections(self) -> int:
        """Connections open now (pooled idle ones and those in use)."""
        return self._pool.open

    async def aclose(self) -> None:
        """Close every connection, idle or streaming: a live watch ends at once."""
        self._pool.close_all()

    async def __aenter__(self) -> AsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncTransport {self.server}>"


def _read_timeout(seconds: float) -> float | None:
    """``math.inf`` waits for ever (a followed log may stay silent for hours)."""
    return None if math.isinf(seconds) else seconds


def _socks_proxy(proxy_url: str | None) -> tuple[str, int] | None:
    """``(host, port)`` of a ``socks5://``/``socks5h://`` proxy-url without credentials."""
    if not proxy_url or not proxy_url.lower().startswith("socks"):
        return None
    parts = urlsplit(proxy_url)
    if parts.scheme.lower() not in ("socks5", "socks5h") or parts.username or not parts.hostname:
        raise ConfigError(f"proxy-url {parts.scheme}://...: the asyncio transport speaks "
                          "SOCKS5 without credentials only; use socks5://host:port, an HTTP "
                          "proxy, or the sync Client")
    return parts.hostname, parts.port or 1080
