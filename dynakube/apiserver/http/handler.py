"""The HTTP face of the embedded server: authentication, faults, discovery and dispatch.

One :class:`RequestHandler` per connection (HTTP/1.1 keep-alive); each request is answered as
kube-apiserver answers it, including the plain-text ``404 page not found`` for unknown paths,
``Warning`` headers, ``Etag``/``304`` on aggregated discovery and chunked watch streams.
"""

from __future__ import annotations

import dataclasses
import json
import select
import socket
import ssl
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import yaml

from ..call import Call, Reply
from ..objects import qualified_resource
from ..status import (
    PlainNotFound,
    StatusError,
    bad_request,
    status_body,
    unauthorized,
    unsupported_media_type,
)
from ..verbs.exec import EXEC_PROTOCOLS, exec_target, run_exec
from ..verbs.lists import (
    as_table,
    check_transform,
    delete_collection,
    list_reply,
    negotiate,
    partial,
)
from ..verbs.logs import open_log
from ..verbs.options import check_write_options
from ..verbs.patch import get_scale, patch, update_scale
from ..verbs.portforward import PORTFORWARD_PROTOCOLS, forward_ports, portforward_target
from ..verbs.reviews import review
from ..verbs.watch import open_watch
from ..yamlbody import yaml_as_json
from . import discovery as disco
from .listener import Listener
from .openapi import serve_openapi
from .openapiv2 import serve_openapi_v2
from .owner import ServerOwner
from .requestlog import LoggedRequest
from .routing import Route, route
from .websocket import (
    WebSocket,
    handshake_problem,
    is_websocket,
    offered_protocols,
    run_websocket,
    subprotocol_for,
)

__all__ = ["RequestHandler", "VERSION_INFO", "MAX_BODY_BYTES"]

