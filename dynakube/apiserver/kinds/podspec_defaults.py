"""What kube-apiserver fills into a pod spec, and what its admission plugins add to a Pod.

Every pod spec (a Pod's and every workload's template) gets the same defaults
(``SetDefaults_PodSpec``, ``SetDefaults_Container``, ``SetDefaults_Volume``, ``SetDefaults_Probe``
...). A Pod itself gets more: requests copied from limits, ``enableServiceLinks``, and, on
create, what the ``ServiceAccount``, ``Priority`` and ``DefaultTolerationSeconds`` admission
plugins add (``serviceAccountName``, the ``kube-api-access-*`` token volume and its mounts,
``priority``, the two ``NoExecute`` tolerations). Pure functions over plain dicts; the few
facts that need server state come from a :class:`DefaultingState`.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from dynakube.errors import DynakubeError

__all__ = [
    "TOKEN_MOUNT_PATH",
    "AdmissionRefused",
    "DefaultingState",
    "admit_pod",
    "default_pod",
    "default_pod_spec",
    "default_pod_template",
    "image_pull_policy",
    "listing",
    "mapping",
    "qos_class",
    "quantity",
    "set_default",
]

Obj = dict[str, Any]

TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's SimpleNameGenerator alphabet
_BUILTIN_PRIORITY = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}
_DEFAULT_TOLERATED = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


class AdmissionRefused(DynakubeError):
    """An admission plugin refused the object: the server answers ``403 Forbidden``.

    ``message`` is the plugin's own text; the server prefixes ``<resource> "<name>" is
    forbidden: `` as kube-apiserver does.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DefaultingState(Protocol):
    """The little server state defaulting needs: stored objects and the two allocators."""

    def get_object(self, resource: str, namespace: str | None,
                   name: str) -> Mapping[str, Any] | None:
        """A stored built-in object (``serviceaccounts``, ``priorityclasses``), or ``None``."""

    def list_objects(self, resource: str, namespace: str | None) -> list[Mapping[str, Any]]:
        """Every stored object of a built-in resource (in ``namespace`` when given)."""

    def allocate_cluster_ip(self, family: str) -> str:
        """A free address of the service CIDR of ``family`` (``IPv4`` or ``IPv6``)."""

    def allocate_node_port(self, exclude: Collection[int]) -> int:
        """A free port of the node-port range (30000-32767) not in ``exclude``."""


def set_default(obj: Obj, key: str, value: Any) -> None:
    """``obj[key] = value`` when unset: missing, ``null``, or ``""`` for a string default.

    Go decodes ``""`` into an unset string, so ``imagePullPolicy: ""`` is defaulted too.
    """
    current = obj.get(key)
    if current is None or (current == "" and isinstance(value, str)):
        obj[key] = value


