"""What every layer of the embedded server shares about one request: the parsed call, its
reply, the server's switches, and the :class:`ApiState` protocol.

The HTTP layer builds a :class:`Call`, a verb turns it into a :class:`Reply`. The kind rules
(``rules/``) and the garbage collector need the server's state but must not import the verbs
that call them, so they type against :class:`ApiState`, the few members of
:class:`~.verbs.crud.Api` they use. Nothing here imports ``http/``, ``verbs/`` or ``rules/``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .kinds.specs import KindSpec
from .objects import Obj
from .status import bad_request
from .storage.resources import ResourceTable
from .storage.store import ObjectStore, storage_key

__all__ = ["ApiState", "Call", "Options", "PodStopper", "Reply", "USERS"]

USERS: dict[str, dict[str, Any]] = {
    "admin": {"groups": ["system:masters", "system:authenticated"], "uid": "admin-uid",
              "username": "admin"},
    "readonly": {"groups": ["system:authenticated"], "uid": "readonly-uid",
                 "username": "readonly"},
}
"""Who the server's tokens authenticate as (``Call.user`` names one), as a review answers."""

_INT = re.compile(r"[+-]?[0-9]+")


@dataclass
class Options:
    """Switches that make the server behave like an older one (see issue 9), and its timings.

    ``resource_version_wait``: how long a list, or a watch with ``sendInitialEvents=true``,
    from a resourceVersion the store has not reached waits for it before the ``504 Too large
    resource version`` (kube-apiserver's watch cache waits 3 s). ``stream_creation_timeout``:
    how long the kubelet stand-in waits for a client to open both streams of a SPDY
    port-forward connection before it gives up on them (the kubelet's
    ``streamCreationTimeout``, 30 s by default).
    """

    aggregated_discovery: str | None = "v2"
    openapi_v3: bool = True
    watch_list: bool = True
    server_side_apply: bool = True
    bookmark_interval: float = 60.0
    resource_version_wait: float = 3.0
    stream_creation_timeout: float = 30.0


@dataclass
class Call:
    """One parsed API request on a resource."""

    method: str
    spec: KindSpec
    namespace: str | None
    name: str | None
    subresource: str | None
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    user_agent: str = ""
    accept: str = "application/json"
    content_type: str = "application/json"
    user: str | None = None
    """Who is asking: ``admin``, ``readonly`` (the forbidden token), or None inside the
    server."""
    authenticate: Callable[[str | None], str | None] | None = None
    """The server's token check, for ``TokenReview``."""

    def flag(self, key: str) -> bool:
        return self.query.get(key, "").lower() in ("true", "1")

    def int_param(self, key: str) -> int | None:
        """An int64 query parameter (None when absent or empty); a ``400`` worded like Go's
        ``strconv.ParseInt`` for anything else."""
        text = self.query.get(key)
        if not text:
            return None
        if not _INT.fullmatch(text):
            raise bad_request(f'strconv.ParseInt: parsing "{text}": invalid syntax')
        value = int(text)
        if not -(2**63) <= value < 2**63:
            raise bad_request(f'strconv.ParseInt: parsing "{text}": value out of range')
        return value

    @property
    def key(self) -> str:
        """The storage key of the object the request names."""
        return storage_key(self.namespace if self.spec.namespaced else None, self.name or "")

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"


@dataclass
class Reply:
    """An answer: JSON ``body`` (or a stream) with ``code`` and extra headers."""

    code: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stream: Any = None


class PodStopper(Protocol):
    """The kubelet stand-in: told when a bound Pod starts a graceful delete."""

    def terminating(self, namespace: str, name: str, uid: str, grace: int) -> None:
        """The Pod ``namespace/name`` (``uid``) must stop within ``grace`` seconds."""
        ...


class ApiState(Protocol):
    """The server state the kind rules and the garbage collector read and change.

    :class:`~.verbs.crud.Api` is the one implementation; the rules never import it.
    """

    store: ObjectStore
    table: ResourceTable
    options: Options
    write_lock: threading.RLock
    ca_pem: str
    restores_defaults: bool
    """Whether the controllers that make a namespace's defaults put deleted ones back."""

    @property
    def kubelet(self) -> PodStopper:
        """Told about bound Pods that start a graceful delete."""
        ...

    def bucket(self, spec: KindSpec) -> str:
        """The storage bucket of ``spec``'s resource."""
        ...

    def all_of(self, plural: str, group: str = "") -> list[Obj]:
        """Every stored object of a built-in resource (for allocators)."""
        ...

    def namespace_obj(self, name: str) -> Obj | None:
        """The stored Namespace ``name``, if any."""
        ...

    def remove(self, spec: KindSpec, key: str, final: Obj, *, orphan: bool = False) -> None:
        """Take an object out of storage for good (under the write lock), then cascade."""
        ...

    def make(self, group: str, plural: str, namespace: str | None, obj: Obj,
             manager: str) -> None:
        """Create ``obj`` as a controller does (``manager`` in managedFields); one that
        exists already is left alone."""
        ...

    def delete_stored(self, spec: KindSpec, key: str, grace: int | None = None) -> None:
        """Delete a stored object as a controller does: graceful for a bound Pod,
        terminating for one with finalizers, gone otherwise."""
        ...
