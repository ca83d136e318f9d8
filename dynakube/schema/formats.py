"""The string and number formats and patterns the API server checks, as small pure functions.

Shared by the quick check (``fastcheck.py``) and the full validator (``validate.py``) so
the two can never disagree. Every check is at least as lenient as the server: a value the
server would take must pass here (``uri``, ``email``... are not checked). Where built-in
kinds (decoded by Go into typed fields) and custom resources (checked by kube-openapi) read
a format differently, ``builtin`` says which reading applies.
``pattern`` is RE2 syntax on the server; :func:`pattern_matcher` reads it with Python's ``re``
only where the two agree, and otherwise leaves the value to the server.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import functools
import re
from collections.abc import Callable
from typing import Any

from .._pattern import LazyPattern

__all__ = ["FORMAT_EXPECTED", "WARN_ONLY_FORMATS", "check_format", "pattern_matcher"]

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)

# RFC 3339 read as leniently as either reader does: Go's time.Parse(time.RFC3339) for
# built-in kinds (a one-digit hour, ',' before the fraction, offsets up to 24:60) and
# kube-openapi's strfmt for custom resources (any case, any character before the fraction).
# Both check the calendar: a month 13 or a February 30 is refused by each.
_DATE_TIME = LazyPattern(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{1,2}):(\d{2}):(\d{2})(.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
# resource.Quantity: <signedNumber><suffix>, suffix binary SI, decimal SI or an exponent.
_QUANTITY = LazyPattern(
    r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?(\d+(\.\d*)?|\.\d+))?$"
)
# Go durations ("1h30m", "250ms", "0") and the unit words strfmt also accepts ("3 days").
_DURATION = LazyPattern(
    r"^([+-]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w))+|0"
    r"|\d+\s*(ns|us|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?|minutes?"
    r"|hours?|days?|weeks?))$"
)

FORMAT_EXPECTED = {
    "int32": "a 32-bit integer (-2147483648 to 2147483647)",
    "int64": "a 64-bit integer",
    "int-or-string": "a string or a 32-bit integer (-2147483648 to 2147483647)",
    "date-time": "an RFC 3339 date-time such as 2024-05-01T12:00:00Z",
    "byte": "base64-encoded bytes",
    "quantity": "a quantity such as 500m, 128Mi, 1.5 or 2",
    "duration": "a duration such as 30s, 1h30m or 250ms",
}

# Formats the server may read more liberally than we can tell: a failure is only a warning.
WARN_ONLY_FORMATS = frozenset({"duration"})


def _is_whole(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def check_format(fmt: str, value: Any, *, builtin: bool = True) -> str | None:
    """``None`` when ``value`` fits ``fmt`` (or the format is not checked), else what was expected.

    Values of another JSON type pass: ``type`` reports those. A built-in ``int-or-string``
    (``intstr.IntOrString``) holds its number in an int32, so Go refuses a bigger one; a
    custom resource's ``x-kubernetes-int-or-string`` has no such bound.
    """
    if fmt in ("int32", "int64") or (fmt == "int-or-string" and builtin):
        if not _is_whole(value):
            return None
        low, high = _INT64 if fmt == "int64" else _INT32
        return None if low <= int(value) <= high else FORMAT_EXPECTED[fmt]
    if not isinstance(value, str):
        return None
    if fmt == "date-time":
        return None if _date_time(value) else FORMAT_EXPECTED[fmt]
    if fmt == "byte":
        try:
            base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
        except (binascii.Error, ValueError):
            return FORMAT_EXPECTED[fmt]
        return None
    if fmt == "quantity":
        return None if _QUANTITY.match(value.strip()) else FORMAT_EXPECTED[fmt]
    if fmt == "duration":
        return None if _DURATION.match(value.strip()) else FORMAT_EXPECTED[fmt]
    return None


_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _date_time(value: str) -> bool:
    found = _DATE_TIME.match(value)
    if found is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in found.groups()[:6])
    if not (1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 59):
        return False
    days = 29 if month == 2 and calendar.isleap(year) else _DAYS[month - 1]
    return 1 <= day <= days


# RE2 character classes such as [[:alpha:]], which Python's re reads as a different set.
_POSIX_CLASS = LazyPattern(r"\[:\^?[a-z]+:\]")


@functools.lru_cache(maxsize=1024)
def pattern_matcher(pattern: str) -> Callable[[str], bool] | None:
    """A test for a schema ``pattern``, or ``None`` when Python cannot read it as RE2 does.

    RE2's ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII, Python's are Unicode: a value
    counts as matching when either reading matches, so the test is never stricter than the
    server. Syntax only RE2 knows (``\\pL``, ``\\x{41}``, ``[[:alpha:]]``...) gets ``None``.
    """
    if _POSIX_CLASS.search(pattern):
        return None
    try:
        unicode_search = re.compile(pattern).search
        ascii_search = re.compile(pattern, re.ASCII).search
    except (re.error, OverflowError, RecursionError):
        return None

    def matches(value: str) -> bool:
        return unicode_search(value) is not None or ascii_search(value) is not None

    return matches
