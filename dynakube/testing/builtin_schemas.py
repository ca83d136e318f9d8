"""OpenAPI v3 component schemas for the embedded server's built-in kinds.

A faithful subset of the fields a Kubernetes 1.36 server publishes, in the same shapes
(``allOf``-wrapped ``$ref``, ``x-kubernetes-group-version-kind``, ``format: int32``, list
merge keys, ``default``, ``required``), with short descriptions of our own. Schemas that list
only some of the real fields are named in ``PARTIAL_SCHEMAS``: unknown-field checks must not
report fields under them, since the real server would know those fields.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BUILTIN_SCHEMAS", "PARTIAL_SCHEMAS", "schema_ref"]

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."
AUTOSCALING = "io.k8s.api.autoscaling.v1."
COORD = "io.k8s.api.coordination.v1."
APIEXT = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."
INTSTR = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

Schema = dict[str, Any]


def schema_ref(name: str) -> str:
    """The ``$ref`` value pointing at component schema ``name``."""
    return f"#/components/schemas/{name}"


def _d(schema: Schema, description: str) -> Schema:
    if description:
        schema["description"] = description
    return schema


def ref(name: str, description: str = "", default: Any = None) -> Schema:
    out: Schema = {"allOf": [{"$ref": schema_ref(name)}]}
    if default is not None:
        out["default"] = default
    return _d(out, description)


def string(description: str = "", default: str | None = None, enum: list[str] | None = None,
           fmt: str | None = None) -> Schema:
    out: Schema = {"type": "string"}
    if default is not None:
        out["default"] = default
    if enum is not None:
        out["enum"] = enum
    if fmt is not None:
        out["format"] = fmt
    return _d(out, description)


def integer(description: str = "", fmt: str = "int32", default: int | None = None) -> Schema:
    out: Schema = {"type": "integer", "format": fmt}
    if default is not None:
        out["default"] = default
    return _d(out, description)


def boolean(description: str = "", default: bool | None = None) -> Schema:
    out: Schema = {"type": "boolean"}
    if default is not None:
        out["default"] = default
    return _d(out, description)


def string_map(description: str = "", atomic: bool = False, fmt: str | None = None) -> Schema:
    value: Schema = {"type": "string"}
    if fmt:
        value["format"] = fmt
    out: Schema = {"type": "object", "additionalProperties": value}
    if atomic:
        out["x-kubernetes-map-type"] = "atomic"
    return _d(out, description)


def quantity_map(description: str = "") -> Schema:
    return _d({"type": "object", "additionalProperties": {"$ref": schema_ref(QUANTITY)}},
              description)


def string_list(description: str = "", list_type: str = "atomic",
                strategy: str | None = None) -> Schema:
    out: Schema = {"type": "array", "items": {"type": "string"}}
    out["x-kubernetes-list-type"] = list_type
    if strategy:
        out["x-kubernetes-patch-strategy"] = strategy
    return _d(out, description)


def array(item: str, description: str = "", keys: list[str] | None = None,
          patch_key: str | None = None, strategy: str | None = "merge",
          list_type: str | None = None) -> Schema:
    """An array of ``$ref`` items; ``keys`` makes it a list-map (with patch merge key)."""
    out: Schema = {"type": "array", "items": {"$ref": schema_ref(item)}}
    if keys:
        out["x-kubernetes-list-type"] = "map"
        out["x-kubernetes-list-map-keys"] = keys
    elif list_type:
        out["x-kubernetes-list-type"] = list_type
    if patch_key:
        out["x-kubernetes-patch-merge-key"] = patch_key
        if strategy:
            out["x-kubernetes-patch-strategy"] = strategy
    return _d(out, description)


def obj(properties: dict[str, Schema], description: str = "", required: list[str] | None = None,
        gvk: tuple[str, str, str] | None = None, atomic: bool = False) -> Schema:
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    if gvk is not None:
        out["x-kubernetes-group-version-kind"] = [
            {"group": gvk[0], "kind": gvk[2], "version": gvk[1]}
        ]
    if atomic:
        out["x-kubernetes-map-type"] = "atomic"
    return _d(out, description)


def _kind(description: str, gvk: tuple[str, str, str], fields: dict[str, Schema],
          required: list[str] | None = None) -> Schema:
    props: Schema = {
        "apiVersion": string("The versioned schema of this object, e.g. v1 or apps/v1."),
        "kind": string("The object's kind, in CamelCase."),
        "metadata": ref(META + "ObjectMeta", "Standard object metadata.", {}),
    }
    props.update(fields)
    return obj(dict(sorted(props.items())), description, required, gvk)


def _list(kind_schema: str, gvk: tuple[str, str, str], noun: str) -> Schema:
    return obj(
        {
            "apiVersion": string("The versioned schema of this list."),
            "items": _d({"type": "array", "items": {"$ref": schema_ref(kind_schema)}},
                        f"The {noun}."),
            "kind": string("The list's kind."),
            "metadata": ref(META + "ListMeta", "Standard list metadata.", {}),
        },
        f"A list of {noun}.",
        ["items"],
        gvk,
    )


def _condition(description: str) -> Schema:
    return obj(
        {
            "lastTransitionTime": ref(META + "Time", "When the status last changed."),
            "message": string("Human-readable details."),
            "reason": string("Machine-readable reason for the last change."),
            "status": string("True, False or Unknown.", default=""),
            "type": string("The condition's type.", default=""),
        },
        description,
        ["type", "status"],
    )


_S: dict[str, Schema] = {}

# ---------------------------------------------------------------- meta/v1 and friends
_S[META + "Time"] = {"type": "string", "format": "date-time",
                     "description": "A timestamp in RFC 3339 form, to the second."}
_S[META + "MicroTime"] = {"type": "string", "format": "date-time",
                          "description": "A timestamp in RFC 3339 form, to the microsecond."}
_S[META + "FieldsV1"] = {"type": "object", "description": "A set of fields, as a trie."}
_S[META + "Patch"] = {"type": "object", "description": "A patch body of any supported type."}
_S[INTSTR] = {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}],
              "description": "An integer or a string (such as a port name or a percentage)."}
_S[QUANTITY] = {"oneOf": [{"type": "string"}, {"type": "number"}],
                "description": "A fixed-point amount such as 100m, 1.5 or 2Gi."}
_S[META + "OwnerReference"] = obj(
    {
        "apiVersion": string("API version of the owner.", default=""),
        "blockOwnerDeletion": boolean("Whether the owner waits for this object on deletion."),
        "controller": boolean("Whether the owner is the managing controller."),
        "kind": string("Kind of the owner.", default=""),
        "name": string("Name of the owner.", default=""),
        "uid": string("UID of the owner.", default=""),
    },
    "Points at the object that owns this one.",
    ["apiVersion", "kind", "name", "uid"],
    atomic=True,
)
_S[META + "ManagedFieldsEntry"] = obj(
    {
        "apiVersion": string("Version of the fields' schema."),
        "fieldsType": string("Format of fieldsV1; always FieldsV1."),
        "fieldsV1": ref(META + "FieldsV1", "The fields this manager owns."),
        "manager": string("Who manages these fields."),
        "operation": string("Apply or Update."),
        "subresource": string("Subresource the change came through, if any."),
        "time": ref(META + "Time", "When the fields were last changed."),
    },
    "Which fields one manager owns, and how it set them.",
)
_S[META + "ObjectMeta"] = obj(
    {
        "annotations": string_map("Free-form metadata that selectors do not use."),
        "creationTimestamp": ref(META + "Time", "When the object was created; set by the server."),
        "deletionGracePeriodSeconds": integer("Seconds left before deletion.", "int64"),
        "deletionTimestamp": ref(META + "Time", "When deletion was requested; set by the server."),
        "finalizers": string_list("Tasks that must finish before deletion.", "set", "merge"),
        "generateName": string("A prefix the server completes when name is empty."),
        "generation": integer("Sequence number of spec changes.", "int64"),
        "labels": string_map("Key/value pairs that selectors match."),
        "managedFields": array(META + "ManagedFieldsEntry", "Field ownership, per manager.",
                               list_type="atomic"),
        "name": string("Unique within a namespace."),
        "namespace": string("The namespace the object lives in."),
        "ownerReferences": array(META + "OwnerReference", "Objects this one depends on.",
                                 ["uid"], "uid"),
        "resourceVersion": string("Opaque version for optimistic concurrency and watches."),
        "selfLink": string("Unused; kept for compatibility."),
        "uid": string("Unique across time and space; set by the server."),
    },
    "Metadata every persisted object has.",
)
_S[META + "ShardInfo"] = obj({"selector": string("The shard selector.", default="")},
                             "Which shard of a list this is.", ["selector"])
_S[META + "ListMeta"] = obj(
    {
        "continue": string("Token to fetch the next page."),
        "remainingItemCount": integer("Items left after this page, when known.", "int64"),
        "resourceVersion": string("Version of the list, for watches."),
        "selfLink": string("Unused; kept for compatibility."),
        "shardInfo": ref(META + "ShardInfo", "Shard information, if sharded."),
    },
    "Metadata of a list.",
)
_S[META + "LabelSelectorRequirement"] = obj(
    {
        "key": string("The label key.", default=""),
        "operator": string("In, NotIn, Exists or DoesNotExist.", default=""),
        "values": string_list("Values for In and NotIn."),
    },
    "One set-based label requirement.",
    ["key", "operator"],
)
_S[META + "LabelSelector"] = obj(
    {
        "matchExpressions": array(META + "LabelSelectorRequirement", "Set-based requirements.",
                                  list_type="atomic"),
        "matchLabels": string_map("Labels that must be equal."),
    },
    "Selects objects by label; all requirements must hold.",
    atomic=True,
)
_S[META + "Condition"] = obj(
    {
        "lastTransitionTime": ref(META + "Time", "When the status last changed."),
        "message": string("Human-readable details.", default=""),
        "observedGeneration": integer("The generation the condition was set for.", "int64"),
        "reason": string("Machine-readable reason.", default=""),
        "status": string("True, False or Unknown.", default=""),
        "type": string("The condition's type.", default=""),
    },
    "One aspect of an object's current state.",
    ["type", "status", "lastTransitionTime", "reason", "message"],
)
_S[META + "Preconditions"] = obj(
    {"resourceVersion": string("Required resourceVersion."), "uid": string("Required UID.")},
    "Must hold for the operation to proceed.",
)
_S[META + "DeleteOptions"] = obj(
    {
        "apiVersion": string("The versioned schema of this object."),
        "dryRun": string_list("All: do not persist."),
        "gracePeriodSeconds": integer("Seconds before the object is deleted.", "int64"),
        "ignoreStoreReadErrorWithClusterBreakingPotential": boolean("Delete unreadable objects."),
        "kind": string("DeleteOptions."),
        "orphanDependents": boolean("Deprecated; use propagationPolicy."),
        "preconditions": ref(META + "Preconditions", "Must hold for the delete to proceed."),
        "propagationPolicy": string("Orphan, Background or Foreground."),
    },
    "Options of a delete.",
)
_S[META + "StatusCause"] = obj(
    {"field": string("The field at fault."), "message": string("What is wrong."),
     "reason": string("Machine-readable cause.")},
    "One cause of an error.",
)
_S[META + "StatusDetails"] = obj(
    {
        "causes": array(META + "StatusCause", "What went wrong, one entry per problem.",
                        list_type="atomic"),
        "group": string("Group of the object."),
        "kind": string("Kind of the object."),
        "name": string("Name of the object."),
        "retryAfterSeconds": integer("Seconds to wait before retrying."),
        "uid": string("UID of the object."),
    },
    "Details of an error.",
)
_S[META + "Status"] = obj(
    {
        "apiVersion": string("The versioned schema of this object."),
        "code": integer("HTTP status code."),
        "details": ref(META + "StatusDetails", "Extra data about the error."),
        "kind": string("Status."),
        "message": string("Human-readable description."),
        "metadata": ref(META + "ListMeta", "Standard list metadata.", {}),
        "reason": string("Machine-readable reason."),
        "status": string("Success or Failure."),
    },
    "The result of an operation that returns no object.",
    gvk=("", "v1", "Status"),
)

_S[META + "ServerAddressByClientCIDR"] = obj(
    {"clientCIDR": string("Client network this address is for.", default=""),
     "serverAddress": string("Address to use from that network.", default="")},
    "Where clients from one network should reach the server.",
    ["clientCIDR", "serverAddress"],
)
_S[META + "APIVersions"] = obj(
    {
        "apiVersion": string("The versioned schema of this object."),
        "kind": string("APIVersions."),
        "serverAddressByClientCIDRs": array(META + "ServerAddressByClientCIDR",
                                            "Addresses by client network.", list_type="atomic"),
        "versions": string_list("Versions of the core API."),
    },
    "The versions of the core API, served at /api.",
    ["versions", "serverAddressByClientCIDRs"],
    ("", "v1", "APIVersions"),
)
_S[META + "GroupVersionForDiscovery"] = obj(
    {"groupVersion": string("group/version.", default=""),
     "version": string("The version alone.", default="")},
    "One version of an API group.",
    ["groupVersion", "version"],
)
_S[META + "APIGroup"] = obj(
    {
        "apiVersion": string("The versioned schema of this object."),
        "kind": string("APIGroup."),
        "name": string("Name of the group.", default=""),
        "preferredVersion": ref(META + "GroupVersionForDiscovery", "The version to prefer.", {}),
        "serverAddressByClientCIDRs": array(META + "ServerAddressByClientCIDR",
                                            "Addresses by client network.", list_type="atomic"),
        "versions": array(META + "GroupVersionForDiscovery", "Served versions.",
                          list_type="atomic"),
    },
    "An API group and its versions.",
    ["name", "versions"],
    ("", "v1", "APIGroup"),
)
_S[META + "APIGroupList"] = obj(
    {
        "apiVersion": string("The versioned schema of this object."),
        "groups": array(META + "APIGroup", "The groups.", list_type="atomic"),
        "kind": string("APIGroupList."),
    },
    "The API groups, served at /apis.",
    ["groups"],
    ("", "v1", "APIGroupList"),
)
_S[META + "APIResource"] = obj(
    {
        "categories": string_list("Categories such as all."),
        "group": string("Group of the kind, when not the group-version's."),
        "kind": string("Kind of the resource.", default=""),
        "name": string("Plural name, or plural/subresource.", default=""),
        "namespaced": boolean("Whether objects live in namespaces.", default=False),
        "shortNames": string_list("Short aliases."),
        "singularName": string("Singular name.", default=""),
        "storageVersionHash": string("Hash of the storage version."),
        "verbs": {"type": "array", "items": {"type": "string"},
                  "description": "Verbs the resource supports."},
        "version": string("Version of the kind, when not the group-version's."),
    },
    "One resource of a group-version.",
    ["name", "singularName", "namespaced", "kind", "verbs"],
)
_S[META + "APIResourceList"] = obj(
    {
        "apiVersion": string("The versioned schema of this object."),
        "groupVersion": string("The group-version.", default=""),
        "kind": string("APIResourceList."),
        "resources": array(META + "APIResource", "The resources.", list_type="atomic"),
    },
    "The resources of a group-version.",
    ["groupVersion", "resources"],
    ("", "v1", "APIResourceList"),
)
_S["io.k8s.apimachinery.pkg.runtime.RawExtension"] = {
    "type": "object", "description": "An embedded object of any kind."}
_S[META + "WatchEvent"] = obj(
    {"object": ref("io.k8s.apimachinery.pkg.runtime.RawExtension", "The object."),
     "type": string("ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.", default="")},
    "One event of a watch stream.",
    ["type", "object"],
    ("", "v1", "WatchEvent"),
)
_S["io.k8s.apimachinery.pkg.version.Info"] = obj(
    {key: string(f"The {key} of the server build.", default="")
     for key in ("buildDate", "compiler", "gitCommit", "gitTreeState", "gitVersion",
                 "goVersion", "major", "minor", "platform")},
    "Version information about the server.",
    ["major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion",
     "compiler", "platform"],
)

# ---------------------------------------------------------------- core/v1
_S[CORE + "ConfigMap"] = _kind(
    "Configuration data for pods to consume.",
    ("", "v1", "ConfigMap"),
    {
        "binaryData": string_map("Binary values, base64-encoded.", fmt="byte"),
        "data": string_map("UTF-8 values."),
        "immutable": boolean("When true, data cannot change."),
    },
)
_S[CORE + "Secret"] = _kind(
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
_S[CORE + "NamespaceCondition"] = _condition("One aspect of a namespace's state.")
_S[CORE + "NamespaceStatus"] = obj(
    {
        "conditions": array(CORE + "NamespaceCondition", "Observed conditions.", ["type"], "type"),
        "phase": string("Active or Terminating.", enum=["Active", "Terminating"]),
    },
    "What a namespace is.",
)
_S[CORE + "Namespace"] = _kind(
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
_S[CORE + "ServiceAccount"] = _kind(
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
_S[CORE + "Event"] = _kind(
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
        "ipFamilies": _d({"type": "array", "items": {"type": "string",
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
_S[CORE + "Service"] = _kind(
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
_S[CORE + "PodCondition"] = _condition("One aspect of a pod's state.")
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
_S[CORE + "Pod"] = _kind(
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
_S[AUTOSCALING + "Scale"] = _kind(
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
_S[APPS + "Deployment"] = _kind(
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
_S[COORD + "Lease"] = _kind(
    "A lease, for leader election and heartbeats.",
    ("coordination.k8s.io", "v1", "Lease"),
    {"spec": ref(COORD + "LeaseSpec", "The lease.", {})},
)

# ---------------------------------------------------------------- apiextensions.k8s.io/v1
_JSP = APIEXT + "JSONSchemaProps"
_S[APIEXT + "JSON"] = {"description": "Any JSON value."}
_S[APIEXT + "JSONSchemaPropsOrArray"] = {"description": "A schema or a list of schemas."}
_S[APIEXT + "JSONSchemaPropsOrBool"] = {"description": "A schema or a boolean."}
_S[APIEXT + "JSONSchemaPropsOrStringArray"] = {"description": "A schema or a list of strings."}
_S[APIEXT + "ExternalDocumentation"] = obj(
    {"description": string("What the link is."), "url": string("The link.")},
    "A link to more documentation.",
)
_S[APIEXT + "ValidationRule"] = obj(
    {
        "fieldPath": string("Field the failure is reported on."),
        "message": string("Message when the rule fails."),
        "messageExpression": string("CEL expression producing the message."),
        "optionalOldSelf": boolean("Evaluate on create too, with oldSelf unset."),
        "reason": string("Reason reported when the rule fails.",
                         enum=["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid",
                               "FieldValueRequired"]),
        "rule": string("A CEL expression over self.", default=""),
    },
    "A CEL validation rule.",
    ["rule"],
)
_schema_ref = {"$ref": schema_ref(_JSP)}
_S[_JSP] = obj(
    {
        "$ref": string(), "$schema": string(),
        "additionalItems": {"$ref": schema_ref(APIEXT + "JSONSchemaPropsOrBool")},
        "additionalProperties": {"$ref": schema_ref(APIEXT + "JSONSchemaPropsOrBool")},
        "allOf": {"type": "array", "items": _schema_ref, "x-kubernetes-list-type": "atomic"},
        "anyOf": {"type": "array", "items": _schema_ref, "x-kubernetes-list-type": "atomic"},
        "default": ref(APIEXT + "JSON", "Default value of an unset field."),
        "definitions": {"type": "object", "additionalProperties": _schema_ref},
        "dependencies": {"type": "object", "additionalProperties": {
            "$ref": schema_ref(APIEXT + "JSONSchemaPropsOrStringArray")}},
        "description": string("What the field is."),
        "enum": {"type": "array", "items": {"$ref": schema_ref(APIEXT + "JSON")},
                 "x-kubernetes-list-type": "atomic"},
        "example": {"$ref": schema_ref(APIEXT + "JSON")},
        "exclusiveMaximum": boolean(), "exclusiveMinimum": boolean(),
        "externalDocs": {"$ref": schema_ref(APIEXT + "ExternalDocumentation")},
        "format": string("A format such as int32, date-time or byte."),
        "id": string(),
        "items": {"$ref": schema_ref(APIEXT + "JSONSchemaPropsOrArray")},
        "maxItems": integer(fmt="int64"), "maxLength": integer(fmt="int64"),
        "maxProperties": integer(fmt="int64"), "maximum": {"type": "number", "format": "double"},
        "minItems": integer(fmt="int64"), "minLength": integer(fmt="int64"),
        "minProperties": integer(fmt="int64"), "minimum": {"type": "number", "format": "double"},
        "multipleOf": {"type": "number", "format": "double"},
        "not": _schema_ref,
        "nullable": boolean("Whether null is allowed."),
        "oneOf": {"type": "array", "items": _schema_ref, "x-kubernetes-list-type": "atomic"},
        "pattern": string("A regular expression strings must match."),
        "patternProperties": {"type": "object", "additionalProperties": _schema_ref},
        "properties": {"type": "object", "additionalProperties": _schema_ref},
        "required": string_list("Properties that must be present."),
        "title": string(),
        "type": string("object, array, string, integer, number or boolean."),
        "uniqueItems": boolean(),
        "x-kubernetes-embedded-resource": boolean("The object is a Kubernetes object."),
        "x-kubernetes-int-or-string": boolean("Accept an integer or a string."),
        "x-kubernetes-list-map-keys": string_list("Keys of a map-type list."),
        "x-kubernetes-list-type": string("atomic, set or map."),
        "x-kubernetes-map-type": string("granular or atomic."),
        "x-kubernetes-preserve-unknown-fields": boolean("Keep fields the schema does not list."),
        "x-kubernetes-validations": array(APIEXT + "ValidationRule", "CEL rules.", ["rule"],
                                          "rule"),
    },
    "A JSON schema (the OpenAPI v3 subset Kubernetes accepts).",
)
_S[APIEXT + "CustomResourceColumnDefinition"] = obj(
    {
        "description": string("Column description."),
        "format": string("Format hint of the column."),
        "jsonPath": string("JSONPath of the value, relative to the object.", default=""),
        "name": string("Column header.", default=""),
        "priority": integer("0 for the default view, more for wider ones."),
        "type": string("integer, number, string, boolean or date.", default=""),
    },
    "An extra column of the server-side table.",
    ["name", "type", "jsonPath"],
)
_S[APIEXT + "CustomResourceSubresourceScale"] = obj(
    {
        "labelSelectorPath": string("JSONPath of the selector, as a string."),
        "specReplicasPath": string("JSONPath of the desired replicas.", default=""),
        "statusReplicasPath": string("JSONPath of the observed replicas.", default=""),
    },
    "Enables the scale subresource.",
    ["specReplicasPath", "statusReplicasPath"],
)
_S[APIEXT + "CustomResourceSubresourceStatus"] = {
    "type": "object", "description": "Enables the status subresource."}
_S[APIEXT + "CustomResourceSubresources"] = obj(
    {
        "scale": ref(APIEXT + "CustomResourceSubresourceScale", "The scale subresource."),
        "status": ref(APIEXT + "CustomResourceSubresourceStatus", "The status subresource."),
    },
    "Subresources the custom resources have.",
)
_S[APIEXT + "CustomResourceValidation"] = obj(
    {"openAPIV3Schema": ref(_JSP, "Schema of the custom resources.")},
    "How custom resources are validated.",
)
_S[APIEXT + "SelectableField"] = obj(
    {"jsonPath": string("JSONPath of a field selectors may use.", default="")},
    "A field usable in field selectors.",
    ["jsonPath"],
)
_S[APIEXT + "CustomResourceDefinitionVersion"] = obj(
    {
        "additionalPrinterColumns": array(APIEXT + "CustomResourceColumnDefinition",
                                          "Extra table columns.", list_type="atomic"),
        "deprecated": boolean("Whether this version is deprecated."),
        "deprecationWarning": string("Warning sent to clients using this version."),
        "name": string("Version name, such as v1.", default=""),
        "schema": ref(APIEXT + "CustomResourceValidation", "Schema of this version."),
        "selectableFields": array(APIEXT + "SelectableField", "Fields usable in selectors.",
                                  list_type="atomic"),
        "served": boolean("Whether the version is served.", default=False),
        "storage": boolean("Whether objects are stored in this version.", default=False),
        "subresources": ref(APIEXT + "CustomResourceSubresources", "Subresources."),
    },
    "One version of a custom resource.",
    ["name", "served", "storage"],
)
_S[APIEXT + "CustomResourceDefinitionNames"] = obj(
    {
        "categories": string_list("Categories such as all."),
        "kind": string("Kind name, in CamelCase.", default=""),
        "listKind": string("Kind of the list."),
        "plural": string("Resource name in URLs.", default=""),
        "shortNames": string_list("Short aliases."),
        "singular": string("Singular name."),
    },
    "The names of a custom resource.",
    ["plural", "kind"],
)
_S[APIEXT + "ServiceReference"] = obj(
    {"name": string("Service name.", default=""),
     "namespace": string("Service namespace.", default=""),
     "path": string("URL path."), "port": integer("Service port.")},
    "Points at a service.",
    ["namespace", "name"],
)
_S[APIEXT + "WebhookClientConfig"] = obj(
    {"caBundle": string("CA bundle, PEM, base64-encoded.", fmt="byte"),
     "service": ref(APIEXT + "ServiceReference", "Service to call."),
     "url": string("URL to call.")},
    "How to reach a webhook.",
)
_S[APIEXT + "WebhookConversion"] = obj(
    {"clientConfig": ref(APIEXT + "WebhookClientConfig", "How to reach the webhook."),
     "conversionReviewVersions": string_list("ConversionReview versions it understands.")},
    "Conversion through a webhook.",
    ["conversionReviewVersions"],
)
_S[APIEXT + "CustomResourceConversion"] = obj(
    {"strategy": string("None or Webhook.", default=""),
     "webhook": ref(APIEXT + "WebhookConversion", "Webhook settings.")},
    "How objects are converted between versions.",
    ["strategy"],
)
_S[APIEXT + "CustomResourceDefinitionSpec"] = obj(
    {
        "conversion": ref(APIEXT + "CustomResourceConversion", "Conversion between versions."),
        "group": string("API group of the custom resources.", default=""),
        "names": ref(APIEXT + "CustomResourceDefinitionNames", "Their names.", {}),
        "preserveUnknownFields": boolean("Deprecated; must be false."),
        "scope": string("Namespaced or Cluster.", default=""),
        "versions": array(APIEXT + "CustomResourceDefinitionVersion", "Served versions.",
                          list_type="atomic"),
    },
    "What a custom resource definition should be.",
    ["group", "names", "scope", "versions"],
)
_S[APIEXT + "CustomResourceDefinitionCondition"] = {
    **_condition("One aspect of a CRD's state."),
}
_S[APIEXT + "CustomResourceDefinitionCondition"]["properties"]["observedGeneration"] = integer(
    "Generation the condition was set for.", "int64")
_S[APIEXT + "CustomResourceDefinitionStatus"] = obj(
    {
        "acceptedNames": ref(APIEXT + "CustomResourceDefinitionNames", "Names in use.", {}),
        "conditions": array(APIEXT + "CustomResourceDefinitionCondition", "Observed conditions.",
                            ["type"]),
        "observedGeneration": integer("Generation last acted on.", "int64"),
        "storedVersions": string_list("Versions objects were ever stored in."),
    },
    "What a custom resource definition is.",
)
_S[APIEXT + "CustomResourceDefinition"] = _kind(
    "Defines a custom resource.",
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
    {
        "spec": ref(APIEXT + "CustomResourceDefinitionSpec", "What the CRD should be.", {}),
        "status": ref(APIEXT + "CustomResourceDefinitionStatus", "What the CRD is.", {}),
    },
    ["spec"],
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
    _S[_name + "List"] = _list(_name, (_group, "v1", _kind_name + "List"), _noun)

BUILTIN_SCHEMAS: dict[str, Schema] = dict(sorted(_S.items()))
"""Component schemas by name (``io.k8s.api.apps.v1.Deployment``...)."""

PARTIAL_SCHEMAS: frozenset[str] = frozenset({
    CORE + "PodSpec", CORE + "Container", CORE + "Volume", CORE + "PodStatus",
    CORE + "ContainerStatus", CORE + "EnvVarSource", CORE + "ServiceSpec",
    CORE + "LoadBalancerIngress", CORE + "ResourceRequirements", CORE + "VolumeMount",
    CORE + "EmptyDirVolumeSource",
})
"""Schemas listing only some of the real fields: never report unknown fields beneath them."""
