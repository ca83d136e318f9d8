"""OpenAPI v3 component schemas for the embedded server's built-in kinds.

A faithful subset of the fields a Kubernetes 1.36 server publishes, in the same shapes
(``allOf``-wrapped ``$ref``, ``x-kubernetes-group-version-kind``, ``format: int32``, list
merge keys, ``default``, ``required``), with short descriptions of our own. Schemas that list
only some of the real fields are named in ``PARTIAL_SCHEMAS``: unknown-field checks must not
report fields under them, since the real server would know those fields.
"""

from __future__ import annotations

from dynakube.apiserver.kinds.schema_apiext import APIEXT_SCHEMAS
from dynakube.apiserver.kinds.schema_meta import (
    APIEXT,
    APPS,
    AUTOSCALING,
    COORD,
    CORE,
    INTSTR,
    META,
    META_SCHEMAS,
    QUANTITY,
    Schema,
    array,
    boolean,
    condition,
    described,
    integer,
    kind_schema,
    list_schema,
    obj,
    quantity_map,
    ref,
    schema_ref,
    string,
    string_list,
    string_map,
)

__all__ = ["BUILTIN_SCHEMAS", "INTSTR", "META", "PARTIAL_SCHEMAS", "QUANTITY", "schema_ref"]

_S: dict[str, Schema] = {**META_SCHEMAS, **APIEXT_SCHEMAS}

