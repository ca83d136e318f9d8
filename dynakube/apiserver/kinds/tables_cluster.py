"""Server-side table columns of the built-in cluster kinds: services and networking, config,
nodes and storage, RBAC bindings, autoscaling and disruption budgets, events and leases.

Cells follow kube-apiserver's printers, as in :mod:`.tables`; descriptions are our own words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dynakube.apiserver.kinds.printers import (
    AGE_COLUMN,
    NAME_COLUMN,
    Cell,
    PrinterColumn,
    age_of,
    as_int,
    column,
    count_cell,
    field_cell,
    get,
    items,
    labels_text,
    number_cell,
    selector_cell,
)

__all__ = ["CLUSTER_TABLES"]


# ---------------------------------------------------------------- services and networking


def _load_balancer(obj: Any) -> list[str]:
    """The load balancer's ingress points (IP, else hostname), sorted and unique."""
    found = {str(i.get("ip") or i.get("hostname") or "")
             for i in items(obj, "status", "loadBalancer", "ingress")}
    return sorted(found - {""})


def _service_external_ip(obj: Any, now: float) -> str:
    external = [str(ip) for ip in get(obj, "spec", "externalIPs") or []]
    kind = get(obj, "spec", "type")
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        found = _load_balancer(obj)
        text = ",".join([*found, *external]) if external else ",".join(found)
        return text or "<pending>"
    if kind == "ExternalName":
        return str(get(obj, "spec", "externalName") or "")
    return "<unknown>"


def _service_ports(obj: Any, now: float) -> str:
    parts = []
    for port in items(obj, "spec", "ports"):
        node = f":{port['nodePort']}" if as_int(port.get("nodePort")) > 0 else ""
        parts.append(f"{port.get('port')}{node}/{port.get('protocol', '')}")
    return ",".join(parts) or "<none>"


def _cluster_ip(obj: Any, now: float) -> str:
    ips = get(obj, "spec", "clusterIPs")
    return str(ips[0]) if isinstance(ips, list) and ips else "<none>"


def _ingress_hosts(obj: Any, now: float) -> str:
    rules = items(obj, "spec", "rules")
    hosts = [str(r["host"]) for r in rules if r.get("host")]
    if not hosts:
        return "*"
    return ",".join(hosts[:3]) + (f" + {len(rules) - 3} more..." if len(hosts) > 3 else "")


def _addresses(obj: Any, now: float) -> str:
    return ",".join(_load_balancer(obj))


def _ingress_class_parameters(obj: Any, now: float) -> str:
    params = get(obj, "spec", "parameters")
    if not isinstance(params, Mapping):
        return "<none>"
    group = f".{params['apiGroup']}" if params.get("apiGroup") else ""
    return f"{params.get('kind', '')}{group}/{params.get('name', '')}"


def _endpoints(obj: Any, now: float) -> str:
    found = []
    for subset in items(obj, "subsets"):
        ports = items(subset, "ports") or [{}]
        for address in items(subset, "addresses"):
            for port in ports:
                ip = address.get("ip", "")
                found.append(f"{ip}:{port['port']}" if "port" in port else str(ip))
    if not found:
        return "<none>"
    return ",".join(found[:3]) + (f" + {len(found) - 3} more..." if len(found) > 3 else "")


def _slice_ports(obj: Any, now: float) -> str:
    ports = [str(p["port"]) for p in items(obj, "ports") if "port" in p]
    return ",".join(ports) if ports else "<unset>"


def _slice_endpoints(obj: Any, now: float) -> str:
    found = [str(a) for e in items(obj, "endpoints") for a in e.get("addresses") or []]
    if not found:
        return "<unset>"
    return ",".join(found[:3]) + (f" + {len(found) - 3} more..." if len(found) > 3 else "")


# ---------------------------------------------------------------- nodes and storage


def _node_status(obj: Any, now: float) -> str:
    ready = [c for c in items(obj, "status", "conditions") if c.get("type") == "Ready"]
    text = "Unknown"
    if ready:
        text = "Ready" if ready[0].get("status") == "True" else "NotReady"
    if get(obj, "spec", "unschedulable") is True:
        text += ",SchedulingDisabled"
    return text


def _node_roles(obj: Any, now: float) -> str:
    labels = get(obj, "metadata", "labels") or {}
    roles = {k[len("node-role.kubernetes.io/"):] for k in labels
             if k.startswith("node-role.kubernetes.io/") and k != "node-role.kubernetes.io/"}
    if labels.get("kubernetes.io/role"):
        roles.add(str(labels["kubernetes.io/role"]))
    return ",".join(sorted(roles)) or "<none>"


def _node_address(kind: str) -> Cell:
    def cell(obj: Any, now: float) -> str:
        for address in items(obj, "status", "addresses"):
            if address.get("type") == kind:
                return str(address.get("address", ""))
        return "<none>"

    return cell


