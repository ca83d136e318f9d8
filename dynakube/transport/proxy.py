"""Which proxy a connection goes through, and the HTTP CONNECT step that tunnels it.

Streams (exec, attach, port-forward) open their own sockets, so they choose a proxy as
``requests`` does for every other request: the kubeconfig's ``proxy-url`` first, else
``HTTPS_PROXY``/``HTTP_PROXY`` (either case) unless ``NO_PROXY`` names the host (a suffix,
an IP, a CIDR block, ``*``). The choice, the CONNECT request and the reading of its answer
are pure, so the asyncio transport reuses them; :func:`tunnel` is the small blocking step.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError, TransportError

__all__ = ["Proxy", "choose_proxy", "bypasses_proxy", "connect_request", "parse_connect_reply",
           "check_connect_reply", "tunnel", "MAX_CONNECT_REPLY"]

#: A proxy's answer to CONNECT is a status line and a few headers; more is not a proxy.
MAX_CONNECT_REPLY = 64 * 1024


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy to tunnel through: where it is and its ``Proxy-Authorization``."""

    host: str
    port: int
    authorization: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Proxy:
        parts = urlsplit(url if "://" in url else "http://" + url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ConfigError(f"proxy {scheme}://...: exec, attach and port-forward go "
                              "through HTTP proxies (CONNECT) only; use an http:// proxy-url "
                              "or unset it for streams")
        if not parts.hostname:
            raise ConfigError(f"proxy URL {url.split('@')[-1]!r} names no host")
        auth = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            auth = "Basic " + base64.b64encode(pair.encode()).decode()
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise ConfigError(f"proxy URL {parts.hostname}: the port is not a number") from None
        if scheme == "https":
            raise ConfigError(f"proxy https://{parts.hostname}:{port}: TLS to the proxy "
                              "itself is not supported for streams; use http://")
        return cls(parts.hostname, port, auth)


def _env(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name.lower()) or environ.get(name.upper()) or ""


def bypasses_proxy(host: str, port: int, no_proxy: str) -> bool:
    """``NO_PROXY`` as Go's ``httpproxy`` and ``requests`` read it."""
    host = host.strip("[]").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry and address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port != str(port):
            continue
        name = name.strip("[]")
        if host == name.lstrip(".") or (name and host.endswith("." + name.lstrip("."))):
            return True
    return False


def choose_proxy(server: str, proxy_url: str | None,
                 environ: Mapping[str, str]) -> Proxy | None:
    """The proxy to reach ``server`` through, or None to connect directly."""
    if proxy_url:
        return Proxy.from_url(proxy_url)
    parts = urlsplit(server)
    host = parts.hostname or ""
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    url = _env(environ, "https_proxy") if https else _env(environ, "http_proxy")
    url = url or _env(environ, "all_proxy")
    if not url or bypasses_proxy(host, port, _env(environ, "no_proxy")):
        return None
    return Proxy.from_url(url)


def connect_request(host: str, port: int, proxy: Proxy, user_agent: str) -> bytes:
    """The CONNECT request that asks ``proxy`` for a tunnel to ``host:port``."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}", f"User-Agent: {user_agent}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_connect_reply(data: bytes) -> tuple[int, str, bytes] | None:
    """(status, reason, bytes after the headers) of a CONNECT answer; None while it is not
    complete yet."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > MAX_CONNECT_REPLY:
            raise TransportError("the proxy's answer to CONNECT has no end of headers")
        return None
    status_line = data[:data.find(b"\r\n")].decode("latin-1")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/") or not code.isdigit():
        raise TransportError(f"the proxy answered CONNECT with {status_line[:80]!r}, not HTTP")
    return int(code), reason.strip(), data[end + 4:]


def check_connect_reply(code: int, reason: str, proxy: Proxy, host: str, port: int) -> None:
    """Raise ``TransportError`` unless the proxy's answer opened the tunnel."""
    if code == 407:
        raise TransportError(f"the proxy {proxy.host}:{proxy.port} wants credentials (407 "
                             f"{reason}): put user:password in the proxy URL")
    if not 200 <= code < 300:
        raise TransportError(f"the proxy {proxy.host}:{proxy.port} refused CONNECT "
                             f"{host}:{port}: {code} {reason}")


def tunnel(sock: socket.socket, host: str, port: int, proxy: Proxy, user_agent: str) -> None:
    """Ask the proxy on ``sock`` for a tunnel to ``host:port``; on return ``sock`` reaches it.

    A proxy that has nothing more to say before the tunnel is up sends no extra bytes; any
    that it does send would belong to the server, and a server speaks only after the client.
    """
    sock.sendall(connect_request(host, port, proxy, user_agent))
    data = b""
    while (reply := parse_connect_reply(data)) is None:
        chunk = sock.recv(4096)
        if not chunk:
            raise TransportError(f"the proxy {proxy.host}:{proxy.port} closed the connection "
                                 f"instead of answering CONNECT {host}:{port}")
        data += chunk
    code, reason, extra = reply
    check_connect_reply(code, reason, proxy, host, port)
    if extra:
        raise TransportError(f"the proxy {proxy.host}:{proxy.port} sent data before the "
                             "tunnel was up")
