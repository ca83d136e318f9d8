"""What the HTTP layer needs from the server that owns it, as protocols.

:class:`~..server.ApiServer` satisfies :class:`ServerOwner`; the handler, the listener and the
OpenAPI endpoint type against these, so the HTTP layer never imports ``server.py`` (which
imports it).
"""

from __future__ import annotations

from typing import Protocol

from ..call import Options
from ..storage.resources import ResourceTable
from ..verbs.crud import Api
from .requestlog import RequestLog

__all__ = ["FaultSource", "ServerOwner"]


class FaultSource(Protocol):
    """The injected misbehaviour the handler applies before answering."""

    @property
    def delay_seconds(self) -> float:
        """How long to hold every answer (0: not at all)."""
        ...

    def take_failure(self) -> tuple[int, float | None] | None:
        """The next injected ``(status, retry_after)``, or None to answer normally."""
        ...


class ServerOwner(Protocol):
    """The server state one HTTP request reads: verbs, served kinds, switches, auth, faults."""

    @property
    def api(self) -> Api: ...

    @property
    def table(self) -> ResourceTable: ...

    @property
    def options(self) -> Options: ...

    @property
    def port(self) -> int: ...

    @property
    def requests(self) -> RequestLog: ...

    @property
    def faults(self) -> FaultSource: ...

    def user_for(self, token: str | None) -> str | None:
        """``"admin"``, ``"readonly"``, or None when the token is not accepted."""
        ...
