"""Schema building blocks and the schemas every API group shares (meta/v1 and friends).

Helpers that write OpenAPI v3 schemas in the shapes a Kubernetes server publishes
(``allOf``-wrapped ``$ref``, ``format: int32``, list-map and patch-merge keys), and the shared
schemas built with them: ObjectMeta, ListMeta, Status, DeleteOptions, LabelSelector,
IntOrString, Quantity, the discovery documents' types. Descriptions are our own.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIEXT", "APPS", "AUTOSCALING", "COORD", "CORE", "INTSTR", "META", "META_SCHEMAS",
    "QUANTITY", "Schema", "array", "boolean", "condition", "described", "integer",
    "kind_schema", "list_schema", "obj", "quantity_map", "ref", "schema_ref", "string",
    "string_list", "string_map",
]

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


def described(schema: Schema, description: str) -> Schema:
    """Set ``description`` on ``schema`` when it is not empty; returns ``schema``."""
    if description:
        schema["description"] = description
    return schema


def ref(name: str, description: str = "", default: Any = None) -> Schema:
    """A field of a named type: ``allOf: [{$ref}]``, as the real documents write it."""
    out: Schema = {"allOf": [{"$ref": schema_ref(name)}]}
    if default is not None:
        out["default"] = default
    return described(out, description)


def string(description: str = "", default: str | None = None, enum: list[str] | None = None,
           fmt: str | None = None) -> Schema:
    """A string field."""
    out: Schema = {"type": "string"}
    if default is not None:
        out["default"] = default
    if enum is not None:
        out["enum"] = enum
    if fmt is not None:
        out["format"] = fmt
    return described(out, description)


def integer(description: str = "", fmt: str = "int32", default: int | None = None) -> Schema:
    """An integer field (``format`` int32 unless told otherwise)."""
    out: Schema = {"type": "integer", "format": fmt}
    if default is not None:
        out["default"] = default
    return described(out, description)


def boolean(description: str = "", default: bool | None = None) -> Schema:
    """A boolean field."""
    out: Schema = {"type": "boolean"}
    if default is not None:
        out["default"] = default
    return described(out, description)


def string_map(description: str = "", atomic: bool = False, fmt: str | None = None) -> Schema:
    """A map of strings (``additionalProperties``)."""
    value: Schema = {"type": "string"}
    if fmt:
        value["format"] = fmt
    out: Schema = {"type": "object", "additionalProperties": value}
    if atomic:
        out["x-kubernetes-map-type"] = "atomic"
    return described(out, description)


def quantity_map(description: str = "") -> Schema:
    """A map of resource quantities (limits, requests)."""
    return described({"type": "object", "additionalProperties": {"$ref": schema_ref(QUANTITY)}},
              description)


def string_list(description: str = "", list_type: str = "atomic",
                strategy: str | None = None) -> Schema:
    """A list of strings (atomic unless told otherwise)."""
    out: Schema = {"type": "array", "items": {"type": "string"}}
    out["x-kubernetes-list-type"] = list_type
    if strategy:
        out["x-kubernetes-patch-strategy"] = strategy
    return described(out, description)


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
    return described(out, description)


def obj(properties: dict[str, Schema], description: str = "", required: list[str] | None = None,
        gvk: tuple[str, str, str] | None = None, atomic: bool = False) -> Schema:
    """An object schema; ``gvk`` adds ``x-kubernetes-group-version-kind``."""
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    if gvk is not None:
        out["x-kubernetes-group-version-kind"] = [
            {"group": gvk[0], "kind": gvk[2], "version": gvk[1]}
        ]
    if atomic:
        out["x-kubernetes-map-type"] = "atomic"
    return described(out, description)


def kind_schema(description: str, gvk: tuple[str, str, str], fields: dict[str, Schema],
          required: list[str] | None = None) -> Schema:
    """A top-level kind: apiVersion, kind, metadata plus ``fields``."""
    props: Schema = {
        "apiVersion": string("The versioned schema of this object, e.g. v1 or apps/v1."),
        "kind": string("The object's kind, in CamelCase."),
        "metadata": ref(META + "ObjectMeta", "Standard object metadata.", {}),
    }
    props.update(fields)
    return obj(dict(sorted(props.items())), description, required, gvk)


def list_schema(item_schema: str, gvk: tuple[str, str, str], noun: str) -> Schema:
    """The ``<Kind>List`` schema of ``item_schema``."""
    return obj(
        {
            "apiVersion": string("The versioned schema of this list."),
            "items": described({"type": "array", "items": {"$ref": schema_ref(item_schema)}},
                        f"The {noun}."),
            "kind": string("The list's kind."),
            "metadata": ref(META + "ListMeta", "Standard list metadata.", {}),
        },
        f"A list of {noun}.",
        ["items"],
        gvk,
    )


def condition(description: str) -> Schema:
    """The usual condition type (type, status, reason, message, lastTransitionTime)."""
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

META_SCHEMAS: dict[str, Schema] = _S
"""The shared schemas, by name."""
