"""The string and number formats and patterns the API server checks, as small pure functions.

Shared by the quick check (``fastcheck.py``) and the full validator (``validation.py``) so
the two can never disagree. Every check is at least as lenient as the server: a value the
server would take must pass here (``int-or-string``, ``uri``, ``email``... are not checked).
``pattern`` is RE2 syntax on the server; :func:`pattern_matcher` reads it with Python's ``re``
only where the two agree, and otherwise leaves the value to the server.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable
from typing import Any

__all__ = ["FORMAT_EXPECTED", "WARN_ONLY_FORMATS", "check_format", "pattern_matcher"]

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)

# RFC 3339 as Go's time.Parse(time.RFC3339) reads it (fraction optional, 't'/'z' tolerated).
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
# resource.Quantity: <signedNumber><suffix>, suffix binary SI, decimal SI or an exponent.
_QUANTITY = re.compile(
    r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?(\d+(\.\d*)?|\.\d+))?$"
)
# Go durations ("1h30m", "250ms", "0") and the unit words strfmt also accepts ("3 days").
_DURATION = re.compile(
    r"^([+-]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w))+|0"
    r"|\d+\s*(ns|us|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?|minutes?"
    r"|hours?|days?|weeks?))$"
)

FORMAT_EXPECTED = {
    "int32": "a 32-bit integer (-2147483648 to 2147483647)",
    "int64": "a 64-bit integer",
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


def check_format(fmt: str, value: Any) -> str | None:
    """``None`` when ``value`` fits ``fmt`` (or the format is not checked), else what was expected.

    Values of another JSON type pass: ``type`` reports those.
    """
    if fmt in ("int32", "int64"):
        if not _is_whole(value):
            return None
        low, high = _INT32 if fmt == "int32" else _INT64
        return None if low <= int(value) <= high else FORMAT_EXPECTED[fmt]
    if not isinstance(value, str):
        return None
    if fmt == "date-time":
        return None if _DATE_TIME.match(value) else FORMAT_EXPECTED[fmt]
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


# RE2 character classes such as [[:alpha:]], which Python's re reads as a different set.
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]+:\]")


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