_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
          "ReadWriteOncePod": "RWOP"}


def _access_modes(modes: Any) -> str:
    given = set(modes) if isinstance(modes, list) else set()
    return ",".join(short for mode, short in _MODES.items() if mode in given)


def _storage_class(obj: Any) -> str:
    annotation = get(obj, "metadata", "annotations", "volume.beta.kubernetes.io/storage-class")
    return str(annotation or get(obj, "spec", "storageClassName") or "")


def _pv_claim(obj: Any, now: float) -> str:
    ref = get(obj, "spec", "claimRef")
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}" if isinstance(ref, Mapping) else ""


def _pvc_bound(path: tuple[str, ...], render: Any) -> Cell:
    return lambda obj, now: render(get(obj, *path)) if get(obj, "spec", "volumeName") else ""


def _pvc_status(obj: Any, now: float) -> str:
    if get(obj, "metadata", "deletionTimestamp"):
        return "Terminating"
    return str(get(obj, "status", "phase") or "")


def _storage_class_name(obj: Any, now: float) -> str:
    name = str(get(obj, "metadata", "name") or "")
    annotations = get(obj, "metadata", "annotations") or {}
    default = any(annotations.get(k) == "true" for k in (
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class"))
    return f"{name} (default)" if default else name


# ---------------------------------------------------------------- rbac, policy, autoscaling


def _subjects(kind: str) -> Cell:
    def cell(obj: Any, now: float) -> str:
        found = []
        for subject in items(obj, "subjects"):
            if subject.get("kind") != kind:
                continue
            name = str(subject.get("name", ""))
            found.append(f"{subject.get('namespace', '')}:{name}" if kind == "ServiceAccount"
                         else name)
        return ", ".join(found)

    return cell


def _role_ref(obj: Any, now: float) -> str:
    return f"{get(obj, 'roleRef', 'kind') or ''}/{get(obj, 'roleRef', 'name') or ''}"


def _int_or_na(*path: str) -> Cell:
    return lambda obj, now: "N/A" if (v := get(obj, *path)) is None else str(v)


def _hpa_reference(obj: Any, now: float) -> str:
    return f"{get(obj, 'spec', 'scaleTargetRef', 'kind') or ''}/" \
           f"{get(obj, 'spec', 'scaleTargetRef', 'name') or ''}"


def _hpa_targets(obj: Any, now: float) -> str:
    """``cpu: <unknown>/80%`` per metric (v2 and v1 shapes), ``<none>`` without metrics."""
    targets = []
    percent = get(obj, "spec", "targetCPUUtilizationPercentage")
    if isinstance(percent, int):
        current = get(obj, "status", "currentCPUUtilizationPercentage")
        targets.append(f"cpu: {f'{current}%' if isinstance(current, int) else '<unknown>'}"
                       f"/{percent}%")
    for metric in items(obj, "spec", "metrics"):
        kind = str(metric.get("type", ""))
        source = metric.get(kind[:1].lower() + kind[1:])
        if kind in ("Resource", "ContainerResource") and isinstance(source, Mapping):
            target = source.get("target") or {}
            if "averageUtilization" in target:
                targets.append(f"{source.get('name')}: <unknown>/{target['averageUtilization']}%")
            else:
                value = target.get("averageValue", target.get("value", ""))
                targets.append(f"{source.get('name')}: <unknown>/{value}")
        else:
            targets.append("<unknown>/<unknown>")
    return ", ".join(targets) or "<none>"


# ---------------------------------------------------------------- events


def _event(obj: Any, *core: str) -> Any:
    """A core Event field, or its events.k8s.io/v1 twin (same storage, same table)."""
    twins = {"message": ("note",), "involvedObject": ("regarding",),
             "firstTimestamp": ("deprecatedFirstTimestamp",),
             "lastTimestamp": ("deprecatedLastTimestamp",), "count": ("deprecatedCount",),
             "source": ("deprecatedSource",)}
    value = get(obj, *core)
    if value is None and core[0] in twins:
        value = get(obj, *twins[core[0]], *core[1:])
    return value


def _event_first(obj: Any, now: float) -> str:
    first = _event(obj, "firstTimestamp")
    return age_of(first or get(obj, "eventTime"), now)


def _event_last(obj: Any, now: float) -> str:
    series = get(obj, "series", "lastObservedTime")
    if series:
        return age_of(series, now)
    return age_of(_event(obj, "lastTimestamp"), now) if _event(obj, "lastTimestamp") \
        else _event_first(obj, now)


def _event_count(obj: Any, now: float) -> int:
    series = get(obj, "series", "count")
    return as_int(series) if series is not None else (as_int(_event(obj, "count")) or 1)


def _event_object(obj: Any, now: float) -> str:
    kind = str(_event(obj, "involvedObject", "kind") or "").lower()
    name = _event(obj, "involvedObject", "name")
    return f"{kind}/{name}" if name else kind


def _event_source(obj: Any, now: float) -> str:
    component = _event(obj, "source", "component") or get(obj, "reportingController") or \
        get(obj, "reportingComponent") or ""
    host = _event(obj, "source", "host") or get(obj, "reportingInstance") or ""
    return "" if not component else f"{component}, {host}" if host else str(component)


def _event_message(obj: Any, now: float) -> str:
    return str(_event(obj, "message") or "").strip()


_EVENT = (
    column("Last Seen", "When the event was last seen.", _event_last),
    column("Type", "Normal or Warning.", field_cell("type")),
    column("Reason", "A short machine-readable reason.", field_cell("reason")),
    column("Object", "The object the event is about.", _event_object),
    column("Subobject", "The part of the object involved.",
         lambda o, n: _event(o, "involvedObject", "fieldPath") or "", 1),
    column("Source", "The component that reported it.", _event_source, 1),
    column("Message", "What happened.", _event_message),
    column("First Seen", "When the event was first seen.", _event_first, 1),
    column("Count", "How many times it happened.", _event_count, 1),
    PrinterColumn("Name", "string", lambda o, n: get(o, "metadata", "name"), "name",
                  NAME_COLUMN.description, 1),
)

_DESIRED = "Desired replicas."
CLUSTER_TABLES: dict[str, tuple[PrinterColumn, ...]] = {
    "Service": (
        NAME_COLUMN, column("Type", "How the service is exposed.", field_cell("spec", "type")),
        column("Cluster-IP", "The virtual IP inside the cluster.", _cluster_ip),
        column("External-IP", "Addresses reachable from outside.", _service_external_ip),
        column("Port(s)", "The ports the service exposes.", _service_ports),
        AGE_COLUMN,
        column("Selector", "The pods it routes to.",
             lambda o, n: labels_text(get(o, "spec", "selector")), 1),
    ),
    "Ingress": (
        NAME_COLUMN, column("Class", "The IngressClass that handles it.",
                          field_cell("spec", "ingressClassName", default="<none>")),
        column("Hosts", "The hosts its rules match.", _ingress_hosts),
        column("Address", "Where the load balancer listens.", _addresses),
        column("Ports", "The ports it opens.",
             lambda o, n: "80, 443" if items(o, "spec", "tls") else "80"),
        AGE_COLUMN,
    ),
    "IngressClass": (
        NAME_COLUMN, column("Controller", "The controller of this class.",
                          field_cell("spec", "controller")),
        column("Parameters", "The resource with extra parameters.", _ingress_class_parameters),
        AGE_COLUMN,
    ),
    "NetworkPolicy": (
        NAME_COLUMN, column("Pod-Selector", "The pods it applies to.",
                          selector_cell("spec", "podSelector")), AGE_COLUMN,
    ),
    "Endpoints": (
        NAME_COLUMN, column("Endpoints", "Addresses and ports.", _endpoints), AGE_COLUMN,
    ),
    "EndpointSlice": (
        NAME_COLUMN, column("AddressType", "IPv4, IPv6 or FQDN.", field_cell("addressType")),
        column("Ports", "The slice's ports.", _slice_ports),
        column("Endpoints", "The slice's addresses.", _slice_endpoints), AGE_COLUMN,
    ),
    "ConfigMap": (
        NAME_COLUMN,
        column("Data", "Keys in data and binaryData.",
               count_cell("data", "binaryData")),
        AGE_COLUMN,
    ),
    "Secret": (
        NAME_COLUMN, column("Type", "The secret's type.", field_cell("type")),
        column("Data", "Keys the secret holds.", count_cell("data")), AGE_COLUMN,
    ),
    "ServiceAccount": (
        NAME_COLUMN, column("Secrets", "Secrets listed.", count_cell("secrets")), AGE_COLUMN,
    ),
    "Namespace": (
        NAME_COLUMN, column("Status", "The namespace's phase.", field_cell("status", "phase")),
        AGE_COLUMN,
    ),
    "Node": (
        NAME_COLUMN, column("Status", "Whether the node is ready.", _node_status),
        column("Roles", "The node's roles.", _node_roles), AGE_COLUMN,
        column("Version", "The kubelet's version.",
               field_cell("status", "nodeInfo", "kubeletVersion")),
        column("Internal-IP", "The node's internal address.", _node_address("InternalIP"), 1),
        column("External-IP", "The node's external address.", _node_address("ExternalIP"), 1),
        *(column(name, f"The node's {name.lower()}.",
               field_cell("status", "nodeInfo", field, default="<unknown>"), 1)
          for name, field in (("OS-Image", "osImage"), ("Kernel-Version", "kernelVersion"),
                              ("Container-Runtime", "containerRuntimeVersion"))),
    ),
    "PersistentVolume": (
        NAME_COLUMN, column("Capacity", "The volume's size.",
                          field_cell("spec", "capacity", "storage")),
        column("Access Modes", "How it may be mounted.",
             lambda o, n: _access_modes(get(o, "spec", "accessModes"))),
        column("Reclaim Policy", "What happens when released.",
             field_cell("spec", "persistentVolumeReclaimPolicy")),
        column("Status", "The volume's phase.", field_cell("status", "phase")),
        column("Claim", "The claim bound to it.", _pv_claim),
        column("StorageClass", "The volume's storage class.", lambda o, n: _storage_class(o)),
        column("VolumeAttributesClass", "The volume's attributes class.",
             field_cell("spec", "volumeAttributesClassName", default="<unset>")),
        column("Reason", "Why it is in its phase.", field_cell("status", "reason")), AGE_COLUMN,
        column("VolumeMode", "Filesystem or Block.",
             field_cell("spec", "volumeMode", default="<unset>"), 1),
    ),
    "PersistentVolumeClaim": (
        NAME_COLUMN, column("Status", "The claim's phase.", _pvc_status),
        column("Volume", "The volume bound to it.", field_cell("spec", "volumeName")),
        column("Capacity", "The bound volume's size.",
             _pvc_bound(("status", "capacity", "storage"), lambda v: str(v or ""))),
        column("Access Modes", "How the bound volume may be mounted.",
             _pvc_bound(("status", "accessModes"), _access_modes)),
        column("StorageClass", "The claim's storage class.", lambda o, n: _storage_class(o)),
        column("VolumeAttributesClass", "The claim's attributes class.",
             field_cell("spec", "volumeAttributesClassName", default="<unset>")), AGE_COLUMN,
        column("VolumeMode", "Filesystem or Block.",
             field_cell("spec", "volumeMode", default="<unset>"), 1),
    ),
    "StorageClass": (
        PrinterColumn("Name", "string", _storage_class_name, "name", NAME_COLUMN.description),
        column("Provisioner", "Who provisions volumes.", field_cell("provisioner")),
        column("ReclaimPolicy", "What happens to released volumes.",
             field_cell("reclaimPolicy", default="Delete")),
        column("VolumeBindingMode", "When volumes are bound.",
             field_cell("volumeBindingMode", default="Immediate")),
        column("AllowVolumeExpansion", "Whether volumes may grow.",
             lambda o, n: get(o, "allowVolumeExpansion") is True),
        AGE_COLUMN,
    ),
    "RoleBinding": (
        NAME_COLUMN, column("Role", "The role it grants.", _role_ref), AGE_COLUMN,
        column("Users", "Users it binds.", _subjects("User"), 1),
        column("Groups", "Groups it binds.", _subjects("Group"), 1),
        column("ServiceAccounts", "Service accounts it binds.", _subjects("ServiceAccount"), 1),
    ),
    "HorizontalPodAutoscaler": (
        NAME_COLUMN, column("Reference", "What it scales.", _hpa_reference),
        column("Targets", "Metric targets.", _hpa_targets),
        column("MinPods", "Fewest replicas.", field_cell("spec", "minReplicas", default="<unset>")),
        column("MaxPods", "Most replicas.", number_cell("spec", "maxReplicas")),
        column("Replicas", "Current replicas.",
               number_cell("status", "currentReplicas")), AGE_COLUMN,
    ),
    "PodDisruptionBudget": (
        NAME_COLUMN, column("Min Available", "Pods that must stay available.",
                          _int_or_na("spec", "minAvailable")),
        column("Max Unavailable", "Pods that may be unavailable.",
             _int_or_na("spec", "maxUnavailable")),
        column("Allowed Disruptions", "Pods that may be disrupted now.",
             number_cell("status", "disruptionsAllowed"), kind="integer"),
        AGE_COLUMN,
    ),
    "Event": _EVENT,
    "Lease": (
        NAME_COLUMN, column("Holder", "The lease's holder.", field_cell("spec", "holderIdentity")),
        AGE_COLUMN,
    ),
    "PriorityClass": (
        NAME_COLUMN, column("Value", "The priority.", number_cell("value"), kind="integer"),
        column("Global-Default", "Whether pods get it by default.",
             lambda o, n: get(o, "globalDefault") is True, kind="boolean"),
        AGE_COLUMN,
        column("PreemptionPolicy", "Whether its pods preempt others.",
             field_cell("preemptionPolicy", default="<unset>")),
    ),
}
CLUSTER_TABLES["ClusterRoleBinding"] = CLUSTER_TABLES["RoleBinding"]
