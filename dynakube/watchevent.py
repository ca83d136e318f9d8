"""Watch events, decoded: pure, no I/O, shared by every watch and by the tests.

A watch stream is newline-delimited JSON. :func:`decode_event` reads one line;
:func:`decode_added_batch` reads many ADDED lines of a watch-list's initial events with one
``json.loads``, so the objects share their key strings (the decoder's memo) and a large sync
costs what a paginated list costs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from . import bulkjson
from ._record import Record
from .errors import ApiError, TransportError, error_from_response

__all__ = ["ADDED_PREFIXES", "BATCH_SIZE", "INITIAL_EVENTS_END", "WatchDecoder", "WatchEvent",
           "decode_added_batch", "decode_event"]

#: The annotation on the BOOKMARK that ends the initial events of a streaming watch-list.
INITIAL_EVENTS_END = "k8s.io/initial-events-end"

#: How the initial ADDED lines start (compact, as kube-apiserver writes them, or spaced):
# these are decoded in batches of up to BATCH_SIZE lines.
ADDED_PREFIXES = (b'{"type":"ADDED",', b'{"type": "ADDED", ')
BATCH_SIZE = 500
_EVENT_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"})


class WatchEvent(Record):
    """One watch event: ``type`` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."""

    type: str
    object: dict[str, Any]

    def __init__(self, type: str, object: dict[str, Any]) -> None:  # noqa: A002
        # Record's own __init__, unrolled: a watch makes one per event, so this is hot
        values = self.__dict__
        values["type"] = type
        values["object"] = object

    @property
    def resource_version(self) -> str | None:
        """The object's ``metadata.resourceVersion`` (None for ERROR events)."""
        meta = self.object.get("metadata")
        rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        return str(rv) if rv else None

    @property
    def ends_initial_events(self) -> bool:
        """Whether this is the BOOKMARK that ends the initial events of a watch-list."""
        if self.type != "BOOKMARK":
            return False
        meta = self.object.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        return isinstance(annotations, dict) and annotations.get(INITIAL_EVENTS_END) == "true"

    def as_error(self) -> ApiError | None:
        """For an ERROR event, the matching ``ApiError`` (``GoneError`` for 410/Expired)."""
        if self.type != "ERROR":
            return None
        code = self.object.get("code")
        return error_from_response(code if isinstance(code, int) else 500, self.object)


def decode_event(line: bytes | str) -> WatchEvent:
    """Decode one line of a watch stream; an undecodable line is a ``TransportError``.

    ERROR events are returned like any other; :meth:`WatchEvent.as_error` gives the exception.
    """
    try:
        data = json.loads(line)
    except ValueError as e:
        raise TransportError(f"undecodable watch event: {line[:200]!r}") from e
    if not isinstance(data, dict):
        raise TransportError(f"watch event is not a JSON object: {line[:200]!r}")
    kind, obj = data.get("type"), data.get("object")
    if kind not in _EVENT_TYPES or not isinstance(obj, dict):
        raise TransportError(f"malformed watch event (type {kind!r}): {line[:200]!r}")
    return WatchEvent(kind, obj)


class WatchDecoder:
    """Deprecated since 1.0.0 (nothing in dynakube uses it): split lines, then :func:`decode_event`.

    Incremental decoder for raw chunks of a watch stream, split anywhere.
    """

    def __init__(self) -> None:
        import warnings

        warnings.warn("dynakube.watch.WatchDecoder is deprecated since dynakube 1.0.0; split "
                      "the stream into lines and use decode_event", DeprecationWarning,
                      stacklevel=2)
        self._pending = b""

    def feed(self, chunk: bytes) -> list[WatchEvent]:
        """Events completed by ``chunk``; a partial last line waits for the next chunk."""
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        return [decode_event(line) for line in lines if line.strip()]

    def finish(self) -> list[WatchEvent]:
        """At the end of the stream: the last line if it was complete JSON without newline."""
        rest, self._pending = self._pending, b""
        return [decode_event(rest)] if rest.strip() else []


def decode_added_batch(lines: list[bytes]) -> Iterable[WatchEvent]:
    """Decode a batch of ADDED lines with one ``json.loads``; line by line if that fails.

    Line by line, lazily: the events before a bad line are delivered, then the bad line is
    reported exactly as :func:`decode_event` does.
    The batch is decoded with the cyclic collector paused (:mod:`dynakube.bulkjson`): its
    objects go to a growing cache, however few arrived together.
    """
    if len(lines) > 1:
        try:
            data = bulkjson.loads(b"[" + b",".join(lines) + b"]", large=0)
        except ValueError:
            data = None
        if type(data) is list and len(data) == len(lines):  # one value per line, no more
            events = []
            for item in data:
                obj = item.get("object") if type(item) is dict else None
                if type(obj) is not dict or item.get("type") != "ADDED":
                    break
                events.append(WatchEvent("ADDED", obj))
            else:
                return events
    return map(decode_event, lines)