VERSION_INFO = {
    "major": "1",
    "minor": "36",
    "emulationMajor": "1",
    "emulationMinor": "36",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "35",
    "gitVersion": "v1.36.0-dynakube",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "1970-01-01T00:00:00Z",
    "goVersion": "go1.26.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}
_STREAMS = ("exec", "attach", "portforward")


def _warning_header(text: str) -> str:
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fault_body(status: int, retry_after: float | None) -> dict[str, Any]:
    if status == 429:
        details = {"retryAfterSeconds": int(retry_after or 1)}
        return status_body(429, "TooManyRequests", "Too many requests, please try again later.",
                           details)
    if status == 503:
        return status_body(503, "ServiceUnavailable",
                           "the server is currently unable to handle the request")
    if status == 504:
        return status_body(504, "Timeout", "the server was unable to return a response in the "
                           "time allotted, but may still be processing the request")
    if status >= 500:
        return status_body(status, "InternalError", "Internal error occurred: injected fault",
                           {"causes": [{"message": "injected fault"}]})
    return status_body(status, "", f"injected fault ({status})")


MAX_BODY_BYTES = 3 * 1024 * 1024
"""kube-apiserver's limit on a request body."""


def _too_large() -> StatusError:
    return StatusError(413, status_body(413, "RequestEntityTooLarge",
                                        f"Request entity too large: limit is {MAX_BODY_BYTES}"))


_BODY_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
_REVIEW_GROUPS = ("authentication.k8s.io", "authorization.k8s.io")


def _as_json(content_type: str, body: bytes) -> bytes:
    """Create and update bodies may be JSON or YAML; anything else is a 415."""
    media = content_type.split(";")[0].strip().lower() or "application/json"
    if media in ("application/json", "*/*"):
        return body
    if media in ("application/yaml", "application/x-yaml", "text/yaml"):
        try:
            return json.dumps(yaml_as_json(body.decode("utf-8", "replace"))).encode()
        except StatusError:
            raise
        except Exception as exc:  # yaml.YAMLError, an unhashable key, a too deep document
            raise StatusError(400, status_body(400, "BadRequest",
                                               f"error converting YAML to JSON: {exc}")) from None
    if media == "application/vnd.kubernetes.protobuf":
        from .protobuf import ProtobufError, decode_kubernetes_protobuf

        try:
            return json.dumps(decode_kubernetes_protobuf(body)).encode()
        except ProtobufError as exc:
            raise StatusError(415, status_body(415, "UnsupportedMediaType", str(exc))) from None
    raise unsupported_media_type(_BODY_TYPES)


class RequestHandler(BaseHTTPRequestHandler):
    """Answers the requests of one connection as kube-apiserver does."""

    protocol_version = "HTTP/1.1"
    server: Listener
    timeout = 300
    wbufsize = 64 * 1024  # headers and body leave in one write; flushed after each answer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (OSError, ssl.SSLError):
                self.request.close()
                raise
            self.request.settimeout(None)
        super().setup()

    def finish(self) -> None:
        # A client that left with bytes still buffered makes wfile.close() raise, and
        # socketserver then skips rfile.close(): the socket would leak. Close it anyway.
        try:
            super().finish()
        except OSError:
            self.rfile.close()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET  # noqa: N815

    # -- plumbing ------------------------------------------------------------------------

    @property
    def owner(self) -> ServerOwner:
        return self.server.owner

    def _read_body(self) -> bytes:
        """The request body; a ``413`` past kube-apiserver's limit (what is left goes unread)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    raise _too_large()
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _too_large()
        return self.rfile.read(length) if length > 0 else b""

    def _log(self, status: int) -> None:
        parts = urlsplit(self.path)
        self.owner.requests.add(LoggedRequest(self.command, parts.path, parts.query, status,
                                              self.headers.get("User-Agent", "")))

    def _send(self, code: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None, warnings: list[str] | None = None) -> None:
        self._log(code)
        self.send_response(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", (headers or {}).pop("Cache-Control", "no-cache, private"))
        if code != 304:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        for text in warnings or []:
            self.send_header("Warning", _warning_header(text))
        self.send_header("Content-Length", str(len(body)) if code != 304 else "0")
        self.end_headers()
        if self.command != "HEAD" and code != 304:
            self.wfile.write(body)

    def _json(self, code: int, obj: Any, headers: dict[str, str] | None = None,
              warnings: list[str] | None = None, media: str = "application/json") -> None:
        if media == "application/yaml" and isinstance(obj, dict) and obj.get("kind") != "Status":
            # keys sorted and long strings on one line, as sigs.k8s.io/yaml writes them
            text = yaml.safe_dump(obj, sort_keys=True, default_flow_style=False,
                                  allow_unicode=True, width=1 << 30)
            self._send(code, text.encode(), media, headers, warnings)
            return
        # allow_nan=False: NaN/Infinity are refused on the way in; should one slip through,
        # a 500 is better than a body no JSON parser accepts
        self._send(code, json.dumps(obj, separators=(",", ":"), allow_nan=False).encode(),
                   "application/json", headers, warnings)

    def _not_found(self) -> None:
        self._send(404, b"404 page not found\n", "text/plain; charset=utf-8",
                   {"X-Content-Type-Options": "nosniff"})

    # -- the request ---------------------------------------------------------------------

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        except StatusError as exc:
            self.close_connection = True
            self._json(exc.code, exc.body)
            return
        delay = self.owner.faults.delay_seconds
        if delay:
            time.sleep(delay)
        parts = urlsplit(self.path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            self._dispatch(path, query, body)
        except PlainNotFound:
            self._not_found()
        except StatusError as exc:
            self._json(exc.code, exc.body, dict(exc.headers))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as exc:  # a bug in the server: answer 500, keep serving
            self._json(500, status_body(500, "InternalError",
                                        f"Internal error occurred: {type(exc).__name__}: {exc}"))

    def _user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return self.owner.user_for(auth[7:].strip())
        if isinstance(self.request, ssl.SSLSocket) and self.request.getpeercert():
            return "admin"
        return self.owner.user_for(None)

    def _dispatch(self, path: str, query: dict[str, str], body: bytes) -> None:
        owner = self.owner
        if path in ("/healthz", "/readyz", "/livez"):
            self._send(200, b"ok", "text/plain; charset=utf-8",
                       {"X-Content-Type-Options": "nosniff"})
            return
        if path in ("/version", "/version/"):  # kube-apiserver serves both; kr8s asks for the 2nd
            self._json(200, VERSION_INFO)
            return
        user = self._user()
        if user is None:
            raise unauthorized()
        failure = owner.faults.take_failure()
        if failure is not None:
            status, retry_after = failure
            headers = {}
            if retry_after is not None or status == 429:
                headers["Retry-After"] = str(int(retry_after if retry_after is not None else 1))
            self._json(status, _fault_body(status, retry_after), headers)
            return
        if self._discovery(path):
            return
        if path == "/openapi/v3" or path.startswith("/openapi/v3/"):
            self._openapi(path, query)
            return
        if path == "/openapi/v2" and self.command == "GET":
            self._send(*serve_openapi_v2(owner.table, self.headers.get("Accept", ""),
                                         self.headers.get("If-None-Match")))
            return
        r = route(owner.table, self.command, path, query.get("watch", "").lower()
                  in ("true", "1"))
        if user == "readonly" and r.verb in _WRITE_VERBS and r.spec.group not in _REVIEW_GROUPS:
            raise self._forbidden(user, r)
        call = Call(
            method=self.command, spec=r.spec, namespace=r.namespace, name=r.name,
            subresource=r.subresource, query=query, headers=dict(self.headers.items()),
            body=body, user_agent=self.headers.get("User-Agent", ""),
            accept=self.headers.get("Accept", "application/json"),
            content_type=self.headers.get("Content-Type", "application/json"),
            user=user, authenticate=owner.user_for,
        )
        if r.subresource == "log":  # text, whatever the Accept header says
            self._pod_log(call)
            return
        if r.subresource in _STREAMS:
            self._stream(r, call, user)
            return
        media, _ = negotiate(call.accept)  # 406 for what cannot be served at all
        if r.verb in ("create", "update"):
            check_write_options(call)  # before the body, as the real handlers do
            if body:
                call.body = _as_json(call.content_type, body)
        if r.verb == "watch":
            if r.name is not None:
                extra = f"metadata.name={r.name}"
                call.query["fieldSelector"] = ",".join(
                    p for p in (call.query.get("fieldSelector"), extra) if p)
                call.name = None
            self._watch(call)
            return
        reply = self._verb(r, call)
        self._json(reply.code, reply.body, reply.headers, reply.warnings, media)

    def _forbidden(self, user: str, r: Route) -> StatusError:
        resource = r.spec.plural + (f"/{r.subresource}" if r.subresource else "")
        subject = f'{qualified_resource(r.spec)} "{r.name}"' if r.name else \
            qualified_resource(r.spec)
        where = f'in the namespace "{r.namespace}"' if r.namespace else "at the cluster scope"
        details: dict[str, Any] = {}
        if r.name:
            details["name"] = r.name
        if r.spec.group:
            details["group"] = r.spec.group
        details["kind"] = r.spec.plural
        return StatusError(403, status_body(
            403, "Forbidden", f'{subject} is forbidden: User "{user}" cannot {r.verb} resource '
            f'"{resource}" in API group "{r.spec.group}" {where}', details))

    def _verb(self, r: Route, call: Call) -> Reply:
        api = self.owner.api
        verb, sub = r.verb, r.subresource
        if verb == "get":
            if sub == "scale":
                return get_scale(api, call)
            shape = check_transform(call, listing=False)
            reply = api.get(call)
            if shape == "Table":
                reply.body = as_table(r.spec, [reply.body], {
                    "resourceVersion": reply.body["metadata"].get("resourceVersion", "")},
                    call.query.get("includeObject"))
            elif shape in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                reply.body = partial(reply.body)
            return reply
        if verb == "list":
            return list_reply(api, call)
        if verb == "create":
            if r.spec.group in _REVIEW_GROUPS:
                return review(api, call)
            if sub == "binding":
                return api.bind(call)
            if (r.spec.group, r.spec.plural) == ("", "bindings"):
                return api.bind_named(call)
            return api.create(call)
        if verb == "update":
            if sub == "finalize":
                return api.finalize(call)
            return update_scale(api, call) if sub == "scale" else api.update(call)
        if verb == "patch":
            return patch(api, call)
        if verb == "delete":
            return api.delete(call)
        if verb == "deletecollection":
            return delete_collection(api, call)
        raise PlainNotFound()

    def _pod_log(self, call: Call) -> None:
        """``pods/{name}/log``: ``text/plain``, chunked, each chunk flushed as it comes."""
        api = self.owner.api
        stream = open_log(api.kubelet.logs, call, api.current)
        self._log(200 if stream is not None else 204)
        self.send_response(200 if stream is not None else 204)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        if stream is None:  # a Pod on no node: kube-apiserver has no kubelet to ask
            self.end_headers()
            return
        stream.client_gone = self._client_gone
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._send_chunks(stream)

    def _stream(self, r: Route, call: Call, user: str) -> None:
        """exec, attach and portforward: kube-apiserver's checks (JSON ``Status`` errors),
        the WebSocket upgrade, then the kubelet's side of the session until it ends."""
        if user == "readonly":  # a WebSocket GET needs the create permission too
            raise self._forbidden(user, dataclasses.replace(r, verb="create"))
        api = self.owner.api
        multi = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        session: Any
        if r.subresource == "portforward":
            from .spdytransport import serve_spdy_portforward, wants_spdy

            if wants_spdy(self.headers):  # kubectl port-forward
                serve_spdy_portforward(self, api, call, self._log)
                return
            pod, ports = portforward_target(api, call, multi)
            protocols = PORTFORWARD_PROTOCOLS

            def session(ws: WebSocket) -> None:
                forward_ports(ws, api, pod, ports)
        else:
            target = exec_target(call, api.current(call), multi, r.subresource == "attach")
            handler = api.kubelet.streams.handler(target.pod, target.container)
            protocols = EXEC_PROTOCOLS

            def session(ws: WebSocket) -> None:
                run_exec(ws, target, handler)
        if not is_websocket(self.headers):
            raise bad_request("Upgrade request required")
        problem = handshake_problem(self.headers, self.command)
        if problem:
            raise bad_request(problem)
        offered = offered_protocols(self.headers)
        protocol = subprotocol_for(offered, protocols)
        if protocol is None:
            raise StatusError(403, status_body(
                403, "Forbidden", f"requested protocol(s) are not supported: "
                f"[{' '.join(offered)}]; supports [{' '.join(protocols)}]"))
        self._log(101)
        run_websocket(self, protocol, session)

    def _send_chunks(self, stream: Any) -> None:
        """Write ``stream``'s byte chunks as a chunked body until it ends or the peer goes;
        the stream is closed either way (a log follow or a watch)."""
        try:
            for chunk in stream:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            stream.close()

    def _client_gone(self) -> bool:
        """Whether the peer closed the connection (an idle watch has nothing to write that
        would tell). A client sends nothing while it reads a watch: readable means EOF, or for
        TLS a ``close_notify``."""
        sock = self.connection
        try:
            if not select.select([sock], [], [], 0)[0]:
                return False
            if isinstance(sock, ssl.SSLSocket):
                return True
            return not sock.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            return True

    def _watch(self, call: Call) -> None:
        stream = open_watch(self.owner.api, call)
        stream.client_gone = self._client_gone
        self._log(200)
        self.send_response(200)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        warning = call.spec.warning()
        if warning:
            self.send_header("Warning", _warning_header(warning))
        self.end_headers()
        self.wfile.flush()
        self._send_chunks(stream)

    # -- discovery and OpenAPI -----------------------------------------------------------

    def _discovery(self, path: str) -> bool:
        owner = self.owner
        table = owner.table
        path = path.rstrip("/") or "/"
        if path in ("/api", "/apis"):
            mode = owner.options.aggregated_discovery
            accept = self.headers.get("Accept", "")
            if mode and disco.wants_aggregated(accept, mode):
                raw = table.cached(f"aggregated:{path}:{mode}",
                                   lambda: disco.encode(disco.aggregated(table, path == "/api",
                                                                         mode)))
                etag = disco.etag_of(raw)
                headers = {"Cache-Control": "public", "Etag": etag, "Vary": "Accept"}
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", disco.aggregated_content_type(mode), headers)
                else:
                    self._send(200, raw, disco.aggregated_content_type(mode), headers)
                return True
            if path == "/api":
                self._json(200, disco.legacy_api(f"127.0.0.1:{owner.port}"))
            else:
                self._json(200, disco.legacy_apis(table))
            return True
        segments = path.strip("/").split("/")
        doc: dict[str, Any] | None
        if segments[0] == "api" and len(segments) == 2:
            doc = disco.legacy_resource_list(table, "", segments[1])
        elif segments[0] == "apis" and len(segments) == 2:
            doc = disco.legacy_group(table, segments[1])
        elif segments[0] == "apis" and len(segments) == 3:
            doc = disco.legacy_resource_list(table, segments[1], segments[2])
        else:
            return False
        if doc is None:
            raise PlainNotFound()
        self._json(200, doc)
        return True

    def _openapi(self, path: str, query: dict[str, str]) -> None:
        owner = self.owner
        if not owner.options.openapi_v3:
            raise PlainNotFound()
        code, body, content_type, headers = serve_openapi(owner.table, path, query,
                                                          self.headers.get("If-None-Match"))
        self._send(code, body, content_type, headers)
