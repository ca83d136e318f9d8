"""The message socket the streaming verbs (exec, attach, port-forward) run their sessions on.

The HTTP layer upgrades the request to a WebSocket (``http/websocket.py``) and hands the verbs
this small interface, so a verb never sees HTTP, and the framing stays a protocol library's
job. One thread reads (:meth:`MessageSocket.recv`); any thread may send.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["CHUNK_BYTES", "MessageSocket"]

CHUNK_BYTES = 32 * 1024
"""The most one data message carries: output of any size flows in bounded pieces."""


class MessageSocket(Protocol):
    """A WebSocket after the upgrade: whole binary messages both ways."""

    @property
    def subprotocol(self) -> str:
        """The subprotocol both sides agreed on (``v5.channel.k8s.io``, ...)."""
        ...

    def send(self, data: bytes) -> None:
        """Send one binary message; blocks while the peer is slow to read (back-pressure);
        raises ``BrokenPipeError`` once the connection is gone or closed."""
        ...

    def recv(self) -> bytes | None:
        """The next message the peer sent; None once the connection is closed."""
        ...

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake (once); :meth:`recv` then drains to the peer's reply."""
        ...
