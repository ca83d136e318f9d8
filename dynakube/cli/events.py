"""``dynakube events [--for TYPE/NAME] [--types=Warning] [-A]``: the namespace's events,
oldest first, in kubectl's ``events`` table (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE).

An event's time is its series' last observation, else its ``lastTimestamp``, else its
``eventTime``, as kubectl sorts them; ``LAST SEEN`` says ``0s (x3 over 5m)`` for repeated
events. ``--for`` asks the server only for the events about that object (a field selector on
``involvedObject``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..apiserver.kinds.printers import human_duration, parse_time
from .printing import format_table
from .session import Session, UsageError

__all__ = ["cmd_events", "event_rows", "event_time"]

_TYPES = ("Normal", "Warning")


def event_time(event: Mapping[str, Any]) -> float:
    """When the event last happened (kubectl's sort key); 0 when it says nothing."""
    series = event.get("series") or {}
    for value in (series.get("lastObservedTime"), event.get("lastTimestamp"),
                  event.get("eventTime")):
        seconds = parse_time(value)
        if seconds is not None:
            return seconds
    return 0.0


def _since(value: Any, now: float) -> str:
    seconds = parse_time(value)
    return "<unknown>" if seconds is None else human_duration(now - seconds)


def _interval(event: Mapping[str, Any], now: float) -> str:
    first = event.get("eventTime") or event.get("firstTimestamp")
    series = event.get("series")
    if series:
        return (f"{_since(series.get('lastObservedTime'), now)} (x{series.get('count')} over "
                f"{_since(first, now)})")
    count = event.get("count") or 0
    if isinstance(count, int) and count > 1:
        return f"{_since(event.get('lastTimestamp'), now)} (x{count} over {_since(first, now)})"
    return _since(first, now)


def event_rows(events: list[Mapping[str, Any]], *, now: float, all_namespaces: bool,
               headers: bool = True) -> list[list[str]]:
    """The table kubectl events prints, oldest event first."""
    out = []
    if headers:
        out.append((["NAMESPACE"] if all_namespaces else [])
                   + ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"])
    for event in sorted(events, key=event_time):
        involved = event.get("involvedObject") or {}
        namespace = (event.get("metadata") or {}).get("namespace") or ""
        out.append(([namespace] if all_namespaces else []) + [
            _interval(event, now), str(event.get("type") or ""), str(event.get("reason") or ""),
            f"{involved.get('kind') or ''}/{involved.get('name') or ''}",
            str(event.get("message") or "").strip()])
    return out


def cmd_events(session: Session) -> int:
    args = session.args
    types = [t.strip() for value in args.types for t in value.split(",") if t.strip()]
    wanted = set()
    for t in types:
        match = [known for known in _TYPES if known.lower() == t.lower()]
        if not match:
            raise UsageError("valid --types are Normal or Warning")
        wanted.add(match[0])
    field_selector = None
    if args.for_object:
        kind, sep, name = args.for_object.partition("/")
        if not sep or not kind or not name:
            raise UsageError("--for must be in resource/name form")
        info = session.client.resource(kind).info
        field_selector = (f"involvedObject.kind={info.kind},involvedObject.apiVersion="
                          f"{info.api_version},involvedObject.name={name}")
    kube = session.client
    listed = kube.resource("events").list(field_selector=field_selector,
                                          all_namespaces=args.all_namespaces)
    events = [e for e in listed.get("items") or [] if not wanted or e.get("type") in wanted]
    if not events:
        session.stderr.write("No events found.\n" if args.all_namespaces else
                             f"No events found in {kube.namespace} namespace.\n")
        return 0
    session.stdout.write(format_table(event_rows(
        events, now=time.time(), all_namespaces=args.all_namespaces,
        headers=not args.no_headers)))
    return 0
