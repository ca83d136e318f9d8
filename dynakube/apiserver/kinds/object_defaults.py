"""The defaulters of the built-in kinds other than workloads and Services, one per kind.

Each is a ``SetDefaults_*`` of the scheme, plus the strategy's or an admission plugin's fixed
additions on create (a Namespace's ``kubernetes`` finalizer, a volume's protection finalizer,
a Node's ``not-ready`` taint), plus the fields Go always serializes (``rules: null`` of an
empty Role, a zero ``status``). :data:`DEFAULTERS` maps ``(group, kind)`` to them;
:func:`~.defaults.apply_defaults` is the entry point.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dynakube.apiserver.kinds.limit_ranger import admit_limit_ranges
from dynakube.apiserver.kinds.podspec_defaults import (
    DefaultingState,
    admit_pod,
    default_pod,
    default_volume_source,
    listing,
    qos_class,
    set_default,
)
from dynakube.apiserver.kinds.service_defaults import default_service

__all__ = ["ALWAYS_SERIALIZED", "DEFAULTERS", "HPA_METRICS_ANNOTATION", "PROTECTION_FINALIZERS",
           "Defaulter", "UserInfo", "WriteContext"]

Obj = dict[str, Any]

PROTECTION_FINALIZERS = frozenset({"kubernetes.io/pvc-protection", "kubernetes.io/pv-protection",
                                   "kubernetes.io/vac-protection"})
"""What admission adds to volumes and their classes; their controllers drop it when unused."""


@dataclass(frozen=True)
class UserInfo:
    """The requesting user, as a CertificateSigningRequest records it."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteContext:
    """One write being defaulted: the stored object (``None`` on create) and the server."""

    old: Obj | None
    state: DefaultingState | None
    user: UserInfo | None
    now: str
    on_defaulted: Callable[[Obj], None] | None = None

    @property
    def creating(self) -> bool:
        return self.old is None

    def defaulted(self, obj: Obj) -> None:
        """The scheme's defaults are in; admission plugins and the strategy come next.

        kube-apiserver's field manager runs between the two, so what a defaulter changes
        after this call belongs to no manager."""
        if self.on_defaulted is not None:
            self.on_defaulted(obj)


Defaulter = Callable[[Obj, "WriteContext"], None]


# -- helpers ---------------------------------------------------------------------------------


def _child(obj: Obj, key: str) -> Obj:
    value = obj.get(key)
    if not isinstance(value, dict):
        value = obj[key] = {}
    return value


def _dicts(value: Any) -> list[Obj]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


HPA_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
"""Where an autoscaling/v1 HorizontalPodAutoscaler keeps the metrics v1 cannot hold."""

ALWAYS_SERIALIZED: dict[str, dict[str, Any]] = {
    "io.k8s.api.core.v1.PodSpec": {"containers": None},
    "io.k8s.api.core.v1.LimitRangeSpec": {"limits": None},
    "io.k8s.api.core.v1.Event": {"eventTime": None, "firstTimestamp": None,
                                 "lastTimestamp": None, "reportingComponent": "",
                                 "reportingInstance": ""},
    "io.k8s.api.events.v1.Event": {"deprecatedFirstTimestamp": None,
                                   "deprecatedLastTimestamp": None},
    "io.k8s.api.apps.v1.StatefulSetSpec": {"serviceName": ""},
    "io.k8s.api.discovery.v1.EndpointSlice": {"endpoints": None, "ports": None},
    "io.k8s.api.rbac.v1.Role": {"rules": None},
    "io.k8s.api.rbac.v1.ClusterRole": {"rules": None},
    "io.k8s.api.storage.v1.CSINodeSpec": {"drivers": None},
}
"""Fields the Go types declare without ``omitempty``, which the OpenAPI schemas do not say:
an object always has them, as its zero value when unset (component schema → field → zero)."""


def _null_if_empty(obj: Obj, *keys: str) -> None:
    """A list field without ``omitempty``: absent or ``[]`` reads back as ``null``."""
    for key in keys:
        if not obj.get(key):
            obj[key] = None


