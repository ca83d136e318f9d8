"""OpenAPI v3 schemas of apiextensions.k8s.io/v1 (CustomResourceDefinition and its parts).

A faithful subset of what a Kubernetes 1.36 server publishes, including the recursive
JSONSchemaProps, with descriptions of our own.
"""

from __future__ import annotations

from dynakube.apiserver.kinds.schema_meta import (
    APIEXT,
    Schema,
    array,
    boolean,
    condition,
    integer,
    kind_schema,
    obj,
    ref,
    schema_ref,
    string,
    string_list,
)

__all__ = ["APIEXT_SCHEMAS"]

_S: dict[str, Schema] = {}

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
    **condition("One aspect of a CRD's state."),
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
_S[APIEXT + "CustomResourceDefinition"] = kind_schema(
    "Defines a custom resource.",
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
    {
        "spec": ref(APIEXT + "CustomResourceDefinitionSpec", "What the CRD should be.", {}),
        "status": ref(APIEXT + "CustomResourceDefinitionStatus", "What the CRD is.", {}),
    },
    ["spec"],
)

APIEXT_SCHEMAS: dict[str, Schema] = _S
"""The apiextensions.k8s.io/v1 schemas, by name."""
