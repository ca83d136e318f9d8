"""The built-in API's facts, read once per process from the generated data file.

:mod:`.generate` writes ``kube-api.json.gz`` from a real kube-apiserver 1.36's recordings: its
discovery, every component schema and every OpenAPI v3 document of the built-in groups, with
no description text. This module loads it lazily (``functools.cache``: one read per process, on
the first call that needs it) and names the parts the rest of the server uses.
:data:`BUILTIN_SCHEMAS` is a read-only mapping that loads the file on first access.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Iterator, Mapping
from typing import Any

from dynakube.apiserver.kinds.generate import DATA_FILE, FORMAT
from dynakube.errors import DynakubeError

__all__ = [
    "BUILTIN_SCHEMAS",
    "INTSTR",
    "META",
    "QUANTITY",
    "builtin_document",
    "builtin_document_paths",
    "discovery",
    "kind_schema_name",
    "load",
    "schema_ref",
    "storage_hash",
]

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
INTSTR = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_REF_PREFIX = "#/components/schemas/"


def schema_ref(name: str) -> str:
    """The ``$ref`` of the component schema ``name``."""
    return _REF_PREFIX + name


@functools.cache
def load() -> dict[str, Any]:
    """The decoded data file (read once). Raises DynakubeError when it is missing or stale."""
    try:
        data = json.loads(gzip.decompress(DATA_FILE.read_bytes()))
    except (OSError, ValueError) as exc:
        raise DynakubeError(
            f"cannot read the built-in API data {DATA_FILE}: {exc}; reinstall dynakube or run "
            "python -m dynakube.apiserver.kinds.generate ../shared/k8s-api/v1.36") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DynakubeError(f"{DATA_FILE} has format {data.get('format')!r}, expected {FORMAT}: "
                            "regenerate it with python -m dynakube.apiserver.kinds.generate")
    return data


def discovery(root: str) -> dict[str, Any]:
    """The recorded aggregated discovery of ``api`` or ``apis`` (CRD groups removed)."""
    return dict(load()["discovery"][root])


def kind_schema_name(group: str, version: str, kind: str) -> str | None:
    """The component schema of a built-in kind (``io.k8s.api.apps.v1.Deployment``), or None."""
    name = load()["kinds"].get(f"{group}/{version}/{kind}")
    return str(name) if name is not None else None


def storage_hash(group: str, version: str, plural: str) -> str:
    """The legacy discovery's ``storageVersionHash`` of a built-in resource ('' for none)."""
    return str(load()["storageHashes"].get(f"{group}/{version}/{plural}", ""))


def builtin_document_paths() -> list[str]:
    """The index paths of the built-in OpenAPI v3 documents (``api/v1``, ``apis/apps``...)."""
    return sorted(load()["documents"])


def builtin_document(path: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document at index path ``path`` as the real server serves it, minus
    descriptions; a fresh copy each call (None for a path the data does not have)."""
    entry = load()["documents"].get(path)
    if entry is None:
        return None
    document: dict[str, Any] = json.loads(json.dumps(entry["rest"]))
    schemas = load()["schemas"]
    own = entry["ownSchemas"]
    components: dict[str, Any] = {}
    if entry["schemas"]:
        components["schemas"] = {
            name: json.loads(json.dumps(own[name] if name in own else schemas[name]))
            for name in entry["schemas"]
        }
    if entry["securitySchemes"] is not None:
        components["securitySchemes"] = json.loads(json.dumps(entry["securitySchemes"]))
    if components:
        document["components"] = components
    return document


class _Schemas(Mapping[str, Mapping[str, Any]]):
    """Every built-in component schema by name; loads the data file on first access."""

    def __getitem__(self, name: str) -> Mapping[str, Any]:
        schema: Mapping[str, Any] = load()["schemas"][name]
        return schema

    def __iter__(self) -> Iterator[str]:
        return iter(load()["schemas"])

    def __len__(self) -> int:
        return len(load()["schemas"])

    def __contains__(self, name: object) -> bool:
        return name in load()["schemas"]


BUILTIN_SCHEMAS: Mapping[str, Mapping[str, Any]] = _Schemas()
"""The component schemas of every built-in document (shared; treat as read-only)."""