def _add_finalizer(obj: Obj, name: str) -> None:
    meta = _child(obj, "metadata")
    finalizers = listing(meta, "finalizers")
    if name not in finalizers:
        meta["finalizers"] = [*finalizers, name]


def _status_zero(obj: Obj, **zeros: Any) -> None:
    status = _child(obj, "status")
    for key, value in zeros.items():
        status.setdefault(key, value)


# -- core/v1 ---------------------------------------------------------------------------------


def _pod(obj: Obj, write: WriteContext) -> None:
    default_pod(obj)
    write.defaulted(obj)
    if write.creating and write.state is not None:
        namespace = (obj.get("metadata") or {}).get("namespace")
        admit_limit_ranges(obj, write.state.list_objects("limitranges", namespace))
    admit_pod(obj, write.old, write.state)
    if write.creating:  # the Pod strategy's PrepareForCreate
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}


def _service(obj: Obj, write: WriteContext) -> None:
    default_service(obj, write.old, write.state, defaulted=write.defaulted)


def _namespace(obj: Obj, write: WriteContext) -> None:
    meta = _child(obj, "metadata")
    if isinstance(meta.get("name"), str):
        _child(meta, "labels")["kubernetes.io/metadata.name"] = meta["name"]
    spec = _child(obj, "spec")
    if write.old is None:
        finalizers = listing(spec, "finalizers")
        if "kubernetes" not in finalizers:
            spec["finalizers"] = [*finalizers, "kubernetes"]
    else:  # the finalizers change only through the finalize subresource
        old_spec = write.old.get("spec") or {}
        if old_spec.get("finalizers") is not None:
            spec["finalizers"] = list(old_spec["finalizers"])
        else:
            spec.pop("finalizers", None)
    set_default(_child(obj, "status"), "phase", "Active")


