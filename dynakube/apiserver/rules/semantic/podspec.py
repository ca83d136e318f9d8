"""Pod specs and pod templates (``ValidatePodSpec``, ``ValidatePodTemplateSpec``).

Defaulted enum fields (``restartPolicy``, ``protocol``, ``imagePullPolicy``, ...) count as
their default when absent or ``""``, since the real server validates after defaulting and Go
cannot tell ``""`` from unset; requests default to the limits they lack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import names
from .fields import (
    Cause,
    as_int,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    key,
    nonnegative,
    not_found,
    not_supported,
    required,
)
from .metadata import annotation_map, label_map, mapping
from .quantity import parse_quantity

__all__ = ["pod_spec", "pod_template", "restart_policy", "resource_name",
           "container_resource_name", "PROTOCOLS",
           "STANDARD_RESOURCES"]

PROTOCOLS = ("SCTP", "TCP", "UDP")
_RESTART = ("Always", "OnFailure", "Never")
_DNS = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL = ("Always", "IfNotPresent", "Never")
_MESSAGE_POLICY = ("File", "FallbackToLogsOnError")
_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
STANDARD_RESOURCES = _CONTAINER_RESOURCES | {
    "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
    "persistentvolumeclaims", "storage", "requests.cpu", "requests.memory",
    "requests.storage", "requests.ephemeral-storage", "limits.cpu", "limits.memory",
    "limits.ephemeral-storage", "services.nodeports", "services.loadbalancers"}
_MAX_INT32 = 2147483647


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def restart_policy(spec: Mapping[str, Any]) -> str:
    """The pod's restart policy after defaulting."""
    return str(spec.get("restartPolicy") or "Always")


def _enum(value: Any, path: str, allowed: tuple[str, ...]) -> list[Cause]:
    if value in (None, "") or value in allowed:
        return []
    return [not_supported(path, value, allowed)]


