"""A small DER reader: what Go's ``encoding/asn1`` accepts, with its error wording.

Enough ASN.1 for a PKCS#10 certificate request: tag-length-value elements, SEQUENCE and SET
children, INTEGER, OBJECT IDENTIFIER and BIT STRING. Errors are :class:`Asn1Error` whose
text is what Go's decoder says (``asn1: syntax error: data truncated`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Asn1Error", "Element", "read", "read_all", "SEQUENCE", "SET", "INTEGER", "OID",
           "BIT_STRING", "NULL"]

INTEGER, BIT_STRING, NULL, OID, SEQUENCE, SET = 2, 3, 5, 6, 16, 17
_GO_FIELD_PARAMS = ("{optional:false explicit:false application:false private:false "
                    "defaultValue:<nil> tag:<nil> stringType:0 timeType:0 set:false "
                    "omitEmpty:false}")


class Asn1Error(ValueError):
    """A DER problem, worded as Go's ``encoding/asn1`` words it."""


@dataclass(frozen=True)
class Element:
    """One tag-length-value element of ``data`` (which it keeps a reference to)."""

    data: bytes
    start: int  # where its tag is
    body: int  # where its content starts
    end: int  # just past its content
    cls: int
    compound: bool
    tag: int

    @property
    def content(self) -> bytes:
        return self.data[self.body:self.end]

    @property
    def raw(self) -> bytes:
        """The whole element, tag and length included."""
        return self.data[self.start:self.end]

    def children(self) -> list[Element]:
        out, pos = [], self.body
        while pos < self.end:
            child = read(self.data, pos, self.end)
            out.append(child)
            pos = child.end
        return out

    def expect(self, tag: int, compound: bool, name: str) -> Element:
        """This element, when it has ``tag``; Go's "tags don't match" otherwise."""
        if self.cls != 0 or self.tag != tag or self.compound != compound:
            raise Asn1Error(
                f"asn1: structure error: tags don't match ({tag} vs {{class:{self.cls} "
                f"tag:{self.tag} length:{self.end - self.body} "
                f"isCompound:{'true' if self.compound else 'false'}}}) {_GO_FIELD_PARAMS} "
                f"{name} @{self.body}")
        return self

    def integer(self) -> int:
        content = self.content
        if not content:
            raise Asn1Error("asn1: syntax error: empty integer")
        if len(content) > 1 and ((content[0] == 0 and content[1] < 0x80)
                                 or (content[0] == 0xFF and content[1] >= 0x80)):
            raise Asn1Error("asn1: structure error: integer not minimally-encoded")
        return int.from_bytes(content, "big", signed=True)

    def oid(self) -> str:
        content = self.content
        if not content:
            raise Asn1Error("asn1: syntax error: zero length OBJECT IDENTIFIER")
        parts: list[int] = []
        value = 0
        for i, byte in enumerate(content):
            if value == 0 and byte == 0x80:
                raise Asn1Error("asn1: structure error: base 128 integer not minimally-encoded")
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                parts.append(value)
                value = 0
            elif i == len(content) - 1:
                raise Asn1Error("asn1: syntax error: truncated base 128 integer")
        first = parts[0]
        head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
        return ".".join(str(p) for p in head + parts[1:])

    def bits(self) -> bytes:
        """A BIT STRING's bytes (a whole number of octets, as keys and signatures are)."""
        content = self.content
        if not content:
            raise Asn1Error("asn1: syntax error: zero length BIT STRING")
        padding = content[0]
        if padding > 7 or (len(content) == 1 and padding > 0) or \
                (padding and content[-1] & ((1 << padding) - 1)):
            raise Asn1Error("asn1: syntax error: invalid padding bits in BIT STRING")
        return content[1:]


def read(data: bytes, pos: int = 0, limit: int | None = None) -> Element:
    """The element at ``pos`` (that must end by ``limit``)."""
    limit = len(data) if limit is None else limit
    if pos >= limit:
        raise Asn1Error("asn1: syntax error: data truncated")
    start, first = pos, data[pos]
    cls, compound, tag = first >> 6, bool(first & 0x20), first & 0x1F
    pos += 1
    if tag == 0x1F:  # the tag goes on in base 128
        tag = 0
        while True:
            if pos >= limit:
                raise Asn1Error("asn1: syntax error: data truncated")
            byte = data[pos]
            pos += 1
            tag = (tag << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        if tag < 0x1F:
            raise Asn1Error("asn1: syntax error: non-minimal tag")
    if pos >= limit:
        raise Asn1Error("asn1: syntax error: data truncated")
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise Asn1Error("asn1: syntax error: indefinite length found (not DER)")
        length = 0
        for i in range(count):
            if pos >= limit:
                raise Asn1Error("asn1: syntax error: data truncated")
            byte = data[pos]
            pos += 1
            if i == 0 and byte == 0:
                raise Asn1Error("asn1: structure error: superfluous leading zeros in length")
            length = (length << 8) | byte
        if length < 0x80:
            raise Asn1Error("asn1: structure error: non-minimal length")
    if pos + length > limit:
        raise Asn1Error("asn1: syntax error: data truncated")
    return Element(data, start, pos, pos + length, cls, compound, tag)


def read_all(data: bytes) -> Element:
    """The one element ``data`` holds; Go's "trailing data" when more follows."""
    element = read(data)
    if element.end != len(data):
        raise Asn1Error("asn1: syntax error: trailing data")
    return element
