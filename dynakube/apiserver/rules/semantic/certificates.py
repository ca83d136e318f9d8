"""CertificateSigningRequests (``ValidateCertificateSigningRequestCreate``): a PEM
``CERTIFICATE REQUEST``, known and unique key usages, a signer name of the form
``example.com/signer-name`` (the legacy one not through ``v1``) and at least ten minutes.

The spec is immutable (an update keeps the stored one), so only a create is judged. The
request's DER content and signature are not checked: that needs an X.509 parser.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from . import names
from .fields import (
    Cause,
    as_int,
    child,
    duplicate,
    go_value,
    index,
    invalid,
    not_supported,
    required,
    too_long,
)
from .metadata import mapping

__all__ = ["certificate_signing_request", "signer_name"]

LEGACY_SIGNER = "kubernetes.io/legacy-unknown"
_MIN_EXPIRATION = 600
_MAX_SEGMENT = 253
_USAGES = ("any", "cert sign", "client auth", "code signing", "content commitment", "crl sign",
           "data encipherment", "decipher only", "digital signature", "email protection",
           "encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement",
           "key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime",
           "server auth", "signing", "timestamping")
_PEM = re.compile(rb"-----BEGIN ([^\r\n]*?)-----\r?\n(.*?)-----END \1-----", re.S)


def _pem_type(data: bytes) -> str | None:
    """The type of the first PEM block Go's ``pem.Decode`` would find, ``None`` for none."""
    for found in _PEM.finditer(data):
        body = b"".join(line for line in found.group(2).splitlines() if b":" not in line)
        try:
            base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        return found.group(1).decode("utf-8", "replace")
    return None


def _request(value: Any) -> str | None:
    """Why ``spec.request`` (base64 of a PEM text) is no certificate request, or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        data = base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return None  # decoding refuses it first
    if _pem_type(data) != "CERTIFICATE REQUEST":
        return "PEM block type must be CERTIFICATE REQUEST"
    return None


def signer_name(value: str, path: str) -> list[Cause]:
    """``ValidateSignerName``: a DNS domain with a dot, ``/``, then a DNS subdomain path."""
    if not value:
        return [required(path)]
    segments = value.split("/")
    if len(segments) != 2:
        return [invalid(path, value, "must be a fully qualified domain and path of the form "
                        "'example.com/signer-name'")]
    domain, rest = segments
    out: list[Cause] = []
    if len(domain) > _MAX_SEGMENT:
        out.append(too_long(path, _MAX_SEGMENT))
    labels = domain.split(".")
    for label in labels:
        problems = names.dns1123_label(label)
        if problems:
            out += [invalid(path, domain, f"validating label {go_value(label)}: {m}")
                    for m in problems]
            break
    if len(labels) < 2:
        out.append(invalid(path, domain, "should be a domain with at least two segments "
                           "separated by dots"))
    if len(rest) > _MAX_SEGMENT:
        out.append(too_long(path, _MAX_SEGMENT))
    out += [invalid(path, rest, f"validating path {go_value(rest)}: {m}")
            for m in names.dns1123_subdomain(rest)]
    return out


def certificate_signing_request(obj: Mapping[str, Any],
                                old: Mapping[str, Any] | None) -> list[Cause]:
    if old is not None:
        return []
    spec = mapping(obj.get("spec"))
    out: list[Cause] = []
    problem = _request(spec.get("request"))
    if problem:
        out.append(invalid("spec.request", spec.get("request"), problem))
    found = spec.get("usages")
    usages: list[Any] = found if isinstance(found, list) else []
    if not usages:
        out.append(required("spec.usages"))
    for i, usage in enumerate(usages):
        if usage not in _USAGES:
            out.append(not_supported(index("spec.usages", i), usage, _USAGES))
    seen: set[Any] = set()
    for i, usage in enumerate(usages):
        if usage in seen:
            out.append(duplicate(index("spec.usages", i), usage))
        seen.add(usage)
    given = spec.get("signerName")
    signer = given if isinstance(given, str) else ""
    if signer == LEGACY_SIGNER:
        out.append(invalid(child("spec", "signerName"), signer,
                           "the legacy signerName is not allowed via this API version"))
    else:
        out += signer_name(signer, "spec.signerName")
    expiration = as_int(spec.get("expirationSeconds"))
    if expiration is not None and expiration < _MIN_EXPIRATION:
        out.append(invalid("spec.expirationSeconds", expiration,
                           "may not specify a duration less than 600 seconds (10 minutes)"))
    return out
