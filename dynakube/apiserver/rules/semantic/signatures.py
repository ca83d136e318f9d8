"""Signature checks of X.509 objects, as Go's ``crypto/x509`` ``CheckSignature`` does them.

Pure integer arithmetic with :mod:`hashlib`: RSA PKCS#1 v1.5 and PSS, ECDSA on P-256, P-384
and P-521, and Ed25519. Each problem is Go's message (``x509: ECDSA verification failure``,
``crypto/rsa: verification error`` ...). A key on a curve this module does not know (P-224)
is not checked: being less strict than the server is safe, being stricter is not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from .der import INTEGER, SEQUENCE, Asn1Error, Element, read_all

__all__ = ["PublicKey", "parse_public_key", "check_signature"]

_RSA, _EC, _ED25519 = "1.2.840.113549.1.1.1", "1.2.840.10045.2.1", "1.3.101.112"
_PSS = "1.2.840.113549.1.1.10"
_UNIMPLEMENTED = "x509: cannot verify signature: algorithm unimplemented"
_RSA_FAILED = "crypto/rsa: verification error"

# signature algorithm OID -> (name, key type, hash name or None)
_SIGNATURES: dict[str, tuple[str, str, str | None]] = {
    "1.2.840.113549.1.1.2": ("MD2-RSA", "RSA", None),
    "1.2.840.113549.1.1.4": ("MD5-RSA", "RSA", None),
    "1.2.840.113549.1.1.5": ("SHA1-RSA", "RSA", "sha1"),
    "1.3.14.3.2.29": ("SHA1-RSA", "RSA", "sha1"),
    "1.2.840.113549.1.1.11": ("SHA256-RSA", "RSA", "sha256"),
    "1.2.840.113549.1.1.12": ("SHA384-RSA", "RSA", "sha384"),
    "1.2.840.113549.1.1.13": ("SHA512-RSA", "RSA", "sha512"),
    "1.2.840.10045.4.1": ("ECDSA-SHA1", "ECDSA", "sha1"),
    "1.2.840.10045.4.3.2": ("ECDSA-SHA256", "ECDSA", "sha256"),
    "1.2.840.10045.4.3.3": ("ECDSA-SHA384", "ECDSA", "sha384"),
    "1.2.840.10045.4.3.4": ("ECDSA-SHA512", "ECDSA", "sha512"),
    _ED25519: ("Ed25519", "Ed25519", None),
}
_HASH_OIDS = {"2.16.840.1.101.3.4.2.1": "sha256", "2.16.840.1.101.3.4.2.2": "sha384",
              "2.16.840.1.101.3.4.2.3": "sha512"}
_DIGEST_INFO = {"sha1": "3021300906052b0e03021a05000414",
                "sha256": "3031300d060960864801650304020105000420",
                "sha384": "3041300d060960864801650304020205000430",
                "sha512": "3051300d060960864801650304020305000440"}
_GO_KEY_TYPES = {"RSA": "*rsa.PublicKey", "ECDSA": "*ecdsa.PublicKey",
                 "Ed25519": "ed25519.PublicKey"}


@dataclass(frozen=True)
class _Curve:
    p: int
    b: int
    n: int
    gx: int
    gy: int

    def add(self, a: tuple[int, int] | None, c: tuple[int, int] | None
            ) -> tuple[int, int] | None:
        """Affine point addition on y² = x³ - 3x + b (``None`` is the point at infinity)."""
        if a is None:
            return c
        if c is None:
            return a
        p = self.p
        if a[0] == c[0]:
            if (a[1] + c[1]) % p == 0:
                return None
            slope = (3 * a[0] * a[0] - 3) * pow(2 * a[1], -1, p) % p
        else:
            slope = (c[1] - a[1]) * pow(c[0] - a[0], -1, p) % p
        x = (slope * slope - a[0] - c[0]) % p
        return x, (slope * (a[0] - x) - a[1]) % p

    def mul(self, k: int, point: tuple[int, int] | None) -> tuple[int, int] | None:
        out: tuple[int, int] | None = None
        while k:
            if k & 1:
                out = self.add(out, point)
            point = self.add(point, point)
            k >>= 1
        return out

    def on_curve(self, x: int, y: int) -> bool:
        return 0 <= x < self.p and 0 <= y < self.p and \
            (y * y - (x * x * x - 3 * x + self.b)) % self.p == 0


_CURVES = {
    "1.2.840.10045.3.1.7": _Curve(
        2**256 - 2**224 + 2**192 + 2**96 - 1,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
        0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5),
    "1.3.132.0.34": _Curve(
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
        0xAA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7,
        0x3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F),
    "1.3.132.0.35": _Curve(
        2**521 - 1,
        0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
        0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409,
        0x00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66,
        0x011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650),
}
_P224 = "1.3.132.0.33"


@dataclass(frozen=True)
class PublicKey:
    """A parsed subject public key: its type and numbers (``curve`` ``None``: unchecked)."""

    kind: str  # RSA, ECDSA, Ed25519 or "" (an algorithm Go does not know)
    n: int = 0
    e: int = 0
    curve: _Curve | None = None
    point: tuple[int, int] = (0, 0)
    raw: bytes = b""


def parse_public_key(algorithm: Element, key: bytes) -> PublicKey:
    """Go's ``parsePublicKey``: raises :class:`Asn1Error` with Go's words."""
    parts = algorithm.children()
    oid = parts[0].oid() if parts else ""
    if oid == _RSA:
        fields = read_all(key).expect(SEQUENCE, True, "pkcs1PublicKey").children()
        if len(fields) < 2:
            raise Asn1Error("x509: invalid RSA public key")
        n = fields[0].expect(INTEGER, False, "").integer()
        e = fields[1].expect(INTEGER, False, "").integer()
        if n <= 0:
            raise Asn1Error("x509: RSA modulus is not a positive number")
        if e <= 0:
            raise Asn1Error("x509: RSA public exponent is not a positive number")
        return PublicKey("RSA", n=n, e=e)
    if oid == _EC:
        curve_oid = parts[1].oid() if len(parts) > 1 else ""
        if curve_oid == _P224:
            return PublicKey("ECDSA")
        curve = _CURVES.get(curve_oid)
        if curve is None:
            raise Asn1Error("x509: unsupported elliptic curve")
        size = (curve.p.bit_length() + 7) // 8
        if len(key) != 1 + 2 * size or key[0] != 4:
            raise Asn1Error("x509: failed to unmarshal elliptic curve point")
        x, y = int.from_bytes(key[1:1 + size], "big"), int.from_bytes(key[1 + size:], "big")
        if not curve.on_curve(x, y):
            raise Asn1Error("x509: failed to unmarshal elliptic curve point")
        return PublicKey("ECDSA", curve=curve, point=(x, y))
    if oid == _ED25519:
        if len(parts) > 1:
            raise Asn1Error("x509: Ed25519 key encoded with illegal parameters")
        if len(key) != 32:
            raise Asn1Error("x509: wrong Ed25519 public key size")
        return PublicKey("Ed25519", raw=key)
    return PublicKey("")


def _pss_hash(params: Element | None) -> str | None:
    """The hash of RSA-PSS parameters Go accepts (MGF1 with the same hash, salt = hash
    length, trailer 1), ``None`` for any other."""
    if params is None or params.tag != SEQUENCE:
        return None
    found: dict[int, Element] = {c.tag: c for c in params.children() if c.cls == 2}
    try:
        hash_alg = read_all(found[0].content).children()
        mgf = read_all(found[1].content).children()
        mgf_hash = mgf[1].children()
        salt = read_all(found[2].content).integer() if 2 in found else 20
        trailer = read_all(found[3].content).integer() if 3 in found else 1
    except (KeyError, IndexError, Asn1Error):
        return None
    name = _HASH_OIDS.get(hash_alg[0].oid())
    if name is None or mgf[0].oid() != "1.2.840.113549.1.1.8" or \
            mgf_hash[0].oid() != hash_alg[0].oid() or trailer != 1 or \
            salt != hashlib.new(name).digest_size:
        return None
    return name


def _mgf1(seed: bytes, length: int, hash_name: str) -> bytes:
    out, counter = b"", 0
    while len(out) < length:
        out += hashlib.new(hash_name, seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def _rsa(key: PublicKey, signature: bytes, digest: bytes, hash_name: str, pss: bool) -> bool:
    k = (key.n.bit_length() + 7) // 8
    s = int.from_bytes(signature, "big")
    if len(signature) != k or s >= key.n:
        return False
    m = pow(s, key.e, key.n)
    if not pss:
        suffix = bytes.fromhex(_DIGEST_INFO[hash_name]) + digest
        return m.to_bytes(k, "big") == b"\x00\x01" + b"\xff" * (k - 3 - len(suffix)) + \
            b"\x00" + suffix
    em_bits = key.n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    if m >= 1 << (8 * em_len):
        return False
    em, h_len = m.to_bytes(em_len, "big"), len(digest)
    if em_len < 2 * h_len + 2 or em[-1] != 0xBC:
        return False
    masked, h = em[:em_len - h_len - 1], em[em_len - h_len - 1:-1]
    spare = 8 * em_len - em_bits
    if masked[0] >> (8 - spare) if spare else 0:
        return False
    db = bytearray(a ^ b for a, b in zip(masked, _mgf1(h, len(masked), hash_name), strict=True))
    db[0] &= 0xFF >> spare
    pad = len(db) - h_len - 1
    if any(db[:pad]) or db[pad] != 1:
        return False
    salt = bytes(db[pad + 1:])
    return hashlib.new(hash_name, b"\x00" * 8 + digest + salt).digest() == h


def _ecdsa(key: PublicKey, signature: bytes, digest: bytes) -> bool:
    curve = key.curve
    assert curve is not None
    try:
        pair = read_all(signature).expect(SEQUENCE, True, "").children()
        r, s = (e.expect(INTEGER, False, "").integer() for e in pair)
    except (Asn1Error, ValueError):
        return False
    if not (0 < r < curve.n and 0 < s < curve.n):
        return False
    z = int.from_bytes(digest, "big")
    excess = len(digest) * 8 - curve.n.bit_length()
    if excess > 0:
        z >>= excess
    w = pow(s, -1, curve.n)
    point = curve.add(curve.mul(z * w % curve.n, (curve.gx, curve.gy)),
                      curve.mul(r * w % curve.n, key.point))
    return point is not None and point[0] % curve.n == r


_ED_P = 2**255 - 19
_ED_L = 2**252 + 27742317777372353535851937790883648493
_ED_D = -121665 * pow(121666, -1, _ED_P) % _ED_P
_ED_I = pow(2, (_ED_P - 1) // 4, _ED_P)
_Ext = tuple[int, int, int, int]


def _ed_add(a: _Ext, b: _Ext) -> _Ext:
    p = _ED_P
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % p, (y1 + x1) * (y2 + x2) % p
    cc, dd = t1 * 2 * _ED_D * t2 % p, z1 * 2 * z2 % p
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return e * f % p, g * h % p, f * g % p, e * h % p


def _ed_mul(k: int, point: _Ext) -> _Ext:
    out: _Ext = (0, 1, 1, 0)
    while k:
        if k & 1:
            out = _ed_add(out, point)
        point = _ed_add(point, point)
        k >>= 1
    return out


def _ed_decode(raw: bytes) -> _Ext | None:
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    p = _ED_P
    x2 = (y * y - 1) * pow(_ED_D * y * y + 1, -1, p) % p
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p:
        x = x * _ED_I % p
    if (x * x - x2) % p or (x == 0 and sign):
        return None
    if x & 1 != sign:
        x = p - x
    return x, y % p, 1, x * y % p


def _ed_encode(point: _Ext) -> bytes:
    x, y, z, _ = point
    zi = pow(z, -1, _ED_P)
    x, y = x * zi % _ED_P, y * zi % _ED_P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _ed25519(key: PublicKey, signature: bytes, message: bytes) -> bool:
    if len(signature) != 64:
        return False
    a = _ed_decode(key.raw)
    s = int.from_bytes(signature[32:], "little")
    if a is None or s >= _ED_L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + key.raw + message).digest(),
                       "little") % _ED_L
    base = _ed_decode((4 * pow(5, -1, _ED_P) % _ED_P).to_bytes(32, "little"))
    assert base is not None
    minus_a = ((_ED_P - a[0]) % _ED_P, a[1], a[2], (_ED_P - a[3]) % _ED_P)
    return _ed_encode(_ed_add(_ed_mul(s, base), _ed_mul(h, minus_a))) == signature[:32]


def check_signature(algorithm: Element, signed: bytes, signature: bytes,
                    key: PublicKey) -> str | None:
    """Go's ``checkSignature`` (SHA-1 allowed, as for certificate requests): ``None`` when
    ``signature`` over ``signed`` verifies with ``key``, else Go's message."""
    parts = algorithm.children()
    oid = parts[0].oid() if parts else ""
    if oid == _PSS:
        hash_name = _pss_hash(parts[1] if len(parts) > 1 else None)
        if hash_name is None:
            return _UNIMPLEMENTED
        name, key_type = f"SHA{hash_name[3:]}-RSAPSS", "RSA"
    elif oid in _SIGNATURES:
        name, key_type, found = _SIGNATURES[oid]
        if found is None and key_type == "RSA":
            return f"x509: cannot verify signature: insecure algorithm {name}"
        hash_name = found or ""
    else:
        return _UNIMPLEMENTED
    if not key.kind:
        return _UNIMPLEMENTED
    if key.kind != key_type:
        return (f"x509: signature algorithm specifies an {key_type} public key, but have "
                f"public key of type {_GO_KEY_TYPES[key.kind]}")
    checks: dict[str, Callable[[], bool]] = {
        "RSA": lambda: _rsa(key, signature, hashlib.new(hash_name, signed).digest(), hash_name,
                            oid == _PSS),
        "ECDSA": lambda: key.curve is None or _ecdsa(
            key, signature, hashlib.new(hash_name, signed).digest()),
        "Ed25519": lambda: _ed25519(key, signature, signed),
    }
    if checks[key_type]():
        return None
    return {"RSA": _RSA_FAILED, "ECDSA": "x509: ECDSA verification failure",
            "Ed25519": "x509: Ed25519 verification failure"}[key_type]

