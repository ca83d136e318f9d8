"""Derive the built-in API's structure from a real kube-apiserver's recordings.

``python -m dynakube.apiserver.kinds.generate ../shared/k8s-api/v1.36`` reads the recorded
aggregated discovery and every OpenAPI v3 document of the built-in groups, and writes
:data:`DATA_FILE`: the facts of the API (groups, versions, resources, verbs, short names,
categories, subresources; which schema is each kind's; the legacy discovery's storage version
hashes; every schema with its properties, types, formats, enums, required lists, defaults and
``x-kubernetes-*`` extensions; every path with its parameters) and none of its prose: every
``description`` is dropped, so the committed file carries no upstream text.

The output is deterministic (sorted keys, gzip without a timestamp), so a test can check that
the committed file is what the generator makes from the recordings.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["DATA_FILE", "FORMAT", "build", "encode", "main", "strip_prose"]

DATA_FILE = Path(__file__).with_name("kube-api.json.gz")
FORMAT = 1
# Documents of groups the recordings' own CRD added: served from CRDs at run time, not data.
_CUSTOM_GROUPS = ("example.dynakube.io",)
_PROSE = ("description",)


def strip_prose(value: Any, *, in_properties: bool = False) -> Any:
    """``value`` without ``description`` annotations (a *property* named so is kept)."""
    if isinstance(value, dict):
        return {key: strip_prose(item, in_properties=key == "properties" and not in_properties)
                for key, item in value.items()
                if in_properties or key not in _PROSE}
    if isinstance(value, list):
        return [strip_prose(item) for item in value]
    return value


def _body(path: Path) -> Any:
    recorded = json.loads(path.read_text())
    if recorded.get("status") != 200:
        raise SystemExit(f"{path}: recorded status {recorded.get('status')}, expected 200")
    return recorded["body"]


def _is_builtin(doc_path: str) -> bool:
    return not any(doc_path.startswith(f"apis/{group}") for group in _CUSTOM_GROUPS)


def build(recordings: Path) -> dict[str, Any]:
    """The data file's content from a recordings folder (``.../k8s-api/v1.36``)."""
    aggregated = recordings / "discovery" / "aggregated"
    discovery = {name: strip_prose(_body(aggregated / f"{name}.json")) for name in ("api", "apis")}
    discovery["apis"]["items"] = [g for g in discovery["apis"]["items"]
                                  if g["metadata"]["name"] not in _CUSTOM_GROUPS]
    index = _body(recordings / "openapi" / "v3" / "index.json")["paths"]
    documents: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for doc_path in sorted(index):
        if not _is_builtin(doc_path):
            continue
        document = strip_prose(_body(recordings / "openapi" / "v3" / f"{doc_path}.json"))
        components = document.get("components") or {}
        own = components.get("schemas") or {}
        for name, schema in own.items():
            schemas.setdefault(name, schema)
        documents[doc_path] = {
            "rest": {k: v for k, v in document.items() if k != "components"},
            "securitySchemes": components.get("securitySchemes"),
            "schemas": sorted(own),
            # the few schemas whose content differs per document (DeleteOptions and friends
            # list the document's own group-version in x-kubernetes-group-version-kind)
            "ownSchemas": {n: s for n, s in own.items() if s != schemas[n]},
        }
    version = _body(recordings / "version.json")
    return {"format": FORMAT, "kubernetes": f"{version['major']}.{version['minor']}",
            "discovery": discovery, "kinds": _kind_schemas(schemas),
            "storageHashes": _storage_hashes(recordings / "discovery" / "legacy"),
            "schemas": schemas, "documents": documents}


def _kind_schemas(schemas: dict[str, Any]) -> dict[str, str]:
    """``group/version/Kind`` -> the component schema of that kind (the server's own names)."""
    found: dict[str, str] = {}
    for name in sorted(schemas):
        gvks = schemas[name].get("x-kubernetes-group-version-kind") or []
        if len(gvks) != 1:  # DeleteOptions, WatchEvent: shared, not a kind of their own
            continue
        gvk = gvks[0]
        found[f"{gvk['group']}/{gvk['version']}/{gvk['kind']}"] = name
    return found


def _storage_hashes(legacy: Path) -> dict[str, str]:
    """``group/version/resource`` -> the legacy discovery's ``storageVersionHash``.

    The storage version is not always the served one (``autoscaling/v1`` HPAs are stored as
    ``v2``), so the hashes are facts to record rather than compute.
    """
    hashes: dict[str, str] = {}
    for path in sorted(legacy.glob("api*/**/*.json")):
        body = _body(path)
        group, _, version = body["groupVersion"].rpartition("/")
        if group in _CUSTOM_GROUPS:
            continue
        for resource in body["resources"]:
            if "storageVersionHash" in resource:
                hashes[f"{group}/{version}/{resource['name']}"] = resource["storageVersionHash"]
    return hashes


def encode(data: dict[str, Any]) -> bytes:
    """Deterministic bytes: compact sorted JSON, gzip with no name and no timestamp."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dynakube.apiserver.kinds.generate",
        description="Write the embedded server's built-in API data from recordings.")
    parser.add_argument("recordings", type=Path, help="e.g. ../shared/k8s-api/v1.36")
    parser.add_argument("--output", type=Path, default=DATA_FILE)
    args = parser.parse_args(argv)
    if not (args.recordings / "openapi" / "v3" / "index.json").is_file():
        parser.error(f"{args.recordings} holds no openapi/v3/index.json")
    data = encode(build(args.recordings))
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
