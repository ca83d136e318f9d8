"""Validating and mutating webhook configurations (``admissionregistration.k8s.io/v1``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from . import names
from .fields import Cause, child, duplicate, index, invalid, not_supported, required
from .metadata import mapping
from .selectors import validate_selector

__all__ = ["webhook_configuration"]

_REVIEW_VERSIONS = ("v1", "v1beta1")
_FORM = "; desired format: https://host[/path]"
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def _fully_qualified(name: str, path: str) -> list[Cause]:
    if not name:
        return [required(path)]
    problems = names.dns1123_subdomain(name)
    if problems:
        return [invalid(path, name, ",".join(problems))]
    if len(name.split(".")) < 3:
        return [invalid(path, name, "should be a domain with at least three segments separated "
                        "by dots")]
    return []


def _url(text: str, path: str) -> list[Cause]:
    try:
        parts = urlsplit(text)
    except ValueError as err:
        return [required(path, f"url must be a valid URL: {err}{_FORM}")]
    out: list[Cause] = []
    if parts.scheme != "https":
        out.append(invalid(path, parts.scheme, "'https' is the only allowed URL scheme" + _FORM))
    if not parts.netloc:
        out.append(invalid(path, parts.netloc, "host must be specified" + _FORM))
    if parts.fragment:
        out.append(invalid(path, parts.fragment, "fragments are not permitted in the URL"))
    if parts.query:
        out.append(invalid(path, parts.query, "query parameters are not permitted in the URL"))
    return out


def _hook(hook: Mapping[str, Any], path: str) -> list[Cause]:
    out = _fully_qualified(str(hook.get("name") or ""), child(path, "name"))
    policy = hook.get("failurePolicy")
    if policy is not None and policy not in ("Fail", "Ignore"):
        out.append(not_supported(child(path, "failurePolicy"), policy, ("Fail", "Ignore")))
    match = hook.get("matchPolicy")
    if match is not None and match not in ("Equivalent", "Exact"):
        out.append(not_supported(child(path, "matchPolicy"), match, ("Equivalent", "Exact")))
    for name in ("namespaceSelector", "objectSelector"):
        out += validate_selector(hook.get(name), child(path, name))
    effects = hook.get("sideEffects")
    if effects is None:
        out.append(required(child(path, "sideEffects"), "must specify one of None, NoneOnDryRun"))
    elif effects not in ("None", "NoneOnDryRun"):
        out.append(not_supported(child(path, "sideEffects"), effects, ("None", "NoneOnDryRun")))
    timeout = hook.get("timeoutSeconds")
    if isinstance(timeout, int) and not 1 <= timeout <= 30:
        out.append(invalid(child(path, "timeoutSeconds"), timeout,
                           "the timeout value must be between 1 and 30 seconds"))
    config = mapping(hook.get("clientConfig"))
    url, service = config.get("url"), config.get("service")
    if (url is None) == (service is None):
        out.append(required(child(path, "clientConfig"), "exactly one of url or service is "
                            "required"))
    elif url is not None:
        out += _url(str(url), child(path, "clientConfig", "url"))
    else:
        for name in ("name", "namespace"):
            if not mapping(service).get(name):
                out.append(required(child(path, "clientConfig", "service", name),
                                    f"service {name} is required"))
    return out


def _review_versions(versions: Any, path: str) -> list[Cause]:
    if not isinstance(versions, list) or not versions:
        return [required(path, "must specify one of " + ", ".join(_REVIEW_VERSIONS))]
    out: list[Cause] = []
    seen: set[str] = set()
    for i, version in enumerate(versions):
        if version in seen:
            out.append(invalid(index(path, i), version, "duplicate version"))
            continue
        seen.add(str(version))
    if not seen & set(_REVIEW_VERSIONS):
        out.append(invalid(path, versions, "must include at least one of "
                           + ", ".join(_REVIEW_VERSIONS)))
    return out


def webhook_configuration(obj: Mapping[str, Any], old: Mapping[str, Any] | None,
                          ) -> list[Cause]:
    hooks = obj.get("webhooks")
    out: list[Cause] = []
    seen: set[str] = set()
    for i, hook in enumerate(hooks if isinstance(hooks, list) else []):
        hook = mapping(hook)
        hpath = index("webhooks", i)
        out += _hook(hook, hpath)
        out += _review_versions(hook.get("admissionReviewVersions"),
                                child(hpath, "admissionReviewVersions"))
        name = hook.get("name")
        if isinstance(name, str) and name:
            if name in seen:
                out.append(duplicate(child(hpath, "name"), name))
            seen.add(name)
    return out
