"""String formats of the Kubernetes API (``k8s.io/apimachinery/pkg/util/validation``).

Each check returns the list of messages the Go function returns (empty when the value is
fine), word for word: callers turn each message into its own cause, as kube-apiserver does.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = [
    "dns1123_label",
    "dns1123_subdomain",
    "wildcard_dns1123_subdomain",
    "qualified_name",
    "label_value",
    "config_key",
    "path_segment_name",
    "port_name",
    "port_number",
    "env_var_name",
    "percent",
    "is_ip",
    "is_cidr",
]

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + r"(\." + _LABEL_FMT + ")*"
_WILDCARD_FMT = r"\*\." + _SUBDOMAIN_FMT
_QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_FMT + ")?"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_PERCENT_FMT = "[0-9]+%"


def _full(fmt: str) -> re.Pattern[str]:
    return re.compile("^" + fmt + "$")


_LABEL_RE = _full(_LABEL_FMT)
_SUBDOMAIN_RE = _full(_SUBDOMAIN_FMT)
_WILDCARD_RE = _full(_WILDCARD_FMT)
_QUALIFIED_RE = _full(_QUALIFIED_FMT)
_LABEL_VALUE_RE = _full(_LABEL_VALUE_FMT)
_CONFIG_KEY_RE = _full(_CONFIG_KEY_FMT)
_PERCENT_RE = _full(_PERCENT_FMT)
_PORT_NAME_CHARS = re.compile("^[-a-z0-9]+$")


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """``validation.RegexError``: the message, its examples and the regular expression."""
    shown = ",  or ".join(f"'{e}'" for e in examples)
    return f"{message} (e.g. {shown}, regex used for validation is '{fmt}')"


_LABEL_MSG = regex_error("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                         "characters or '-', and must start and end with an alphanumeric "
                         "character", _LABEL_FMT, "my-name", "123-abc")
_SUBDOMAIN_MSG = regex_error("a lowercase RFC 1123 subdomain must consist of lower case "
                             "alphanumeric characters, '-' or '.', and must start and end with "
                             "an alphanumeric character", _SUBDOMAIN_FMT, "example.com")
_WILDCARD_MSG = regex_error("a wildcard DNS-1123 subdomain must start with '*.', followed by a "
                            "valid DNS subdomain, which must consist of lower case alphanumeric "
                            "characters, '-' or '.' and end with an alphanumeric character",
                            _WILDCARD_FMT, "*.example.com")
_QUALIFIED_MSG = regex_error("must consist of alphanumeric characters, '-', '_' or '.', and must "
                             "start and end with an alphanumeric character", _QUALIFIED_FMT,
                             "MyName", "my.name", "123-abc")
_LABEL_VALUE_MSG = regex_error("a valid label must be an empty string or consist of alphanumeric "
                               "characters, '-', '_' or '.', and must start and end with an "
                               "alphanumeric character", _LABEL_VALUE_FMT,
                               "MyValue", "my_value", "12345")
_CONFIG_KEY_MSG = regex_error("a valid config key must consist of alphanumeric characters, '-', "
                              "'_' or '.'", _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name")
_PERCENT_MSG = regex_error("a valid percent string must be a numeric string followed by an "
                           "ending '%'", _PERCENT_FMT, "1%", "93%")


def dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_RE.match(value):
        errs.append("must not contain dots" if _SUBDOMAIN_RE.match(value) else _LABEL_MSG)
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _SUBDOMAIN_RE.match(value):
        errs.append(_SUBDOMAIN_MSG)
    return errs


def wildcard_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _WILDCARD_RE.match(value):
        errs.append(_WILDCARD_MSG)
    return errs


def qualified_name(value: str) -> list[str]:
    """``IsQualifiedName``: an optional DNS subdomain prefix and ``/``, then a short name."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in dns1123_subdomain(prefix))
    else:
        return ["a qualified name " + _QUALIFIED_MSG + " with an optional DNS subdomain prefix "
                "and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errs.append("name part must be no more than 63 bytes")
    if not _QUALIFIED_RE.match(name):
        errs.append("name part " + _QUALIFIED_MSG)
    return errs


def label_value(value: str) -> list[str]:
    errs = []
    if len(value.encode()) > 63:
        errs.append("must be no more than 63 bytes")
    if not _LABEL_VALUE_RE.match(value):
        errs.append(_LABEL_VALUE_MSG)
    return errs


def config_key(value: str) -> list[str]:
    """``IsConfigMapKey``: the keys of ConfigMap and Secret data (they become file names)."""
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _CONFIG_KEY_RE.match(value):
        errs.append(_CONFIG_KEY_MSG)
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def path_segment_name(value: str) -> list[str]:
    """``path.IsValidPathSegmentName``: RBAC names may be anything that fits in a URL."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def port_name(value: str) -> list[str]:
    """``IsValidPortName``: an IANA_SVC_NAME."""
    errs = []
    if len(value) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARS.match(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_number(value: int) -> list[str]:
    return [] if 1 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]


def env_var_name(value: str) -> list[str]:
    """The relaxed environment variable names of 1.34+: printable ASCII but ``=``."""
    if value and all(" " <= c <= "~" and c != "=" for c in value):
        return []
    return ["a valid environment variable name must consist only of printable ASCII "
            "characters other than '='"]


def percent(value: str) -> list[str]:
    return [] if _PERCENT_RE.match(value) else [_PERCENT_MSG]


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value
