"""The kinds the embedded API server knows: built-ins and those CustomResourceDefinitions add.

A :class:`KindSpec` holds everything the server needs to serve one kind at one version: the
names and verbs discovery shows, the subresources, the columns of its server-side table, and
the name of its OpenAPI schema. ``BUILTIN_KINDS`` lists the built-in kinds exactly as a
Kubernetes 1.36 server's discovery shows them; :func:`kinds_from_crd` derives the same for each
served version of a CRD. The OpenAPI schemas live in :mod:`.builtin_schemas` and the table
columns in :mod:`.printers` (both re-exported here); the defaults the real server fills in on
create are in :func:`apply_builtin_defaults`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dynakube.apiserver.kinds.printers import (
    BUILTIN_COLUMNS,
    PrinterColumn,
    crd_columns,
    human_duration,
    jsonpath_value,
)
from dynakube.apiserver.kinds.schemas import BUILTIN_SCHEMAS, PARTIAL_SCHEMAS
from dynakube.errors import InvalidArgumentError

__all__ = [
    "BUILTIN_KINDS",
    "BUILTIN_SCHEMAS",
    "PARTIAL_SCHEMAS",
    "KindSpec",
    "PrinterColumn",
    "ScalePaths",
    "SubresourceSpec",
    "apply_builtin_defaults",
    "builtin_kind",
    "crd_schema_name",
    "human_duration",
    "jsonpath_value",
    "kinds_from_crd",
    "now_rfc3339",
    "set_path",
    "version_priority",
]

_STANDARD_VERBS = (
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
)
_CR_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
_SUB_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class SubresourceSpec:
    """One subresource as aggregated discovery shows it.

    For built-ins ``group``/``version`` are empty when the response kind is in the parent's own
    group-version (that is how discovery writes it); custom resources always spell them out.
    """

    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str = ""
    version: str = ""


@dataclass(frozen=True)
class ScalePaths:
    """Where a custom resource keeps what its ``scale`` subresource shows (JSONPaths)."""

    spec_replicas: str
    status_replicas: str
    label_selector: str | None = None


@dataclass(frozen=True)
class KindSpec:
    """A kind served at one group-version, with what discovery, tables and OpenAPI need."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    verbs: tuple[str, ...]
    schema_name: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[SubresourceSpec, ...] = ()
    list_kind: str = ""
    columns: tuple[PrinterColumn, ...] = ()
    # A delete answers with the deleted object instead of a Status (Pod, Service, ...).
    delete_returns_object: bool = False
    # Custom resources only.
    crd_name: str | None = None
    schema: Mapping[str, Any] | None = field(default=None, compare=False)
    storage: bool = True
    deprecated: bool = False
    deprecation_warning: str | None = None
    scale: ScalePaths | None = None

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def is_custom(self) -> bool:
        """True for kinds a CustomResourceDefinition defines."""
        return self.crd_name is not None

    def subresource(self, name: str) -> SubresourceSpec | None:
        """The subresource called ``name``, or None."""
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    def column_definitions(self) -> list[dict[str, Any]]:
        """``columnDefinitions`` of this kind's server-side table."""
        return [column.definition() for column in self.columns]

    def table_cells(self, obj: Mapping[str, Any], now: float) -> list[Any]:
        """One row's ``cells`` for ``obj`` (``now``: seconds since the epoch, for ages)."""
        return [column.cell(obj, now) for column in self.columns]

    def warning(self) -> str | None:
        """The ``Warning`` text for requests to this version (deprecated CRD versions only)."""
        if not self.deprecated:
            return None
        if self.deprecation_warning:
            return self.deprecation_warning
        return f"{self.api_version} {self.kind} is deprecated"


# ---------------------------------------------------------------- the built-in table