def mapping(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``obj[key]`` when it is an object, else an empty one (read-only use)."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def listing(obj: Mapping[str, Any], key: str) -> list[Any]:
    """``obj[key]`` when it is a list, else an empty one (read-only use)."""
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[Obj]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _child(obj: Obj, key: str) -> Obj | None:
    value = obj.get(key)
    return value if isinstance(value, dict) else None


def image_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or an untagged image without digest, else ``IfNotPresent``."""
    if not image:
        return "IfNotPresent"
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.rpartition(":")[2] if ":" in last else ("" if digest else "latest")
    return "Always" if tag == "latest" else "IfNotPresent"


# -- containers ------------------------------------------------------------------------------


def _default_http_get(action: Obj | None) -> None:
    if action is not None:
        set_default(action, "path", "/")
        set_default(action, "scheme", "HTTP")


def _default_handler(handler: Obj | None) -> None:
    if handler is not None:
        _default_http_get(_child(handler, "httpGet"))


def _default_probe(probe: Obj) -> None:
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                       ("failureThreshold", 3)):
        set_default(probe, key, value)
    _default_handler(probe)
    grpc = _child(probe, "grpc")
    if grpc is not None and grpc.get("service") is None:
        grpc["service"] = ""


def _default_field_ref(ref: Obj | None) -> None:
    if ref is not None:
        set_default(ref, "apiVersion", "v1")


def _default_resource_field_ref(ref: Obj | None) -> None:
    if ref is not None and ref.get("divisor") in (None, ""):
        ref["divisor"] = "0"  # a zero resource.Quantity is never omitted


def _default_container(container: Obj) -> None:
    set_default(container, "imagePullPolicy", image_pull_policy(str(container.get("image") or "")))
    set_default(container, "terminationMessagePath", "/dev/termination-log")
    set_default(container, "terminationMessagePolicy", "File")
    if container.get("resources") is None:
        container["resources"] = {}
    for port in _dicts(container.get("ports")):
        set_default(port, "protocol", "TCP")
    for env in _dicts(container.get("env")):
        source = _child(env, "valueFrom")
        if source is not None:
            _default_field_ref(_child(source, "fieldRef"))
            _default_resource_field_ref(_child(source, "resourceFieldRef"))
    for key in _PROBES:
        probe = _child(container, key)
        if probe is not None:
            _default_probe(probe)
    lifecycle = _child(container, "lifecycle")
    if lifecycle is not None:
        _default_handler(_child(lifecycle, "postStart"))
        _default_handler(_child(lifecycle, "preStop"))


# -- volumes ---------------------------------------------------------------------------------

_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
    "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
    "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
    "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
    "storageos", "csi", "ephemeral", "image",
)


def _default_downward_items(source: Obj) -> None:
    for item in _dicts(source.get("items")):
        _default_field_ref(_child(item, "fieldRef"))
        _default_resource_field_ref(_child(item, "resourceFieldRef"))


def default_volume_source(volume: Obj) -> None:
    """Defaults of the volume sources a Pod and a PersistentVolume share."""
    host_path = _child(volume, "hostPath")
    if host_path is not None and host_path.get("type") is None:
        host_path["type"] = ""
    iscsi = _child(volume, "iscsi")
    if iscsi is not None:
        set_default(iscsi, "iscsiInterface", "default")
    rbd = _child(volume, "rbd")
    if rbd is not None:
        for key, value in (("pool", "rbd"), ("user", "admin"), ("keyring", "/etc/ceph/keyring")):
            set_default(rbd, key, value)
    azure = _child(volume, "azureDisk")
    if azure is not None:
        for key, text in (("cachingMode", "ReadWrite"), ("fsType", "ext4"), ("kind", "Shared")):
            set_default(azure, key, text)
        set_default(azure, "readOnly", False)
    scale_io = _child(volume, "scaleIO")
    if scale_io is not None:
        set_default(scale_io, "storageMode", "ThinProvisioned")
        set_default(scale_io, "fsType", "xfs")


def _default_volume(volume: Obj) -> None:
    if not any(volume.get(key) is not None for key in _VOLUME_SOURCES):
        volume["emptyDir"] = {}
    default_volume_source(volume)
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        source = _child(volume, key)
        if source is not None:
            set_default(source, "defaultMode", 420)
    downward = _child(volume, "downwardAPI")
    if downward is not None:
        _default_downward_items(downward)
    projected = _child(volume, "projected")
    if projected is not None:
        for source in _dicts(projected.get("sources")):
            inner = _child(source, "downwardAPI")
            if inner is not None:
                _default_downward_items(inner)
            token = _child(source, "serviceAccountToken")
            if token is not None:
                set_default(token, "expirationSeconds", 3600)
    claim = _child(volume, "ephemeral")
    template = _child(claim, "volumeClaimTemplate") if claim is not None else None
    claim_spec = _child(template, "spec") if template is not None else None
    if claim_spec is not None:
        set_default(claim_spec, "volumeMode", "Filesystem")


# -- pod specs -------------------------------------------------------------------------------


def default_pod_spec(spec: Obj) -> None:
    """``SetDefaults_PodSpec`` and everything below it, for a Pod and every pod template."""
    for key, value in (("dnsPolicy", "ClusterFirst"), ("restartPolicy", "Always"),
                       ("terminationGracePeriodSeconds", 30),
                       ("schedulerName", "default-scheduler")):
        set_default(spec, key, value)
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    # v1 conversion: the deprecated serviceAccount mirrors serviceAccountName.
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    else:
        spec.pop("serviceAccount", None)
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in _dicts(spec.get(group)):
            _default_container(container)
    for volume in _dicts(spec.get("volumes")):
        _default_volume(volume)


def default_pod_template(template: Obj | None) -> None:
    """A workload's pod template: its metadata is a struct, so it is always there."""
    if template is None:
        return
    if template.get("metadata") is None:
        template["metadata"] = {}
    spec = _child(template, "spec")
    if spec is not None:
        default_pod_spec(spec)


def default_pod(pod: Obj) -> None:
    """``SetDefaults_Pod``: a Pod's spec defaults plus what only a Pod gets."""
    spec = _child(pod, "spec")
    if spec is None:
        return
    default_pod_spec(spec)
    set_default(spec, "enableServiceLinks", True)
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:  # the Pod strategy: a negative grace means 1
        spec["terminationGracePeriodSeconds"] = 1
    for group in ("initContainers", "containers"):
        for container in _dicts(spec.get(group)):
            _requests_from_limits(_child(container, "resources"))
            if spec.get("hostNetwork") is True:
                for port in _dicts(container.get("ports")):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    _requests_from_limits(_child(spec, "resources"))


def _requests_from_limits(resources: Obj | None) -> None:
    if resources is None or not isinstance(resources.get("limits"), dict):
        return
    limits = resources["limits"]
    if not limits:
        return
    requests = resources.get("requests")
    if not isinstance(requests, dict):
        requests = resources["requests"] = {}
    for key, value in limits.items():
        requests.setdefault(key, value)


# -- Pod admission (create) ------------------------------------------------------------------


def admit_pod(pod: Obj, old: Obj | None, state: DefaultingState | None) -> None:
    """What the admission plugins of a default kube-apiserver add to a Pod.

    ``ServiceAccount`` and ``Priority`` act on create only (``old is None``);
    ``DefaultTolerationSeconds`` on every write. Raises :class:`AdmissionRefused` for a
    missing ServiceAccount or PriorityClass, as the plugins do.
    """
    spec = _child(pod, "spec")
    if spec is None:
        return
    meta = mapping(pod, "metadata")
    if old is None:
        _admit_service_account(spec, meta, state)
        _admit_priority(spec, state)
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        tolerations = []
    for key in _DEFAULT_TOLERATED:
        if not any(isinstance(t, dict) and t.get("key") in (key, "", None)
                   and t.get("effect") in ("NoExecute", "", None) for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": 300})
    spec["tolerations"] = tolerations


def _admit_service_account(spec: Obj, meta: Mapping[str, Any],
                           state: DefaultingState | None) -> None:
    if "kubernetes.io/config.mirror" in mapping(meta, "annotations"):
        return
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = "default"
    name = str(spec["serviceAccountName"])
    spec["serviceAccount"] = name
    namespace = meta.get("namespace")
    account: Mapping[str, Any] = {}
    if state is not None:
        found = state.get_object("serviceaccounts", namespace, name)
        if found is None:
            raise AdmissionRefused(f"error looking up service account {namespace}/{name}: "
                                   f'serviceaccount "{name}" not found')
        account = found
    automount = spec.get("automountServiceAccountToken")
    if automount is None:
        automount = account.get("automountServiceAccountToken")
    if automount is not False:
        _mount_token(spec)
    if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
        spec["imagePullSecrets"] = [{"name": s.get("name")} for s in
                                    _dicts(account["imagePullSecrets"])]


def _mount_token(spec: Obj) -> None:
    volumes = _dicts(spec.get("volumes"))
    existing = next((v["name"] for v in volumes
                     if str(v.get("name", "")).startswith("kube-api-access-")), None)
    name = existing or "kube-api-access-" + "".join(secrets.choice(_NAME_CHARS)
                                                    for _ in range(5))
    needed = False
    for group in ("initContainers", "containers"):
        for container in _dicts(spec.get(group)):
            mounts = container.get("volumeMounts")
            if not isinstance(mounts, list):
                mounts = []
            if not any(isinstance(m, dict) and m.get("mountPath") == TOKEN_MOUNT_PATH
                       for m in mounts):
                mounts.append({"name": name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH})
                container["volumeMounts"] = mounts
                needed = True
    if needed and existing is None:
        spec["volumes"] = [*(spec.get("volumes") or []), _token_volume(name)]


def _token_volume(name: str) -> Obj:
    """The projected volume upstream adds: token, cluster CA and namespace (no OpenShift CA)."""
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt",
                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}


def _admit_priority(spec: Obj, state: DefaultingState | None) -> None:
    class_name = spec.get("priorityClassName")
    value, policy = 0, "PreemptLowerPriority"
    found: Mapping[str, Any] | None = None
    if class_name:
        if class_name in _BUILTIN_PRIORITY:
            found = {"value": _BUILTIN_PRIORITY[str(class_name)]}
        elif state is not None:
            found = state.get_object("priorityclasses", None, str(class_name))
        if found is None:
            raise AdmissionRefused(f"no PriorityClass with name {class_name} was found")
    elif state is not None:
        found = next((c for c in state.list_objects("priorityclasses", None)
                      if c.get("globalDefault") is True), None)
        if found is not None:
            spec["priorityClassName"] = (found.get("metadata") or {}).get("name")
    if found is not None:
        value = int(found.get("value") or 0)
        policy = str(found.get("preemptionPolicy") or policy)
    given = spec.get("priority")
    if given is not None and given != value:
        raise AdmissionRefused(
            f"the integer value of priority ({given}) must not be provided in pod spec; "
            f"priority admission controller computed {value} from the given PriorityClass name")
    spec["priority"] = value
    set_default(spec, "preemptionPolicy", policy)


# -- QoS -------------------------------------------------------------------------------------

_SUFFIX = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6,
           "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15,
           "E": Decimal(10) ** 18, "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20,
           "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50,
           "Ei": Decimal(2) ** 60}