def _ports(ports: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    seen: set[str] = set()
    for i, port in enumerate(_items(ports)):
        ipath = index(path, i)
        name = port.get("name")
        if isinstance(name, str) and name:
            msgs = names.port_name(name)
            out += [invalid(child(ipath, "name"), name, m) for m in msgs]
            if not msgs and name in seen:
                out.append(duplicate(child(ipath, "name"), name))
            seen.add(name)
        number = as_int(port.get("containerPort"))
        if not number:
            out.append(required(child(ipath, "containerPort")))
        else:
            out += [invalid(child(ipath, "containerPort"), number, m)
                    for m in names.port_number(number)]
        host = as_int(port.get("hostPort"))
        if host:
            out += [invalid(child(ipath, "hostPort"), host, m) for m in names.port_number(host)]
        out += _enum(port.get("protocol"), child(ipath, "protocol"), PROTOCOLS)
    return out


def _env(env: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    for i, var in enumerate(_items(env)):
        name = var.get("name")
        npath = child(index(path, i), "name")
        if not name:
            out.append(required(npath))
        elif isinstance(name, str):
            out += [invalid(npath, name, m) for m in names.env_var_name(name)]
    return out


def _mounts(mounts: Any, volumes: set[str], path: str) -> list[Cause]:
    out: list[Cause] = []
    paths: set[str] = set()
    for i, mount in enumerate(_items(mounts)):
        ipath = index(path, i)
        name, where = mount.get("name"), mount.get("mountPath")
        if not name:
            out.append(required(child(ipath, "name")))
        if name not in volumes:
            out.append(not_found(child(ipath, "name"), name or ""))
        if not where:
            out.append(required(child(ipath, "mountPath")))
        elif where in paths:
            out.append(invalid(child(ipath, "mountPath"), where, "must be unique"))
        if isinstance(where, str):
            paths.add(where)
    return out


def resource_name(name: str, path: str) -> list[Cause]:
    """``validateResourceName``: a qualified name, standard unless it has a domain prefix."""
    out = [invalid(path, name, m) for m in names.qualified_name(name)]
    if not out and "/" not in name and name not in STANDARD_RESOURCES \
            and not name.startswith(("hugepages-", "requests.hugepages-")):
        out.append(invalid(path, name, "must be a standard resource type or fully qualified"))
    return out


def container_resource_name(name: str, path: str) -> list[Cause]:
    """``validateContainerResourceName``: a resource name, and one containers may ask for."""
    out = resource_name(name, path)
    if "/" not in name and name not in _CONTAINER_RESOURCES and not name.startswith("hugepages-"):
        out.append(invalid(path, name, "must be a standard resource for containers"))
    return out


def _quantity(value: Any, path: str) -> list[Cause]:
    amount = parse_quantity(value)
    if amount is not None and amount < 0:
        return [invalid(path, str(value), "must be greater than or equal to 0")]
    return []


def _resources(resources: Any, path: str) -> list[Cause]:
    res = mapping(resources)
    limits = mapping(res.get("limits"))
    requests = {**limits, **mapping(res.get("requests"))}
    out: list[Cause] = []
    for name in sorted(limits):
        kpath = key(child(path, "limits"), name)
        out += container_resource_name(name, kpath) + _quantity(limits[name], kpath)
    for name in sorted(requests):
        kpath = key(child(path, "requests"), name)
        out += container_resource_name(name, kpath) + _quantity(requests[name], kpath)
        if name in limits:
            want, cap = parse_quantity(requests[name]), parse_quantity(limits[name])
            if want is not None and cap is not None and want > cap:
                out.append(invalid(child(path, "requests"), str(requests[name]),
                                   f"must be less than or equal to {name} limit of "
                                   f"{limits[name]}"))
    return out


def _probe(probe: Any, path: str, single_success: bool) -> list[Cause]:
    if not isinstance(probe, Mapping):
        return []
    handlers = [h for h in _HANDLERS if probe.get(h) is not None]
    out: list[Cause] = []
    if not handlers:
        out.append(required(path, "must specify a handler type"))
    for extra in handlers[1:]:
        out.append(forbidden(child(path, extra), "may not specify more than 1 handler type"))
    for name in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                 "failureThreshold"):
        out += nonnegative(child(path, name), probe.get(name))
    success = as_int(probe.get("successThreshold"))
    if single_success and success not in (None, 0, 1):
        out.append(invalid(child(path, "successThreshold"), success, "must be 1"))
    return out


def _container(ctr: Mapping[str, Any], volumes: set[str], path: str) -> list[Cause]:
    out: list[Cause] = []
    name = ctr.get("name")
    if not name:
        out.append(required(child(path, "name")))
    elif isinstance(name, str):
        out += [invalid(child(path, "name"), name, m) for m in names.dns1123_label(name)]
    if not ctr.get("image"):
        out.append(required(child(path, "image")))
    out += _enum(ctr.get("terminationMessagePolicy"), child(path, "terminationMessagePolicy"),
                 _MESSAGE_POLICY)
    out += _ports(ctr.get("ports"), child(path, "ports"))
    out += _env(ctr.get("env"), child(path, "env"))
    out += _mounts(ctr.get("volumeMounts"), volumes, child(path, "volumeMounts"))
    out += _enum(ctr.get("imagePullPolicy"), child(path, "imagePullPolicy"), _PULL)
    out += _resources(ctr.get("resources"), child(path, "resources"))
    return out


def _containers(spec: Mapping[str, Any], volumes: set[str], path: str) -> list[Cause]:
    containers = _items(spec.get("containers"))
    if not containers:
        return [required(child(path, "containers"))]
    out: list[Cause] = []
    seen: set[Any] = set()
    for i, ctr in enumerate(containers):
        cpath = index(child(path, "containers"), i)
        out += _container(ctr, volumes, cpath)
        if ctr.get("name") in seen:
            out.append(duplicate(child(cpath, "name"), ctr.get("name")))
        seen.add(ctr.get("name"))
        out += _probe(ctr.get("livenessProbe"), child(cpath, "livenessProbe"), True)
        out += _probe(ctr.get("readinessProbe"), child(cpath, "readinessProbe"), False)
        out += _probe(ctr.get("startupProbe"), child(cpath, "startupProbe"), True)
    for i, ctr in enumerate(_items(spec.get("initContainers"))):
        cpath = index(child(path, "initContainers"), i)
        out += _container(ctr, volumes, cpath)
        if ctr.get("name") in seen:
            out.append(duplicate(child(cpath, "name"), ctr.get("name")))
        seen.add(ctr.get("name"))
    return out


def _volumes(spec: Mapping[str, Any], path: str) -> tuple[set[str], list[Cause]]:
    good: set[str] = set()
    out: list[Cause] = []
    for i, vol in enumerate(_items(spec.get("volumes"))):
        npath = child(index(path, i), "name")
        name = vol.get("name")
        errs: list[Cause] = []
        if not name:
            errs.append(required(npath))
        elif isinstance(name, str):
            errs += [invalid(npath, name, m) for m in names.dns1123_label(name)]
        if name in good:
            errs.append(duplicate(npath, name))
        if errs:
            out += errs
        elif isinstance(name, str):
            good.add(name)
    return good, out


def _tolerations(tolerations: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    for i, tol in enumerate(_items(tolerations)):
        ipath = index(path, i)
        tkey, op, value = tol.get("key") or "", tol.get("operator") or "", tol.get("value") or ""
        effect = tol.get("effect") or ""
        if tkey:
            out += [invalid(child(ipath, "key"), tkey, m) for m in names.qualified_name(tkey)]
        if not tkey and op != "Exists":
            out.append(invalid(child(ipath, "operator"), op, "operator must be Exists when "
                               "`key` is empty, which means \"match all values and all keys\""))
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            out.append(invalid(child(ipath, "effect"), effect,
                               "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("", "Equal"):
            msgs = names.label_value(str(value))
            if msgs:
                out.append(invalid(child(ipath, "operator"), value, ";".join(msgs)))
        elif op != "Exists":
            out.append(not_supported(child(ipath, "operator"), op, ("Equal", "Exists")))
        if effect and effect not in _EFFECTS:
            out.append(not_supported(child(ipath, "effect"), effect, _EFFECTS))
    return out


def pod_spec(spec: Any, path: str) -> list[Cause]:
    if not isinstance(spec, Mapping):
        return [required(child(path, "containers"))]
    volumes, out = _volumes(spec, child(path, "volumes"))
    out += _containers(spec, volumes, path)
    out += _enum(spec.get("restartPolicy"), child(path, "restartPolicy"), _RESTART)
    out += _enum(spec.get("dnsPolicy"), child(path, "dnsPolicy"), _DNS)
    out += label_map(spec.get("nodeSelector"), child(path, "nodeSelector"))
    deadline = as_int(spec.get("activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= _MAX_INT32:
        out.append(invalid(child(path, "activeDeadlineSeconds"), deadline,
                           f"must be between 1 and {_MAX_INT32}, inclusive"))
    out += _tolerations(spec.get("tolerations"), child(path, "tolerations"))
    return out


def pod_template(template: Any, path: str, extra_labels: Mapping[str, str] | None = None,
                 ) -> list[Cause]:
    """``ValidatePodTemplateSpec``: its labels and annotations (at ``<path>.labels``, as the
    real server names them), then its pod spec. ``extra_labels`` are ones defaulting adds."""
    tmpl = mapping(template)
    meta = mapping(tmpl.get("metadata"))
    tmpl_labels = {**mapping(meta.get("labels")), **(extra_labels or {})}
    out = label_map(tmpl_labels, child(path, "labels"))
    out += annotation_map(meta.get("annotations"), child(path, "annotations"))
    return out + pod_spec(tmpl.get("spec"), child(path, "spec"))