def _builtin(
    group: str, version: str, kind: str, plural: str, *, namespaced: bool = True,
    short: tuple[str, ...] = (), categories: tuple[str, ...] = (),
    subresources: tuple[SubresourceSpec, ...] = (),
    verbs: tuple[str, ...] = _STANDARD_VERBS, schema_prefix: str,
) -> KindSpec:
    returns_object = kind in ("Pod", "Service", "ServiceAccount")
    return KindSpec(
        group=group, version=version, kind=kind, plural=plural, singular=kind.lower(),
        namespaced=namespaced, verbs=verbs, schema_name=f"{schema_prefix}.{kind}",
        short_names=short, categories=categories, subresources=subresources,
        list_kind=f"{kind}List", columns=BUILTIN_COLUMNS[kind],
        delete_returns_object=returns_object,
    )


def _sub(name: str, kind: str, verbs: tuple[str, ...] = _SUB_VERBS, group: str = "",
         version: str = "") -> SubresourceSpec:
    return SubresourceSpec(name, kind, verbs, group, version)


_CORE = "io.k8s.api.core.v1"
_CRUD = ("create", "delete", "get", "patch", "update")

BUILTIN_KINDS: tuple[KindSpec, ...] = (
    _builtin(
        "", "v1", "Namespace", "namespaces", namespaced=False, short=("ns",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        subresources=(_sub("finalize", "Namespace", ("update",)), _sub("status", "Namespace")),
        schema_prefix=_CORE,
    ),
    _builtin("", "v1", "ConfigMap", "configmaps", short=("cm",), schema_prefix=_CORE),
    _builtin("", "v1", "Secret", "secrets", schema_prefix=_CORE),
    _builtin(
        "", "v1", "Service", "services", short=("svc",), categories=("all",),
        schema_prefix=_CORE,
        subresources=(_sub("proxy", "ServiceProxyOptions", _CRUD), _sub("status", "Service")),
    ),
    _builtin(
        "", "v1", "Pod", "pods", short=("po",), categories=("all",), schema_prefix=_CORE,
        subresources=(
            _sub("attach", "PodAttachOptions", ("create", "get")),
            _sub("binding", "Binding", ("create",)),
            _sub("ephemeralcontainers", "Pod"),
            _sub("eviction", "Eviction", ("create",), "policy", "v1"),
            _sub("exec", "PodExecOptions", ("create", "get")),
            _sub("log", "Pod", ("get",)),
            _sub("portforward", "PodPortForwardOptions", ("create", "get")),
            _sub("proxy", "PodProxyOptions", _CRUD),
            _sub("resize", "Pod"),
            _sub("status", "Pod"),
        ),
    ),
    _builtin(
        "", "v1", "ServiceAccount", "serviceaccounts", short=("sa",), schema_prefix=_CORE,
        subresources=(_sub("token", "TokenRequest", ("create",), "authentication.k8s.io", "v1"),),
    ),
    _builtin("", "v1", "Event", "events", short=("ev",), schema_prefix=_CORE),
    _builtin(
        "apps", "v1", "Deployment", "deployments", short=("deploy",), categories=("all",),
        schema_prefix="io.k8s.api.apps.v1",
        subresources=(_sub("scale", "Scale", _SUB_VERBS, "autoscaling", "v1"),
                      _sub("status", "Deployment")),
    ),
    _builtin(
        "coordination.k8s.io", "v1", "Lease", "leases", schema_prefix="io.k8s.api.coordination.v1",
    ),
    _builtin(
        "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
        namespaced=False, short=("crd", "crds"), categories=("api-extensions",),
        schema_prefix="io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1",
        subresources=(_sub("status", "CustomResourceDefinition"),),
    ),
)
"""The built-in kinds, with verbs, short names and categories as real discovery shows them."""


def builtin_kind(group: str, version: str, kind: str) -> KindSpec | None:
    """The built-in :class:`KindSpec` for a group/version/kind, or None."""
    for spec in BUILTIN_KINDS:
        if (spec.group, spec.version, spec.kind) == (group, version, kind):
            return spec
    return None


# ---------------------------------------------------------------- CustomResourceDefinitions

_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting versions in Kubernetes order: v2, v1, v1beta2, v1beta1, v1alpha1, foo.

    Sort ascending by this key to get the preferred version first.
    """
    match = _VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


def crd_schema_name(group: str, version: str, kind: str) -> str:
    """The component schema name the server publishes: ``io.dynakube.example.v1.Widget``."""
    return ".".join([*reversed(group.split(".")), version, kind])


def _get(obj: Any, *path: str) -> Any:
    current = obj
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise InvalidArgumentError(f"CustomResourceDefinition {where} has no {key!r}")
    return mapping[key]


def kinds_from_crd(crd: Mapping[str, Any]) -> list[KindSpec]:
    """One :class:`KindSpec` per served version of ``crd``, the preferred version first.

    Raises InvalidArgumentError when the CRD lacks ``spec.group``, ``spec.names`` or versions.
    """
    spec = _require(crd, "spec", "object")
    group = str(_require(spec, "group", "spec"))
    names = _require(spec, "names", "spec")
    kind = str(_require(names, "kind", "spec.names"))
    plural = str(_require(names, "plural", "spec.names"))
    versions = _require(spec, "versions", "spec")
    if not isinstance(versions, list):
        raise InvalidArgumentError("CustomResourceDefinition spec.versions must be a list")
    crd_name = str(_get(crd, "metadata", "name") or f"{plural}.{group}")
    result = []
    for entry in versions:
        if not isinstance(entry, Mapping) or not entry.get("served"):
            continue
        version = str(_require(entry, "name", "spec.versions[]"))
        subs = entry.get("subresources") or {}
        subresources: list[SubresourceSpec] = []
        scale = None
        if "status" in subs:
            subresources.append(_sub("status", kind, _SUB_VERBS, group, version))
        if isinstance(subs.get("scale"), Mapping):
            subresources.append(_sub("scale", "Scale", _SUB_VERBS, "autoscaling", "v1"))
            scale = ScalePaths(
                str(subs["scale"].get("specReplicasPath", "")),
                str(subs["scale"].get("statusReplicasPath", "")),
                subs["scale"].get("labelSelectorPath"),
            )
        schema = _get(entry, "schema", "openAPIV3Schema")
        result.append(KindSpec(
            group=group, version=version, kind=kind, plural=plural,
            singular=str(names.get("singular") or kind.lower()),
            namespaced=spec.get("scope", "Namespaced") != "Cluster", verbs=_CR_VERBS,
            schema_name=crd_schema_name(group, version, kind),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=tuple(subresources), list_kind=str(names.get("listKind") or f"{kind}List"),
            columns=crd_columns(entry.get("additionalPrinterColumns")), crd_name=crd_name,
            schema=schema if isinstance(schema, Mapping) else {"type": "object"},
            storage=bool(entry.get("storage")), deprecated=bool(entry.get("deprecated")),
            deprecation_warning=entry.get("deprecationWarning"), scale=scale,
        ))
    result.sort(key=lambda k: version_priority(k.version))
    return result


# ---------------------------------------------------------------- defaults on create


def set_path(obj: dict[str, Any], path: tuple[str, ...], value: Any, *,
             overwrite: bool = True) -> None:
    """Set ``obj[path[0]][path[1]]...`` to ``value``, making the maps on the way; with
    ``overwrite=False`` only where it is unset (absent or null), as defaulting does."""
    current = obj
    for key in path[:-1]:
        nxt = current.get(key)
        if not isinstance(nxt, dict):
            nxt = current[key] = {}
        current = nxt
    if overwrite or current.get(path[-1]) is None:
        current[path[-1]] = value


def _setdefault_path(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    set_path(obj, path, value, overwrite=False)


def _default_pod_spec(spec: dict[str, Any]) -> None:
    for key, value in (("restartPolicy", "Always"), ("terminationGracePeriodSeconds", 30),
                       ("dnsPolicy", "ClusterFirst"), ("securityContext", {}),
                       ("schedulerName", "default-scheduler"), ("enableServiceLinks", True)):
        if spec.get(key) is None:
            spec[key] = value
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            if not isinstance(container, dict):
                continue
            image = str(container.get("image") or "")
            tagged = ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")
            pull = "IfNotPresent" if tagged or "@" in image else "Always"
            for key, value in (("terminationMessagePath", "/dev/termination-log"),
                               ("terminationMessagePolicy", "File"),
                               ("imagePullPolicy", pull), ("resources", {})):
                if container.get(key) is None:
                    container[key] = value
            for port in container.get("ports") or []:
                if isinstance(port, dict) and port.get("protocol") is None:
                    port["protocol"] = "TCP"


def apply_builtin_defaults(obj: dict[str, Any]) -> None:
    """Fill in, in place, what the real server defaults when a built-in object is created.

    Keyed on ``apiVersion``/``kind``; other objects are left alone. Cluster IPs are not
    allocated here (that needs the server's state).
    """
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    name = _get(obj, "metadata", "name")
    if (api_version, kind) == ("v1", "Namespace"):
        if isinstance(name, str):
            _setdefault_path(obj, ("metadata", "labels", "kubernetes.io/metadata.name"), name)
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name
        _setdefault_path(obj, ("spec", "finalizers"), ["kubernetes"])
        _setdefault_path(obj, ("status", "phase"), "Active")
    elif (api_version, kind) == ("v1", "Secret"):
        if obj.get("type") is None:
            obj["type"] = "Opaque"
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            data: dict[str, Any] = obj["data"] if isinstance(obj.get("data"), dict) else {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
    elif (api_version, kind) == ("v1", "Service"):
        spec = obj.setdefault("spec", {}) if isinstance(obj.get("spec"), dict) else None
        if spec is not None:
            for key, value in (("type", "ClusterIP"), ("sessionAffinity", "None"),
                               ("internalTrafficPolicy", "Cluster"),
                               ("ipFamilyPolicy", "SingleStack"), ("ipFamilies", ["IPv4"])):
                if spec.get(key) is None:
                    spec[key] = value
            for port in spec.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
                    port.setdefault("targetPort", port.get("port"))
        _setdefault_path(obj, ("status", "loadBalancer"), {})
    elif (api_version, kind) == ("v1", "Pod"):
        if isinstance(obj.get("spec"), dict):
            _default_pod_spec(obj["spec"])
        _setdefault_path(obj, ("status", "phase"), "Pending")
        _setdefault_path(obj, ("status", "qosClass"), "BestEffort")
    elif (api_version, kind) == ("apps/v1", "Deployment"):
        spec = obj.get("spec")
        if isinstance(spec, dict):
            for key, value in (("replicas", 1), ("revisionHistoryLimit", 10),
                               ("progressDeadlineSeconds", 600)):
                if spec.get(key) is None:
                    spec[key] = value
            _setdefault_path(spec, ("strategy", "type"), "RollingUpdate")
            if spec["strategy"]["type"] == "RollingUpdate":
                _setdefault_path(spec, ("strategy", "rollingUpdate", "maxUnavailable"), "25%")
                _setdefault_path(spec, ("strategy", "rollingUpdate", "maxSurge"), "25%")
            template_spec = _get(spec, "template", "spec")
            if isinstance(template_spec, dict):
                _default_pod_spec(template_spec)
    elif (api_version, kind) == ("apiextensions.k8s.io/v1", "CustomResourceDefinition"):
        names = _get(obj, "spec", "names")
        if isinstance(names, dict) and isinstance(names.get("kind"), str):
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", names["kind"] + "List")
        if isinstance(obj.get("spec"), dict):
            _setdefault_path(obj, ("spec", "conversion", "strategy"), "None")


def now_rfc3339(now: float) -> str:
    """``now`` (seconds since the epoch) in the server's timestamp format."""
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
