"""The listening socket of the embedded server: accept, TLS, and the open connections.

A thread per connection (HTTP/1.1 keep-alive, long watches). The listen backlog is
``request_queue_size``: socketserver's default of 5 reset about 0.5 % of connections with 20
concurrent clients, so it is raised to what a busy test suite can open at once. Open
connections are tracked so that :meth:`~..server.ApiServer.stop` can shut them all.
"""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .owner import ServerOwner

__all__ = ["Listener", "LISTEN_BACKLOG"]

LISTEN_BACKLOG = 128
"""Connections the kernel queues before ``accept``: 20+ concurrent clients never see resets."""


class Listener(ThreadingHTTPServer):
    """The HTTP(S) server socket of one :class:`~..server.ApiServer`."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], owner: ServerOwner,
                 handler: type[BaseHTTPRequestHandler],
                 ssl_context: ssl.SSLContext | None = None):
        self.owner = owner
        self.ssl_context = ssl_context
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        with self.conn_lock:
            self.connections.add(sock)
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer is not the server's problem