def quantity(value: Any) -> Decimal:
    """A resource quantity (``500m``, ``1Gi``, ``2e3``) as a number; unparsable is 0."""
    text = str(value).strip()
    for suffix in sorted(_SUFFIX, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            try:
                return Decimal(text[: -len(suffix)]) * _SUFFIX[suffix]
            except InvalidOperation:
                return Decimal(0)
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal(0)


def qos_class(spec: Mapping[str, Any]) -> str:
    """``BestEffort``, ``Burstable`` or ``Guaranteed``, from cpu and memory (``GetPodQOS``)."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    pod_level = spec.get("resources") if isinstance(spec.get("resources"), dict) else None
    if pod_level and (pod_level.get("requests") or pod_level.get("limits")):
        holders: list[Mapping[str, Any]] = [pod_level]
    else:
        holders = [c.get("resources") or {} for group in ("containers", "initContainers")
                   for c in _dicts(spec.get(group))]
    for resources in holders:
        for kind, into in (("requests", requests), ("limits", limits)):
            given = mapping(resources, kind)
            for name in ("cpu", "memory"):
                if name in given and quantity(given[name]) != 0:
                    into[name] = into.get(name, Decimal(0)) + quantity(given[name])
        given_limits = mapping(resources, "limits")
        if not all(name in given_limits and quantity(given_limits[name]) != 0
                   for name in ("cpu", "memory")):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(requests.get(name) == limits.get(name) for name in ("cpu", "memory")):
        return "Guaranteed"
    return "Burstable"
