"""Resource quantities (``k8s.io/apimachinery/pkg/api/resource``), enough to compare them and
to print them as ``Quantity.String`` does in validation messages."""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["parse_quantity", "format_quantity"]

_SUFFIXES = {
    "": Fraction(1), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|"
                       r"[numkMGTPE])?)$")


def parse_quantity(value: object) -> Fraction | None:
    """The value of a quantity (``"1500m"``, ``"1Gi"``, ``2``), ``None`` if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Fraction(value)
    if not isinstance(value, str):
        return None
    m = _QUANTITY.match(value.strip())
    if not m:
        return None
    number = Fraction(m.group(1))
    if m.group(2):
        return number * Fraction(10) ** int(m.group(2)[1:])
    return number * _SUFFIXES[m.group(3) or ""]


_BINARY = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_DECIMAL = ("n", "u", "m", "", "k", "M", "G", "T", "P", "E")


def format_quantity(value: object) -> str:
    """``Quantity.String``: the canonical form in the quantity's own format (binary suffix,
    decimal suffix or exponent), with the largest unit that keeps the number whole, so that
    ``"1024Mi"`` prints ``1Gi`` and ``"0.5"`` prints ``500m``, as the real server's messages do."""
    amount = parse_quantity(value)
    if amount is None:
        return str(value)
    text = value.strip() if isinstance(value, str) else ""
    m = _QUANTITY.match(text)
    suffix = (m.group(3) or "") if m else ""
    if suffix in _BINARY and amount.denominator == 1 and amount >= 1024:
        for unit in reversed(_BINARY):
            whole = amount / _SUFFIXES[unit]
            if whole.denominator == 1:
                return f"{whole.numerator}{unit}"
    if suffix in _BINARY and amount.denominator == 1:
        return str(amount.numerator)
    exponent_form = bool(m and m.group(2))
    for unit in reversed(_DECIMAL):
        whole = amount / _SUFFIXES[unit]
        if whole.denominator == 1:
            if exponent_form and unit:
                power = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
                         "E": 18}[unit]
                return f"{whole.numerator}e{power}"
            return f"{whole.numerator}{unit}"
    nano = amount * 10**9  # Go rounds what finer units cannot hold up to the next nano
    return f"{-((-nano.numerator) // nano.denominator)}n"
