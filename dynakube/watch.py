"""Watches that never lose an event: decoding, resuming, bookmarks and prompt stopping.

A Kubernetes watch is a long HTTP response of newline-delimited JSON events. Servers end it
at their ``timeoutSeconds``, proxies drop it, compaction expires its resourceVersion. This
module turns that into one iterator: :class:`Watch` resumes from the last resourceVersion it
saw (bookmarks included), so it never re-delivers nor skips an event. Reconnects back off
exponentially with jitter (client-go's 0.8 s doubling to 30 s) unless the stream that broke
had stayed up a while: a proxy that cuts every stream after one chunk costs a few requests a
minute, not hundreds a second. A ``410``/``Expired`` is raised as
:class:`~dynakube.errors.GoneError`, and a resourceVersion the server no longer reaches (an
ERROR ``ResourceVersionTooLarge``, events older than the watch's own position, or, after a
broken connection, a server whose current resourceVersion is below it: the server was
restored or restarted empty) as :class:`~dynakube.errors.ResourceVersionTooLargeError`,
because only a relist (the informer's job) can recover from either. The initial events of
a watch-list are decoded in batches, so a sync costs what a paginated list does, in time and
in memory (the objects of one batch share their key strings).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any, Protocol

from .backoff import Backoff
from .errors import (
    ApiError,
    DynakubeError,
    GoneError,
    InvalidArgumentError,
    ResourceVersionTooLargeError,
    ServerError,
    TooManyRequestsError,
    TransportError,
)
from .meta import object_key
from .request import ApiRequest, Sender, query_pairs
from .watchevent import (
    ADDED_PREFIXES,
    BATCH_SIZE,
    INITIAL_EVENTS_END,
    WatchDecoder,
    WatchEvent,
    decode_added_batch,
    decode_event,
)

__all__ = [
    "INITIAL_EVENTS_END",
    "WATCH_LIST_REFUSED",
    "Backoff",
    "Sender",
    "Watch",
    "WatchDecoder",
    "WatchEvent",
    "decode_event",
    "object_key",
]

log = logging.getLogger(__name__)

# Errors worth waiting out and retrying; anything else is the caller's to see.
_RETRYABLE = (TransportError, TooManyRequestsError, ServerError)

WATCH_LIST_REFUSED = (400, 403, 405, 415, 422)
"""Answers to ``sendInitialEvents=true`` that mean "this server does not do watch-list"
(422 Forbidden without the ``WatchList`` feature; older servers and proxies answer 400-415)."""

_LIST_PAGE = 500

# The steps the watch's machine asks its driver for (see Watch._machine), as tuples:
# (SEND, request, stream, read_timeout) -> the response; (NEXT_LINE, lines) -> the next line
# of a stream or None at its end; (SLEEP, seconds) -> False when the watch should end.
SEND, NEXT_LINE, SLEEP = "send", "next-line", "sleep"

#: The machine: yields events for the caller and step tuples for its driver.
_Machine = Generator[Any, Any, None]


class _Initial:
    """What the initial-events phase remembers across restarts of its stream."""

    __slots__ = ("yielded", "seen", "restarted", "received")

    def __init__(self) -> None:
        self.yielded: dict[str, dict[str, Any]] = {}  # key -> object, until the end bookmark
        self.seen: set[str] = set()  # keys delivered again since a restart
        self.restarted = False
        self.received = False  # the current stream delivered something


class _StreamResponse(Protocol):
    def iter_lines(self) -> Iterator[bytes]: ...
    def json(self) -> Any: ...
    def close(self) -> None: ...


class Watch:
    """An iterator of :class:`WatchEvent` over one collection that resumes by itself.

    What it yields: ``path`` is a collection path (``dynakube.request.resource_path``). With
    no ``resource_version`` the watch starts *now* (the current resourceVersion is read with a
    one-item list): objects that already exist are not yielded, only what changes from then
    on. ``send_initial_events=True`` asks the server for the current objects first, as ADDED
    events ended by a BOOKMARK annotated ``k8s.io/initial-events-end`` (the streaming
    watch-list); a server without watch-list refuses it with an :class:`ApiError` (a ``422``),
    which is the caller's to handle. ``include_existing=True`` gives the current objects
    first on every server, as ``kubectl get -w`` does: by watch-list where it is served, else
    (or with ``send_initial_events=False``) by a paginated list whose items come as ADDED
    events, then a watch from that list's resourceVersion, so nothing falls in between; the
    end of the initial objects is a BOOKMARK annotated ``k8s.io/initial-events-end`` either
    way, yielded when ``bookmarks`` is true. BOOKMARKs are
    always requested and advance :attr:`resource_version`; they are yielded only when
    ``bookmarks`` is true. ``timeout`` bounds the whole watch (the iterator just ends);
    ``server_timeout`` is the range each request's ``timeoutSeconds`` is drawn from;
    ``read_timeout`` detects half-dead connections: servers send a bookmark about once a
    minute, so the default is that plus a margin. A stream counts as healthy once it stayed
    up ``healthy_after`` seconds (or its whole ``timeoutSeconds``): after a healthy stream the
    watch reconnects at once; otherwise the first reconnect is immediate and the next ones
    wait for ``backoff``. ``initial_attempts`` caps how many streams may break before the
    initial events end (a ``TransportError`` then; None: no cap). :attr:`last_error` holds
    the failure of the latest attempt until a stream delivers again. :meth:`stop` may be
    called from any thread.
    """

    def __init__(
        self,
        transport: Sender,
        path: str,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        send_initial_events: bool | None = None,
        bookmarks: bool = False,
        timeout: float | None = None,
        server_timeout: tuple[float, float] = (300.0, 600.0),
        read_timeout: float = 75.0,
        backoff: Backoff | None = None,
        healthy_after: float = 10.0,
        initial_attempts: int | None = None,
        include_existing: bool = False,
    ):
        if timeout is not None and timeout < 0:
            raise InvalidArgumentError(f"timeout must be >= 0 seconds, got {timeout}")
        low, high = server_timeout
        if not 1 <= low <= high:
            raise InvalidArgumentError("server_timeout must be (low, high) with 1 <= low <= high")
        if read_timeout <= 0 or healthy_after < 0:
            raise InvalidArgumentError("read_timeout must be > 0 and healthy_after >= 0 seconds")
        if include_existing and resource_version:
            raise InvalidArgumentError("include_existing yields the objects that exist now: "
                                       "pass no resource_version with it")
        if initial_attempts is not None and initial_attempts < 1:
            raise InvalidArgumentError(f"initial_attempts must be >= 1, got {initial_attempts}")
        self.transport = transport
        self.path = path
        self.resource_version: str | None = resource_version or None
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.send_initial_events = send_initial_events
        self.bookmarks = bookmarks
        self.timeout = timeout
        self.server_timeout = server_timeout
        self.read_timeout = read_timeout
        self.backoff = backoff or Backoff()
        self.healthy_after = healthy_after
        self.initial_attempts = initial_attempts
        #: How many watch requests were opened (for tests and diagnostics).
        self.requests = 0
        #: The failure of the latest attempt; None again once a stream delivers.
        self.last_error: DynakubeError | None = None
        #: ``time.monotonic()`` when the server was last heard from (a stream opened, a line
        #: arrived); None before the first answer. Liveness checks read it.
        self.alive_at: float | None = None
        self._floor: int | None = None  # the resourceVersion this stream started from
        self._verify = False  # the connection broke: the server may have restarted since
        self._asked = 0  # the timeoutSeconds this stream asked for
        self._start_rv = self.resource_version
        self.include_existing = include_existing
        # include_existing: a list instead of watch-list (asked for, or the server refused)
        self._list_pending = include_existing and send_initial_events is False
        self._initial_pending = bool(send_initial_events) or (include_existing and
                                                              not self._list_pending)
        self._heard_initial = False  # an initial-events stream delivered something
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._response: _StreamResponse | None = None
        self._gen: Iterator[WatchEvent] | None = None
        self._timer: threading.Timer | None = None

    # -- public ---------------------------------------------------------------------------
    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> WatchEvent:
        if self._gen is None:
            self._gen = self._run()
            if self._deadline is not None:  # end a blocked read right at the deadline
                left = max(0.0, self._deadline - time.monotonic())
                self._timer = threading.Timer(left, self._close_live)
                self._timer.daemon = True
                self._timer.start()
        return next(self._gen)

    def stop(self) -> None:
        """End the watch promptly, from any thread: the iterator finishes without error."""
        self._stopped.set()
        timer = self._timer
        if timer is not None:
            timer.cancel()
        self._close_live()

    def _close_live(self) -> None:
        with self._lock:
            response = self._response
        if response is not None:
            try:
                response.close()
            except Exception:  # closing a broken connection may fail; it is gone anyway
                log.debug("closing the watch response failed", exc_info=True)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Watch {self.path} rv={self.resource_version}>"

    # -- internals ------------------------------------------------------------------------
    def _remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    def _expired(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _sleep(self, seconds: float) -> bool:
        """Wait (stoppable, deadline-bounded); False when the watch should end instead."""
        remaining = self._remaining()
        if remaining is not None:
            seconds = min(seconds, max(remaining, 0.0))
        return not self._stopped.wait(seconds) and not self._expired()

    def _query(self, seconds: int) -> tuple[tuple[str, str], ...]:
        initial = self._initial_pending
        return query_pairs([
            ("watch", True),
            ("resourceVersion", self._start_rv if initial else self.resource_version),
            ("labelSelector", self.label_selector),
            ("fieldSelector", self.field_selector),
            ("allowWatchBookmarks", True),
            ("sendInitialEvents", True if initial else None),
            ("resourceVersionMatch", "NotOlderThan" if initial else None),
            ("timeoutSeconds", seconds),
        ])

    # -- the step machine ----------------------------------------------------------------
    # Everything a watch decides is in :meth:`_machine`, a generator that does no I/O: it
    # yields the events for the caller and, when it must wait, a step (a tuple) that its
    # driver performs and answers (a failure is thrown back in). :meth:`_run` drives it
    # with the sync transport; ``dynakube.aio.AsyncWatch`` drives the same machine on a loop.

    def _run(self) -> Iterator[WatchEvent]:
        machine = self._machine()
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    item = machine.throw(error) if error is not None else machine.send(value)
                except StopIteration:
                    return
                value = error = None
                if type(item) is not tuple:
                    yield item
                    continue
                try:  # the next line is most steps: asked here, without a call to _perform
                    value = next(item[1], None) if item[0] is NEXT_LINE else self._perform(item)
                except Exception as e:  # the machine decides what a failure means
                    error = e
        finally:
            machine.close()
            if self._timer is not None:
                self._timer.cancel()

    def _perform(self, step: tuple[Any, ...]) -> Any:
        """Do one step of the machine (other than NEXT_LINE) with the sync transport."""
        kind = step[0]
        if kind is SEND:
            if step[2]:
                return self.transport.send(step[1], stream=True, read_timeout=step[3])
            return self.transport.send(step[1])
        return self._sleep(step[1])

    def _machine(self) -> _Machine:
        while True:
            if self._list_pending:
                yield from self._listed()
            try:
                yield from self._events()
                return
            except ApiError as e:
                if not self._refused_watch_list(e):
                    raise
                log.info("watch %s: watch-list refused (%s); listing instead", self.path, e)
                self._initial_pending, self._list_pending = False, True

    def _current_resource_version(self) -> Generator[Any, Any, str]:
        request = ApiRequest("GET", self.path, query_pairs([("limit", 1)]))
        body = (yield (SEND, request, False, None)).json()
        meta = body.get("metadata") if isinstance(body, dict) else None
        rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if not rv:
            raise TransportError(f"the list of {self.path} has no metadata.resourceVersion")
        return str(rv)

    def _open(self) -> Generator[Any, Any, Any]:
        """Start one watch request; None when stopped or out of time. Retries what is worth it."""
        while not self._stopped.is_set() and not self._expired():
            try:
                if self.resource_version is None and not self._initial_pending:
                    self.resource_version = self._start_rv = \
                        yield from self._current_resource_version()
                elif self._verify and not self._initial_pending:
                    yield from self._check_not_behind()
                low, high = self.server_timeout
                seconds = random.uniform(low, high)
                remaining = self._remaining()
                if remaining is not None:
                    seconds = min(seconds, remaining)
                self._asked = max(1, int(seconds + 0.999))
                request = ApiRequest("GET", self.path, self._query(self._asked))
                read_timeout = self.read_timeout
                if remaining is not None:
                    read_timeout = min(read_timeout, remaining + 1.0)
                self._floor = None if self._initial_pending else _number(self.resource_version)
                self.requests += 1
                response = yield (SEND, request, True, read_timeout)
                self.alive_at = time.monotonic()
                return response
            except _RETRYABLE as e:
                self.last_error = e
                self._verify = self._verify or isinstance(e, TransportError)
                delay = self.backoff.next()
                log.info("watch %s: %s; retrying in %.2fs", self.path, e, delay)
                if not (yield (SLEEP, delay)):
                    return None
        return None

    def _check_not_behind(self) -> Generator[Any, Any, None]:
        """After a broken connection: is the server still at or past our resourceVersion?

        A server restarted empty or restored from a backup accepts a watch from a version it
        has not reached and stays silent until it gets there, so the watch would miss all it
        does meanwhile. One small list (``limit=1``, a consistent read) tells.
        """
        current = _number((yield from self._current_resource_version()))
        ours = _number(self.resource_version)
        self._verify = False
        if current is not None and ours is not None and current < ours:
            raise self._went_backwards(f"the server is at {current}")

    def _advance(self, event: WatchEvent) -> None:
        """Move :attr:`resource_version` to ``event``'s; one below the start is a reset server.

        Events on a watch from resourceVersion N all come after N. One from before it means
        the server's history went backwards (restored from a backup, or restarted empty):
        what happened there since N was never sent and will not be.
        """
        rv = event.resource_version
        if not rv:
            return
        floor = self._floor
        if floor is not None:
            number = _number(rv)
            if number is not None and number < floor:
                raise self._went_backwards(f"it sent {event.type} at {rv}")
        self.resource_version = rv

    def _went_backwards(self, what: str) -> ResourceVersionTooLargeError:
        message = (f"resourceVersion went backwards: a watch of {self.path} is at "
                   f"{self.resource_version} but {what}; the server's history was reset "
                   "(restored from a backup, or restarted empty): list again")
        self.last_error = error = ResourceVersionTooLargeError(504, {
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 504,
            "reason": "Timeout", "message": message,
            "details": {"causes": [{"reason": "ResourceVersionTooLarge",
                                    "message": "Too large resource version"}]}})
        return error

    def _refused_watch_list(self, error: ApiError) -> bool:
        """An ``include_existing`` watch whose watch-list the server refused outright."""
        return (self.include_existing and self._initial_pending and not self._heard_initial
                and error.code in WATCH_LIST_REFUSED and not isinstance(error, GoneError))

    def _listed(self) -> _Machine:
        """The current objects as ADDED events (a paginated list, retried like a watch
        request), then the watch goes on from the list's resourceVersion."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while not self._stopped.is_set() and not self._expired():
            query = query_pairs([("labelSelector", self.label_selector),
                                 ("fieldSelector", self.field_selector),
                                 ("limit", _LIST_PAGE), ("continue", token)])
            try:
                page = (yield (SEND, ApiRequest("GET", self.path, query), False, None)).json()
            except _RETRYABLE as e:
                self.last_error = e
                if not (yield (SLEEP, self.backoff.next())):
                    return
                continue
            except GoneError:  # the continue token expired: list again from the start
                items, token = [], None
                continue
            kind = str(page.get("kind") or "")
            for item in page.get("items") or ():
                # list items come without apiVersion/kind; fill them in as client-go does
                item.setdefault("kind", kind.removesuffix("List"))
                item.setdefault("apiVersion", page.get("apiVersion"))
                items.append(item)
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            if token is None:
                break
        else:
            return
        rv = str(meta.get("resourceVersion") or "")
        if not rv:
            raise TransportError(f"the list of {self.path} has no metadata.resourceVersion")
        self.resource_version = self._start_rv = rv
        self._list_pending, self.last_error = False, None
        for item in items:
            yield WatchEvent("ADDED", item)
        if self.bookmarks:
            yield WatchEvent("BOOKMARK", {"kind": kind.removesuffix("List"),
                                          "apiVersion": page.get("apiVersion"),
                                          "metadata": {"resourceVersion": rv, "annotations": {
                                              INITIAL_EVENTS_END: "true"}}})

    def _events(self) -> _Machine:
        # Objects yielded during the initial events (key -> object), kept only until the
        # end bookmark: a restart of that phase must not re-deliver nor lose anything.
        phase = _Initial()
        broken_initial = 0
        quick = True  # the first reconnect after a healthy stream (or at the start) is at once
        while not self._stopped.is_set() and not self._expired():
            response = yield from self._open()
            if response is None:
                return
            with self._lock:
                self._response = response
            if self._stopped.is_set() or self._expired():
                with self._lock:
                    self._response = None
                response.close()
                return
            started, failure = time.monotonic(), None
            phase.received = False
            try:
                if (yield from self._read(response, phase)):
                    return  # stopped or out of time
            except GoneError as e:  # ResourceVersionTooLargeError too: only a relist helps
                self.last_error = e
                raise
            except _RETRYABLE as e:
                if self._stopped.is_set() or self._expired():
                    return
                if isinstance(e, ApiError) and self._initial_pending:
                    raise  # an ERROR event instead of the initial state: the caller decides
                self.last_error = failure = e
                self._verify = self._verify or isinstance(e, TransportError)
            finally:
                with self._lock:
                    self._response = None
                response.close()
            # The stream broke, or the server ended it (its timeoutSeconds, a restart): resume.
            if self._initial_pending:
                phase.restarted, phase.seen = True, set()
                broken_initial += 1
                if self.initial_attempts is not None and broken_initial >= self.initial_attempts:
                    raise TransportError(
                        f"the initial events of {self.path} broke off {broken_initial} times "
                        f"before their end bookmark (last: "
                        f"{failure or 'the server ended the stream'})") from failure
            lived = time.monotonic() - started
            if lived >= min(self.healthy_after, self._asked):
                self.backoff.reset()
                quick = True
            if quick:  # one failure after a healthy period: reconnect at once
                quick = False
                log.info("watch %s at rv %s ended after %.1fs (%s); resuming", self.path,
                         self.resource_version, lived, failure or "closed by the server")
                continue
            # A stream that did not stay up: back off (client-go's backoff manager), so a
            # proxy or server cutting every stream early never sees a tight loop.
            delay = self.backoff.next()
            log.info("watch %s at rv %s ended after %.1fs (%s); resuming in %.2fs", self.path,
                     self.resource_version, lived, failure or "closed by the server", delay)
            if not (yield (SLEEP, delay)):
                return

    def _read(self, response: Any, phase: _Initial) -> Generator[Any, Any, bool]:
        """One stream's lines in order, the initial ADDED events decoded in batches (of
        ``BATCH_SIZE`` lines, or up to the first other line: the end bookmark comes right after
        the initial objects, so nothing waits long) by one ``json.loads`` each, whose key memo
        then shares every key string among its objects. Lines that arrived whole before the
        stream broke are delivered before the failure. True when the watch should end."""
        lines = response.iter_lines()
        try:
            return (yield from self._read_lines(lines, phase))
        finally:
            # a sync stream's line generator ends here, on this thread, as a for loop would
            # end it (a stored error's traceback would otherwise keep it for the GC)
            close = getattr(lines, "close", None)
            if close is not None:
                close()

    def _read_lines(self, lines: Any, phase: _Initial) -> Generator[Any, Any, bool]:
        batch: list[bytes] = []
        while True:
            try:
                line = yield (NEXT_LINE, lines)
            except Exception:
                if batch:
                    yield from self._deliver(batch, phase)
                raise
            if line is None:
                if batch:
                    yield from self._deliver(batch, phase)
                return self._stopped.is_set() or self._expired()
            self.alive_at = time.monotonic()
            if not self._initial_pending and not batch:  # the steady state: one line, one event
                if line.strip():
                    event = self._received(decode_event(line), phase)
                    self._advance(event)
                    if event.type != "BOOKMARK" or self.bookmarks:
                        yield event
                    if self._stopped.is_set() or self._expired():
                        return True
                continue
            if self._initial_pending and line.startswith(ADDED_PREFIXES):
                batch.append(line)
                if len(batch) < BATCH_SIZE:
                    continue
            elif batch:
                yield from self._deliver(batch, phase)
                if self._stopped.is_set() or self._expired():
                    return True
                batch = [line] if line.strip() else []
            elif line.strip():
                batch = [line]
            if batch:
                yield from self._deliver(batch, phase)
                batch = []
                if self._stopped.is_set() or self._expired():
                    return True

    def _deliver(self, group: list[bytes], phase: _Initial) -> Iterator[WatchEvent]:
        """The events of one group of lines of the initial-events phase, as the caller is to
        see them: a batch of ADDED lines, or one other line (the end bookmark among them).
        Lines after the phase take the steady-state path of :meth:`_read_lines`."""
        for event in decode_added_batch(group):
            self._received(event, phase)
            if event.type == "ADDED":  # the bulk of a sync: keep it lean
                key = _key(event.object)
                if key not in phase.yielded:
                    if phase.restarted:
                        phase.seen.add(key)
                    phase.yielded[key] = event.object
                    yield event
                    continue
            yield from self._initial_event(event, phase.yielded, phase.seen, phase.restarted)
            if not self._initial_pending:
                phase.yielded, phase.seen, phase.restarted = {}, set(), False
                self._floor = _number(self.resource_version)

    def _received(self, event: WatchEvent, phase: _Initial) -> WatchEvent:
        """``event``, unless it is an ERROR (raised); the first one marks the stream as heard."""
        if event.type == "ERROR":
            error = event.as_error()
            if error is not None:
                raise error
        if not phase.received:
            phase.received, self.last_error = True, None
            self._heard_initial = self._heard_initial or self._initial_pending
        return event

    def _initial_event(self, event: WatchEvent, yielded: dict[str, dict[str, Any]],
                       seen: set[str], restarted: bool) -> Iterator[WatchEvent]:
        """One event of the initial-events phase, de-duplicated across restarts of it."""
        if event.type == "BOOKMARK":
            if not event.ends_initial_events:
                return
            if restarted:  # objects delivered before a restart that are gone now
                for key in [k for k in yielded if k not in seen]:
                    yield WatchEvent("DELETED", yielded.pop(key))
            self._initial_pending = False
            self.resource_version = event.resource_version or self.resource_version
            if self.bookmarks:
                yield event
            return
        key = _key(event.object)
        seen.add(key)
        previous = yielded.get(key)
        yielded[key] = event.object
        if event.type == "DELETED":
            yielded.pop(key, None)
            if previous is not None:
                yield event
            return
        if previous is None:
            yield WatchEvent("ADDED", event.object)
            return
        old_meta, new_meta = previous["metadata"], event.object["metadata"]  # keyed: dicts
        if old_meta.get("uid") != new_meta.get("uid"):
            yield WatchEvent("DELETED", previous)
            yield WatchEvent("ADDED", event.object)
        elif old_meta.get("resourceVersion") != new_meta.get("resourceVersion"):
            yield WatchEvent("MODIFIED", event.object)


def _key(obj: dict[str, Any]) -> str:
    """:func:`~dynakube.meta.object_key` without its checks for the decoded dicts it gets."""
    meta = obj.get("metadata")
    if type(meta) is dict:
        name = meta.get("name")
        if name and type(name) is str:
            ns = meta.get("namespace")
            if not ns:
                return name
            if type(ns) is str:
                return f"{ns}/{name}"
    return object_key(obj)


def _number(resource_version: str | None) -> int | None:
    """A resourceVersion as a number when it is one (etcd's are); None otherwise or for 0."""
    if not resource_version or not resource_version.isdigit():
        return None
    return int(resource_version) or None