# ---------------------------------------------------------------- core/v1
_S[CORE + "ConfigMap"] = kind_schema(
    "Configuration data for pods to consume.",
    ("", "v1", "ConfigMap"),
    {
        "binaryData": string_map("Binary values, base64-encoded.", fmt="byte"),
        "data": string_map("UTF-8 values."),
        "immutable": boolean("When true, data cannot change."),
    },
)
_S[CORE + "Secret"] = kind_schema(
    "Sensitive data such as passwords or keys.",
    ("", "v1", "Secret"),
    {
        "data": string_map("Values, base64-encoded.", fmt="byte"),
        "immutable": boolean("When true, data cannot change."),
        "stringData": string_map("Plain-text values merged into data on write."),
        "type": string("How the data is used, e.g. Opaque."),
    },
)
_S[CORE + "NamespaceSpec"] = obj(
    {"finalizers": string_list("Must be empty before the namespace is removed.")},
    "What a namespace should be.",
)
_S[CORE + "NamespaceCondition"] = condition("One aspect of a namespace's state.")
_S[CORE + "NamespaceStatus"] = obj(
    {
        "conditions": array(CORE + "NamespaceCondition", "Observed conditions.", ["type"], "type"),
        "phase": string("Active or Terminating.", enum=["Active", "Terminating"]),
    },
    "What a namespace is.",
)
_S[CORE + "Namespace"] = kind_schema(
    "A scope for names.",
    ("", "v1", "Namespace"),
    {
        "spec": ref(CORE + "NamespaceSpec", "What the namespace should be.", {}),
        "status": ref(CORE + "NamespaceStatus", "What the namespace is.", {}),
    },
)
_S[CORE + "LocalObjectReference"] = obj(
    {"name": string("Name of the object, in the same namespace.", default="")},
    "Names an object in the same namespace.",
    atomic=True,
)
_S[CORE + "ObjectReference"] = obj(
    {
        "apiVersion": string("API version of the referent."),
        "fieldPath": string("A field inside the referent."),
        "kind": string("Kind of the referent."),
        "name": string("Name of the referent."),
        "namespace": string("Namespace of the referent."),
        "resourceVersion": string("Version of the referent."),
        "uid": string("UID of the referent."),
    },
    "Points at another object.",
    atomic=True,
)
_S[CORE + "ServiceAccount"] = kind_schema(
    "An identity for processes in pods.",
    ("", "v1", "ServiceAccount"),
    {
        "automountServiceAccountToken": boolean("Mount a token in pods by default."),
        "imagePullSecrets": array(CORE + "LocalObjectReference", "Secrets for pulling images.",
                                  list_type="atomic"),
        "secrets": array(CORE + "ObjectReference", "Secrets pods may use.", ["name"], "name"),
    },
)
_S[CORE + "EventSource"] = obj(
    {"component": string("Reporting component."), "host": string("Node name.")},
    "Who reported an event.",
)
_S[CORE + "EventSeries"] = obj(
    {"count": integer("Occurrences so far."),
     "lastObservedTime": ref(META + "MicroTime", "Last occurrence.")},
    "A repeating event.",
)
_S[CORE + "Event"] = kind_schema(
    "Something that happened to an object.",
    ("", "v1", "Event"),
    {
        "action": string("What was done."),
        "count": integer("How many times it happened."),
        "eventTime": ref(META + "MicroTime", "When it first happened."),
        "firstTimestamp": ref(META + "Time", "When it was first recorded."),
        "involvedObject": ref(CORE + "ObjectReference", "The object concerned.", {}),
        "lastTimestamp": ref(META + "Time", "When it was last recorded."),
        "message": string("Human-readable description."),
        "reason": string("Short machine-readable reason."),
        "related": ref(CORE + "ObjectReference", "A second object involved."),
        "reportingComponent": string("Controller that reported it.", default=""),
        "reportingInstance": string("Instance of that controller.", default=""),
        "series": ref(CORE + "EventSeries", "Data about a repeating event."),
        "source": ref(CORE + "EventSource", "Who reported it.", {}),
        "type": string("Normal or Warning."),
    },
    ["metadata", "involvedObject"],
)
_S[CORE + "ServicePort"] = obj(
    {
        "appProtocol": string("Application protocol, as a hint."),
        "name": string("Name of the port, unique in the service."),
        "nodePort": integer("Port on every node (NodePort, LoadBalancer)."),
        "port": integer("Port the service exposes.", default=0),
        "protocol": string("TCP, UDP or SCTP.", default="TCP", enum=["SCTP", "TCP", "UDP"]),
        "targetPort": ref(INTSTR, "Port number or name on the pods."),
    },
    "A port a service exposes.",
    ["port"],
)
_S[CORE + "ServiceSpec"] = obj(
    {
        "clusterIP": string("Virtual IP address; None for a headless service."),
        "clusterIPs": string_list("Virtual IP addresses, one per family."),
        "externalIPs": string_list("Extra addresses that route to the service."),
        "externalName": string("DNS name for an ExternalName service."),
        "externalTrafficPolicy": string("Cluster or Local.", enum=["Cluster", "Local"]),
        "internalTrafficPolicy": string("Cluster or Local.", enum=["Cluster", "Local"]),
        "ipFamilies": described({"type": "array", "items": {"type": "string",
                                                     "enum": ["", "IPv4", "IPv6"]},
                          "x-kubernetes-list-type": "atomic"}, "IP families of the service."),
        "ipFamilyPolicy": string("Single or dual stack.",
                                 enum=["PreferDualStack", "RequireDualStack", "SingleStack"]),
        "loadBalancerIP": string("Requested load balancer address (deprecated)."),
        "ports": array(CORE + "ServicePort", "Ports the service exposes.", ["port", "protocol"],
                       "port"),
        "publishNotReadyAddresses": boolean("Publish addresses of pods not ready."),
        "selector": string_map("Routes to pods with these labels.", atomic=True),
        "sessionAffinity": string("ClientIP or None.", enum=["ClientIP", "None"]),
        "type": string("How the service is exposed.",
                       enum=["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]),
    },
    "What a service should be.",
)
_S[CORE + "LoadBalancerIngress"] = obj(
    {"hostname": string("Host name of the ingress point."), "ip": string("Its IP address.")},
    "An ingress point of a load balancer.",
)
_S[CORE + "LoadBalancerStatus"] = obj(
    {"ingress": array(CORE + "LoadBalancerIngress", "Ingress points.", list_type="atomic")},
    "State of a load balancer.",
)
_S[CORE + "ServiceStatus"] = obj(
    {
        "conditions": array(META + "Condition", "Observed conditions.", ["type"], "type"),
        "loadBalancer": ref(CORE + "LoadBalancerStatus", "The load balancer, if any.", {}),
    },
    "What a service is.",
)
_S[CORE + "Service"] = kind_schema(
    "A stable address in front of a set of pods.",
    ("", "v1", "Service"),
    {
        "spec": ref(CORE + "ServiceSpec", "What the service should be.", {}),
        "status": ref(CORE + "ServiceStatus", "What the service is.", {}),
    },
)
_S[CORE + "ContainerPort"] = obj(
    {
        "containerPort": integer("Port number in the container.", default=0),
        "hostIP": string("Host address to bind to."),
        "hostPort": integer("Port on the host."),
        "name": string("Port name, unique in the pod."),
        "protocol": string("TCP, UDP or SCTP.", default="TCP", enum=["SCTP", "TCP", "UDP"]),
    },
    "A port a container listens on.",
    ["containerPort"],
)
_S[CORE + "ConfigMapKeySelector"] = obj(
    {"key": string("The key.", default=""), "name": string("The config map.", default=""),
     "optional": boolean("Whether it may be missing.")},
    "A key of a config map.",
    ["key"],
    atomic=True,
)
_S[CORE + "SecretKeySelector"] = obj(
    {"key": string("The key.", default=""), "name": string("The secret.", default=""),
     "optional": boolean("Whether it may be missing.")},
    "A key of a secret.",
    ["key"],
    atomic=True,
)
_S[CORE + "ObjectFieldSelector"] = obj(
    {"apiVersion": string("Version the path is in."),
     "fieldPath": string("Path of the field.", default="")},
    "A field of the pod.",
    ["fieldPath"],
    atomic=True,
)
_S[CORE + "EnvVarSource"] = obj(
    {
        "configMapKeyRef": ref(CORE + "ConfigMapKeySelector", "A config map key."),
        "fieldRef": ref(CORE + "ObjectFieldSelector", "A field of the pod."),
        "secretKeyRef": ref(CORE + "SecretKeySelector", "A secret key."),
    },
    "Where an environment variable's value comes from.",
)
_S[CORE + "EnvVar"] = obj(
    {
        "name": string("Variable name.", default=""),
        "value": string("Literal value."),
        "valueFrom": ref(CORE + "EnvVarSource", "Source of the value."),
    },
    "An environment variable.",
    ["name"],
)
_S[CORE + "ResourceRequirements"] = obj(
    {"limits": quantity_map("Most a container may use."),
     "requests": quantity_map("Least a container needs.")},
    "Compute resources of a container.",
)
_S[CORE + "VolumeMount"] = obj(
    {
        "mountPath": string("Where to mount, inside the container.", default=""),
        "name": string("Name of the volume.", default=""),
        "readOnly": boolean("Mount read-only."),
        "subPath": string("Path inside the volume."),
    },
    "Mounts a volume into a container.",
    ["name", "mountPath"],
)
_S[CORE + "Container"] = obj(
    {
        "args": string_list("Arguments to the entrypoint."),
        "command": string_list("Entrypoint, replacing the image's."),
        "env": array(CORE + "EnvVar", "Environment variables.", ["name"], "name"),
        "image": string("Container image name."),
        "imagePullPolicy": string("When to pull the image.",
                                  enum=["Always", "IfNotPresent", "Never"]),
        "name": string("Container name, unique in the pod.", default=""),
        "ports": array(CORE + "ContainerPort", "Ports to expose.", ["containerPort", "protocol"],
                       "containerPort"),
        "resources": ref(CORE + "ResourceRequirements", "Compute resources.", {}),
        "volumeMounts": array(CORE + "VolumeMount", "Volumes to mount.", ["mountPath"],
                              "mountPath"),
        "workingDir": string("Working directory."),
    },
    "A container in a pod.",
    ["name"],
)
_S[CORE + "KeyToPath"] = obj(
    {"key": string("The key.", default=""), "mode": integer("File mode bits."),
     "path": string("Relative file path.", default="")},
    "Maps a key to a file.",
    ["key", "path"],
)
_S[CORE + "ConfigMapVolumeSource"] = obj(
    {"defaultMode": integer("File mode bits."),
     "items": array(CORE + "KeyToPath", "Keys to project.", list_type="atomic"),
     "name": string("The config map.", default=""),
     "optional": boolean("Whether it may be missing.")},
    "A config map as a volume.",
)
_S[CORE + "SecretVolumeSource"] = obj(
    {"defaultMode": integer("File mode bits."),
     "items": array(CORE + "KeyToPath", "Keys to project.", list_type="atomic"),
     "optional": boolean("Whether it may be missing."),
     "secretName": string("The secret.")},
    "A secret as a volume.",
)
_S[CORE + "EmptyDirVolumeSource"] = obj(
    {"medium": string("Storage medium; Memory for tmpfs."),
     "sizeLimit": ref(QUANTITY, "Most space it may use.")},
    "A scratch directory that lives as long as the pod.",
)
_S[CORE + "Volume"] = obj(
    {
        "configMap": ref(CORE + "ConfigMapVolumeSource", "A config map."),
        "emptyDir": ref(CORE + "EmptyDirVolumeSource", "A scratch directory."),
        "name": string("Volume name, unique in the pod.", default=""),
        "secret": ref(CORE + "SecretVolumeSource", "A secret."),
    },
    "A volume pods can mount.",
    ["name"],
)
_S[CORE + "PodSpec"] = obj(
    {
        "containers": array(CORE + "Container", "The pod's containers.", ["name"], "name"),
        "dnsPolicy": string("DNS policy.",
                            enum=["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]),
        "imagePullSecrets": array(CORE + "LocalObjectReference", "Secrets for pulling images.",
                                  ["name"], "name"),
        "initContainers": array(CORE + "Container", "Containers run first, in order.", ["name"],
                                "name"),
        "nodeName": string("Node to run on."),
        "nodeSelector": string_map("Labels the node must have.", atomic=True),
        "restartPolicy": string("When to restart containers.",
                                enum=["Always", "Never", "OnFailure"]),
        "serviceAccountName": string("Identity the pod runs as."),
        "terminationGracePeriodSeconds": integer("Seconds to stop gracefully.", "int64"),
        "volumes": array(CORE + "Volume", "Volumes the containers may mount.", ["name"], "name",
                         "merge,retainKeys"),
    },
    "What a pod should run.",
    ["containers"],
)
_S[CORE + "PodTemplateSpec"] = obj(
    {
        "metadata": ref(META + "ObjectMeta", "Metadata of the pods made from this template.", {}),
        "spec": ref(CORE + "PodSpec", "What the pods run.", {}),
    },
    "A template for pods.",
)
_S[CORE + "PodCondition"] = condition("One aspect of a pod's state.")
_S[CORE + "ContainerStatus"] = obj(
    {
        "containerID": string("Runtime ID of the container."),
        "image": string("Image it runs.", default=""),
        "imageID": string("ID of that image.", default=""),
        "name": string("Container name.", default=""),
        "ready": boolean("Whether it passes its readiness probe.", default=False),
        "restartCount": integer("How many times it restarted.", default=0),
        "started": boolean("Whether it has started."),
    },
    "State of one container.",
    ["name", "ready", "restartCount", "image", "imageID"],
)
_S[CORE + "PodStatus"] = obj(
    {
        "conditions": array(CORE + "PodCondition", "Observed conditions.", ["type"], "type"),
        "containerStatuses": array(CORE + "ContainerStatus", "One entry per container.",
                                   list_type="atomic"),
        "hostIP": string("Address of the node."),
        "message": string("Why the pod is in this state."),
        "phase": string("Lifecycle phase.",
                        enum=["Failed", "Pending", "Running", "Succeeded", "Unknown"]),
        "podIP": string("Address of the pod."),
        "qosClass": string("Quality of service class.",
                           enum=["BestEffort", "Burstable", "Guaranteed"]),
        "reason": string("Short reason for the state."),
        "startTime": ref(META + "Time", "When the node accepted the pod."),
    },
    "What a pod is.",
)
_S[CORE + "Pod"] = kind_schema(
    "One or more containers scheduled together on a node.",
    ("", "v1", "Pod"),
    {
        "spec": ref(CORE + "PodSpec", "What the pod should run.", {}),
        "status": ref(CORE + "PodStatus", "What the pod is.", {}),
    },
)

# ---------------------------------------------------------------- autoscaling/v1 Scale
_S[AUTOSCALING + "ScaleSpec"] = obj(
    {"replicas": integer("Desired number of instances.", default=0)}, "Desired scale."
)
_S[AUTOSCALING + "ScaleStatus"] = obj(
    {"replicas": integer("Observed number of instances.", default=0),
     "selector": string("Label selector of the instances, as a string.")},
    "Observed scale.",
    ["replicas"],
)
_S[AUTOSCALING + "Scale"] = kind_schema(
    "The scale of a scalable resource.",
    ("autoscaling", "v1", "Scale"),
    {
        "spec": ref(AUTOSCALING + "ScaleSpec", "Desired scale.", {}),
        "status": ref(AUTOSCALING + "ScaleStatus", "Observed scale.", {}),
    },
)

# ---------------------------------------------------------------- apps/v1 Deployment
_S[APPS + "RollingUpdateDeployment"] = obj(
    {
        "maxSurge": ref(INTSTR, "Pods allowed above the desired count (number or percent)."),
        "maxUnavailable": ref(INTSTR, "Pods allowed to be unavailable (number or percent)."),
    },
    "Parameters of a rolling update.",
)
_S[APPS + "DeploymentStrategy"] = obj(
    {
        "rollingUpdate": ref(APPS + "RollingUpdateDeployment", "Rolling update parameters."),
        "type": string("Recreate or RollingUpdate.", enum=["Recreate", "RollingUpdate"]),
    },
    "How pods are replaced.",
)
_S[APPS + "DeploymentSpec"] = obj(
    {
        "minReadySeconds": integer("Seconds a pod must be ready to count as available."),
        "paused": boolean("Stop rolling out changes."),
        "progressDeadlineSeconds": integer("Seconds before a stalled rollout is reported."),
        "replicas": integer("Desired number of pods."),
        "revisionHistoryLimit": integer("Old ReplicaSets to keep."),
        "selector": ref(META + "LabelSelector", "Pods this deployment manages."),
        "strategy": {**ref(APPS + "DeploymentStrategy", "How pods are replaced.", {}),
                     "x-kubernetes-patch-strategy": "retainKeys"},
        "template": ref(CORE + "PodTemplateSpec", "Pods to create.", {}),
    },
    "What a deployment should be.",
    ["selector", "template"],
)
_S[APPS + "DeploymentCondition"] = obj(
    {
        "lastTransitionTime": ref(META + "Time", "When the status last changed."),
        "lastUpdateTime": ref(META + "Time", "When the condition was last updated."),
        "message": string("Human-readable details."),
        "reason": string("Machine-readable reason."),
        "status": string("True, False or Unknown.", default=""),
        "type": string("The condition's type.", default=""),
    },
    "One aspect of a deployment's state.",
    ["type", "status"],
)
_S[APPS + "DeploymentStatus"] = obj(
    {
        "availableReplicas": integer("Pods available."),
        "collisionCount": integer("Hash collisions seen."),
        "conditions": array(APPS + "DeploymentCondition", "Observed conditions.", ["type"],
                            "type"),
        "observedGeneration": integer("Generation last acted on.", "int64"),
        "readyReplicas": integer("Pods ready."),
        "replicas": integer("Pods targeted."),
        "terminatingReplicas": integer("Pods terminating."),
        "unavailableReplicas": integer("Pods unavailable."),
        "updatedReplicas": integer("Pods running the latest template."),
    },
    "What a deployment is.",
)
_S[APPS + "Deployment"] = kind_schema(
    "Declarative updates for pods and ReplicaSets.",
    ("apps", "v1", "Deployment"),
    {
        "spec": ref(APPS + "DeploymentSpec", "What the deployment should be.", {}),
        "status": ref(APPS + "DeploymentStatus", "What the deployment is.", {}),
    },
)

# ---------------------------------------------------------------- coordination.k8s.io/v1
_S[COORD + "LeaseSpec"] = obj(
    {
        "acquireTime": ref(META + "MicroTime", "When the current holder took the lease."),
        "holderIdentity": string("Who holds the lease."),
        "leaseDurationSeconds": integer("Seconds candidates wait before taking over."),
        "leaseTransitions": integer("How many times the holder changed."),
        "preferredHolder": string("Who should hold it next."),
        "renewTime": ref(META + "MicroTime", "When the holder last renewed."),
        "strategy": string("How the next holder is chosen."),
    },
    "What a lease is.",
)
_S[COORD + "Lease"] = kind_schema(
    "A lease, for leader election and heartbeats.",
    ("coordination.k8s.io", "v1", "Lease"),
    {"spec": ref(COORD + "LeaseSpec", "The lease.", {})},
)

# ---------------------------------------------------------------- lists of every kind
for _name, _group, _kind_name, _noun in (
    (CORE + "Namespace", "", "Namespace", "namespaces"),
    (CORE + "ConfigMap", "", "ConfigMap", "config maps"),
    (CORE + "Secret", "", "Secret", "secrets"),
    (CORE + "Service", "", "Service", "services"),
    (CORE + "Pod", "", "Pod", "pods"),
    (CORE + "ServiceAccount", "", "ServiceAccount", "service accounts"),
    (CORE + "Event", "", "Event", "events"),
    (APPS + "Deployment", "apps", "Deployment", "deployments"),
    (COORD + "Lease", "coordination.k8s.io", "Lease", "leases"),
    (APIEXT + "CustomResourceDefinition", "apiextensions.k8s.io", "CustomResourceDefinition",
     "custom resource definitions"),
):
    _S[_name + "List"] = list_schema(_name, (_group, "v1", _kind_name + "List"), _noun)

BUILTIN_SCHEMAS: dict[str, Schema] = dict(sorted(_S.items()))
"""Component schemas by name (``io.k8s.api.apps.v1.Deployment``...)."""

PARTIAL_SCHEMAS: frozenset[str] = frozenset({
    CORE + "PodSpec", CORE + "Container", CORE + "Volume", CORE + "PodStatus",
    CORE + "ContainerStatus", CORE + "EnvVarSource", CORE + "ServiceSpec",
    CORE + "LoadBalancerIngress", CORE + "ResourceRequirements", CORE + "VolumeMount",
    CORE + "EmptyDirVolumeSource",
})
"""Schemas listing only some of the real fields: never report unknown fields beneath them."""