def _secret(obj: Obj, write: WriteContext) -> None:
    set_default(obj, "type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = _child(obj, "data")
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
    if obj.get("data") == {}:
        del obj["data"]  # omitempty


def _persistent_volume_claim(obj: Obj, write: WriteContext) -> None:
    set_default(_child(obj, "spec"), "volumeMode", "Filesystem")
    set_default(_child(obj, "status"), "phase", "Pending")
    write.defaulted(obj)
    if write.creating:
        _add_finalizer(obj, "kubernetes.io/pvc-protection")


def _persistent_volume(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    set_default(spec, "persistentVolumeReclaimPolicy", "Retain")
    set_default(spec, "volumeMode", "Filesystem")
    default_volume_source(spec)
    status = _child(obj, "status")
    set_default(status, "phase", "Pending")
    write.defaulted(obj)
    if write.creating:
        status.setdefault("lastPhaseTransitionTime", write.now)
        _add_finalizer(obj, "kubernetes.io/pv-protection")


def _endpoints(obj: Obj, write: WriteContext) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            set_default(port, "protocol", "TCP")


def _core_event(obj: Obj, write: WriteContext) -> None:
    for key in ("eventTime", "firstTimestamp", "lastTimestamp"):
        obj.setdefault(key, None)
    for key in ("reportingComponent", "reportingInstance"):
        if obj.get(key) is None:
            obj[key] = ""
    if obj.get("source") is None:
        obj["source"] = {}


def _node(obj: Obj, write: WriteContext) -> None:
    write.defaulted(obj)
    spec = _child(obj, "spec")
    if write.creating:  # the TaintNodesByCondition admission plugin
        taints = listing(spec, "taints")
        if not any(isinstance(t, dict) and t.get("key") == "node.kubernetes.io/not-ready"
                   for t in taints):
            spec["taints"] = [*taints, {"key": "node.kubernetes.io/not-ready",
                                        "effect": "NoSchedule"}]
    status = _child(obj, "status")
    endpoints = _child(status, "daemonEndpoints")
    _child(endpoints, "kubeletEndpoint").setdefault("Port", 0)
    info = _child(status, "nodeInfo")
    for key in ("architecture", "bootID", "containerRuntimeVersion", "kernelVersion",
                "kubeProxyVersion", "kubeletVersion", "machineID", "operatingSystem", "osImage",
                "systemUUID"):
        info.setdefault(key, "")


def _limit_range(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    write.defaulted(obj)  # the field manager sees the limits as sent: [] is not null to it
    _null_if_empty(spec, "limits")
    for item in _dicts(spec.get("limits")):
        if item.get("type") != "Container":
            continue
        default = dict(item.get("default") or {})
        request = dict(item.get("defaultRequest") or {})
        for key, value in (item.get("max") or {}).items():
            default.setdefault(key, value)
        for key, value in default.items():
            request.setdefault(key, value)
        for key, value in (item.get("min") or {}).items():
            request.setdefault(key, value)
        for key, value in (("default", default), ("defaultRequest", request)):
            if value:
                item[key] = value


def _resource_quota(obj: Obj, write: WriteContext) -> None:
    _child(obj, "spec")
    _child(obj, "status")


# -- other groups ----------------------------------------------------------------------------


def _events_event(obj: Obj, write: WriteContext) -> None:
    for key in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp"):
        obj.setdefault(key, None)
    if obj.get("deprecatedSource") is None:
        obj["deprecatedSource"] = {}


def _match_rules(holder: Obj, *keys: str) -> None:
    for key in keys:
        for rule in _dicts(holder.get(key)):
            set_default(rule, "scope", "*")


def _webhooks(obj: Obj, write: WriteContext) -> None:
    mutating = obj.get("kind") == "MutatingWebhookConfiguration"
    for hook in _dicts(obj.get("webhooks")):
        set_default(hook, "failurePolicy", "Fail")
        set_default(hook, "matchPolicy", "Equivalent")
        for key in ("namespaceSelector", "objectSelector"):
            if hook.get(key) is None:
                hook[key] = {}
        set_default(hook, "timeoutSeconds", 10)
        if mutating:
            set_default(hook, "reinvocationPolicy", "Never")
        _match_rules(hook, "rules")
        service = (hook.get("clientConfig") or {}).get("service")
        if isinstance(service, dict):
            set_default(service, "port", 443)


def _admission_policy(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    set_default(spec, "failurePolicy", "Fail")
    constraints = spec.get("matchConstraints")
    if isinstance(constraints, dict):
        set_default(constraints, "matchPolicy", "Equivalent")
        for key in ("namespaceSelector", "objectSelector"):
            if constraints.get(key) is None:
                constraints[key] = {}
        _match_rules(constraints, "resourceRules", "excludeResourceRules")
    if obj.get("kind") == "ValidatingAdmissionPolicy":
        _child(obj, "status")


def _crd(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    names = spec.get("names")
    if isinstance(names, dict) and isinstance(names.get("kind"), str):
        set_default(names, "singular", names["kind"].lower())
        set_default(names, "listKind", names["kind"] + "List")
    set_default(_child(spec, "conversion"), "strategy", "None")
    if obj.get("status") is None and write.creating:
        obj["status"] = {"acceptedNames": {"kind": "", "plural": ""}, "conditions": None,
                         "storedVersions": [v.get("name") for v in _dicts(spec.get("versions"))
                                            if v.get("storage")]}


def _api_service(obj: Obj, write: WriteContext) -> None:
    if write.creating and not (obj.get("spec") or {}).get("service"):
        obj["status"] = {"conditions": [{
            "type": "Available", "status": "True", "reason": "Local",
            "message": "Local APIServices are always available",
            "lastTransitionTime": write.now}]}


def _hpa_v1(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    set_default(spec, "minReplicas", 1)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if HPA_METRICS_ANNOTATION not in annotations:
        set_default(spec, "targetCPUUtilizationPercentage", 80)  # v2's default, converted back
    _status_zero(obj, currentReplicas=0, desiredReplicas=0)


def _scaling_rules(given: Any, window: int | None, policies: list[Obj]) -> Obj:
    rules: Obj = {"selectPolicy": "Max", "policies": policies}
    if window is not None:
        rules["stabilizationWindowSeconds"] = window
    if isinstance(given, dict):
        rules.update({k: v for k, v in given.items() if v is not None})
    return rules


def _hpa_v2(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    set_default(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), 0, [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15}])
        behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), None, [
            {"type": "Percent", "value": 100, "periodSeconds": 15}])
    _status_zero(obj, currentMetrics=None, desiredReplicas=0)


def _csr(obj: Obj, write: WriteContext) -> None:
    if write.old is not None:  # the spec is immutable: an update keeps the stored one
        obj["spec"] = dict(write.old.get("spec") or {})
    elif write.user is not None:
        spec = _child(obj, "spec")
        spec["username"] = write.user.username
        for key, value in (("uid", write.user.uid), ("groups", list(write.user.groups)),
                           ("extra", dict(write.user.extra))):
            if value:
                spec[key] = value
            else:
                spec.pop(key, None)
    _child(obj, "status")


def _lease(obj: Obj, write: WriteContext) -> None:
    _child(obj, "spec")


def _endpoint_slice(obj: Obj, write: WriteContext) -> None:
    for endpoint in _dicts(obj.get("endpoints")):
        if endpoint.get("conditions") is None:
            endpoint["conditions"] = {}
    for port in _dicts(obj.get("ports")):
        if port.get("name") is None:
            port["name"] = ""
        set_default(port, "protocol", "TCP")
    write.defaulted(obj)
    _null_if_empty(obj, "endpoints", "ports")


def _flow_schema(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    if not spec.get("matchingPrecedence"):
        spec["matchingPrecedence"] = 1000
    _child(obj, "status")


def _priority_level(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    limited = spec.get("limited")
    if isinstance(limited, dict):
        set_default(limited, "nominalConcurrencyShares", 30)
        set_default(limited, "lendablePercent", 0)
        response = limited.get("limitResponse")
        queuing = response.get("queuing") if isinstance(response, dict) else None
        if isinstance(response, dict) and response.get("type") == "Queue":
            queuing = _child(response, "queuing")
        if isinstance(queuing, dict):
            for key, value in (("queues", 64), ("handSize", 8), ("queueLengthLimit", 50)):
                if not queuing.get(key):
                    queuing[key] = value
    exempt = spec.get("exempt")
    if isinstance(exempt, dict):
        set_default(exempt, "nominalConcurrencyShares", 0)
        set_default(exempt, "lendablePercent", 0)
    _child(obj, "status")


def _ingress(obj: Obj, write: WriteContext) -> None:
    _child(_child(obj, "status"), "loadBalancer")


def _network_policy(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    for direction in ("ingress", "egress"):
        for rule in _dicts(spec.get(direction)):
            for port in _dicts(rule.get("ports")):
                set_default(port, "protocol", "TCP")
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _ip_address(obj: Obj, write: WriteContext) -> None:
    ref = (obj.get("spec") or {}).get("parentRef")
    if isinstance(ref, dict) and ref.get("group") == "":
        del ref["group"]  # omitempty


def _service_cidr(obj: Obj, write: WriteContext) -> None:
    _child(obj, "status")


def _pdb(obj: Obj, write: WriteContext) -> None:
    _status_zero(obj, currentHealthy=0, desiredHealthy=0, disruptionsAllowed=0, expectedPods=0)


def _rbac_role(obj: Obj, write: WriteContext) -> None:
    write.defaulted(obj)
    _null_if_empty(obj, "rules")


def _rbac_binding(obj: Obj, write: WriteContext) -> None:
    for subject in _dicts(obj.get("subjects")):
        if not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = "rbac.authorization.k8s.io"


def _device_requests(claim_spec: Any) -> None:
    devices = claim_spec.get("devices") if isinstance(claim_spec, dict) else None
    if not isinstance(devices, dict):
        return
    for request in _dicts(devices.get("requests")):
        exact = request.get("exactly")
        for choice in [exact, *_dicts(request.get("firstAvailable"))]:
            if isinstance(choice, dict):
                set_default(choice, "allocationMode", "ExactCount")
                if choice["allocationMode"] == "ExactCount":
                    set_default(choice, "count", 1)


def _resource_claim(obj: Obj, write: WriteContext) -> None:
    _device_requests(obj.get("spec"))
    _child(obj, "status")


def _resource_claim_template(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    if spec.get("metadata") is None:
        spec["metadata"] = {}
    _device_requests(spec.get("spec"))


def _priority_class(obj: Obj, write: WriteContext) -> None:
    set_default(obj, "preemptionPolicy", "PreemptLowerPriority")
    if obj.get("globalDefault") is False:
        del obj["globalDefault"]  # omitempty


def _csi_driver(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    for key, value in (("attachRequired", True), ("podInfoOnMount", False),
                       ("requiresRepublish", False), ("storageCapacity", False),
                       ("seLinuxMount", False), ("fsGroupPolicy", "ReadWriteOnceWithFSType")):
        set_default(spec, key, value)
    if not spec.get("volumeLifecycleModes"):
        spec["volumeLifecycleModes"] = ["Persistent"]


def _csi_node(obj: Obj, write: WriteContext) -> None:
    spec = _child(obj, "spec")
    write.defaulted(obj)
    _null_if_empty(spec, "drivers")


def _storage_class(obj: Obj, write: WriteContext) -> None:
    set_default(obj, "reclaimPolicy", "Delete")
    set_default(obj, "volumeBindingMode", "Immediate")


def _volume_attachment(obj: Obj, write: WriteContext) -> None:
    _status_zero(obj, attached=False)


def _volume_attributes_class(obj: Obj, write: WriteContext) -> None:
    write.defaulted(obj)
    if write.creating:
        _add_finalizer(obj, "kubernetes.io/vac-protection")


DEFAULTERS: dict[tuple[str, str], Defaulter] = {
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "Namespace"): _namespace,
    ("", "Secret"): _secret,
    ("", "PersistentVolumeClaim"): _persistent_volume_claim,
    ("", "PersistentVolume"): _persistent_volume,
    ("", "Endpoints"): _endpoints,
    ("", "Event"): _core_event,
    ("", "Node"): _node,
    ("", "LimitRange"): _limit_range,
    ("", "ResourceQuota"): _resource_quota,
    ("events.k8s.io", "Event"): _events_event,
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): _webhooks,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): _webhooks,
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): _admission_policy,
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"): _admission_policy,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("apiregistration.k8s.io", "APIService"): _api_service,
    ("autoscaling/v1", "HorizontalPodAutoscaler"): _hpa_v1,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): _hpa_v2,
    ("certificates.k8s.io", "CertificateSigningRequest"): _csr,
    ("coordination.k8s.io", "Lease"): _lease,
    ("discovery.k8s.io", "EndpointSlice"): _endpoint_slice,
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"): _flow_schema,
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"): _priority_level,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
    ("networking.k8s.io", "IPAddress"): _ip_address,
    ("networking.k8s.io", "ServiceCIDR"): _service_cidr,
    ("policy", "PodDisruptionBudget"): _pdb,
    ("rbac.authorization.k8s.io", "Role"): _rbac_role,
    ("rbac.authorization.k8s.io", "ClusterRole"): _rbac_role,
    ("rbac.authorization.k8s.io", "RoleBinding"): _rbac_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _rbac_binding,
    ("resource.k8s.io", "ResourceClaim"): _resource_claim,
    ("resource.k8s.io", "ResourceClaimTemplate"): _resource_claim_template,
    ("scheduling.k8s.io", "PriorityClass"): _priority_class,
    ("storage.k8s.io", "CSIDriver"): _csi_driver,
    ("storage.k8s.io", "CSINode"): _csi_node,
    ("storage.k8s.io", "StorageClass"): _storage_class,
    ("storage.k8s.io", "VolumeAttachment"): _volume_attachment,
    ("storage.k8s.io", "VolumeAttributesClass"): _volume_attributes_class,
}
"""``(group, kind)`` (or ``(group/version, kind)`` where versions differ) → its defaulter."""
