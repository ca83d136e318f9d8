"""Applying many documents: load them, order them, validate them, then send them.

``kube.apply(source)`` accepts a dict, a list of dicts, YAML text (multi-document) or a path
to a file or directory. Namespaces and CRDs go first; objects of a CRD created in the same
batch wait until discovery serves its kind. A bad document is reported with its file and
position and does not stop the others unless ``stop_on_error`` is set.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AlreadyExistsError, ApplyError, DynakubeError, InvalidArgumentError

if TYPE_CHECKING:
    from .client import Client
    from .discovery.registry import ResourceInfo
    from .resource import Resource

__all__ = ["Document", "load_documents", "apply_order", "apply_documents", "crd_kinds"]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

# Lower goes first: what other objects live in or need must exist before them.
_KIND_ORDER = {
    "Namespace": 0,
    "CustomResourceDefinition": 1,
    "PriorityClass": 2,
    "StorageClass": 2,
    "ServiceAccount": 3,
    "Secret": 3,
    "ConfigMap": 3,
    "ClusterRole": 4,
    "ClusterRoleBinding": 4,
    "Role": 4,
    "RoleBinding": 4,
    "PersistentVolume": 4,
    "PersistentVolumeClaim": 5,
    "Service": 5,
}
_DEFAULT_ORDER = 6


@dataclass(frozen=True)
class Document:
    """One object to apply and where it came from (``file.yaml#2`` is its second document)."""

    obj: dict[str, Any]
    source: str


@functools.cache
def _manifest_loader() -> type:
    """A safe YAML loader that reads manifests as kubectl does.

    Timestamps stay text (``2024-01-01`` is a string to the API, as kubectl's YAML-to-JSON
    keeps it), and libyaml parses when PyYAML was built with it (the same documents, ~10x
    faster).
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    resolvers = {first: [(tag, rx) for tag, rx in pairs if tag != "tag:yaml.org,2002:timestamp"]
                 for first, pairs in base.yaml_implicit_resolvers.items()}
    return type("ManifestLoader", (base,), {"yaml_implicit_resolvers": resolvers})


def _parse_yaml(text: str, source: str,
                failures: list[tuple[str, DynakubeError]]) -> list[Document]:
    import yaml

    docs: list[Document] = []
    index = 0
    try:
        for index, obj in enumerate(yaml.load_all(text, Loader=_manifest_loader()), start=1):
            if obj is None:
                continue
            docs.extend(_expand(obj, f"{source}#{index}", failures))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        failures.append((f"{source}#{index + 1}", InvalidArgumentError(
            f"YAML does not parse at{where}: {problem}")))
    return docs


def _expand(obj: Any, source: str,
            failures: list[tuple[str, DynakubeError]]) -> list[Document]:
    if not isinstance(obj, dict):
        failures.append((source, InvalidArgumentError(
            f"a document must be a mapping with apiVersion and kind, not {type(obj).__name__}")))
        return []
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
        out: list[Document] = []
        for i, item in enumerate(obj["items"]):
            out.extend(_expand(item, f"{source}.items[{i}]", failures))
        return out
    if not obj.get("apiVersion") or not kind:
        failures.append((source, InvalidArgumentError("the document has no apiVersion or kind")))
        return []
    return [Document(obj, source)]


def _manifest_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES)


def load_documents(source: Any) -> tuple[list[Document], list[tuple[str, DynakubeError]]]:
    """Turn any accepted source into documents, plus the failures met while reading."""
    failures: list[tuple[str, DynakubeError]] = []
    if isinstance(source, Mapping):
        return _expand(dict(source), "object", failures), failures
    if isinstance(source, list | tuple):
        docs: list[Document] = []
        for i, item in enumerate(source):
            if isinstance(item, Mapping):
                docs.extend(_expand(dict(item), f"item[{i}]", failures))
            else:
                more, errs = load_documents(item)
                docs.extend(more)
                failures.extend(errs)
        return docs, failures
    if isinstance(source, str) and not os.path.exists(source):
        stripped = source.lstrip()
        if "\n" in source or stripped.startswith(("{", "apiVersion", "kind", "---")):
            return _parse_yaml(source, "<text>", failures), failures
        raise InvalidArgumentError(f"no such file or directory: {source}")
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise InvalidArgumentError(f"no such file or directory: {path}")
        files = _manifest_files(path) if path.is_dir() else [path]
        docs = []
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                failures.append((str(file), InvalidArgumentError(f"cannot read {file}: {e}")))
                continue
            docs.extend(_parse_yaml(text, str(file), failures))
        return docs, failures
    raise InvalidArgumentError(
        f"cannot apply a {type(source).__name__}: pass a dict, a list, YAML text or a path")


def apply_order(docs: Iterable[Document]) -> list[Document]:
    """Namespaces, then CRDs, then what others depend on; stable otherwise."""
    return sorted(docs, key=lambda d: _KIND_ORDER.get(str(d.obj.get("kind")), _DEFAULT_ORDER))


def crd_kinds(docs: Iterable[Document]) -> set[tuple[str, str]]:
    """``(group, kind)`` for every CRD in the batch: their objects must wait for discovery."""
    out = set()
    for doc in docs:
        obj = doc.obj
        if obj.get("kind") == "CustomResourceDefinition":
            spec = _mapping(obj.get("spec"))  # a malformed CRD fails later, when it is sent
            kind = _mapping(spec.get("names")).get("kind")
            if spec.get("group") and kind:
                out.add((str(spec["group"]), str(kind)))
    return out




def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _wait_for_kind(client: Client, api_version: str, kind: str, timeout: float) -> ResourceInfo:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        client.discovery.invalidate()
        try:
            return client.discovery.registry().for_kind(api_version, kind)
        except DynakubeError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _send_one(resource: Resource, doc: Document, options: dict[str, Any],
              server_side: bool, namespace: str | None) -> dict[str, Any]:
    ns = resource._namespace(namespace, doc.obj)  # the call's, else the document's, else default
    if server_side:
        return resource.apply(doc.obj, ns, validate=False, **options)
    common = {k: options[k] for k in ("dry_run", "field_validation")}
    try:
        return resource.create(doc.obj, ns, validate=False, **common)
    except AlreadyExistsError:
        name = doc.obj["metadata"]["name"]
        body = {k: v for k, v in doc.obj.items() if k != "status"}
        return resource.patch(name, body, ns, patch_type="merge", **common)


def apply_documents(client: Client, source: Any, *, field_manager: str, force: bool,
                    dry_run: bool, server_side: bool, field_validation: str | None,
                    validate: bool | None, stop_on_error: bool, namespace: str | None,
                    crd_timeout: float,
                    progress: Callable[[int, int, str], None] | None) -> list[dict[str, Any]]:
    """Validate every document first, then apply them in order; see the module docstring."""
    from .resource import Resource

    docs, failures = load_documents(source)
    docs = apply_order(docs)
    pending_crds = crd_kinds(docs)
    resolved: dict[int, Resource] = {}
    for i, doc in enumerate(docs):
        api_version, kind = str(doc.obj["apiVersion"]), str(doc.obj["kind"])
        if (_group_of(api_version), kind) in pending_crds:
            continue  # resolved and validated once its CRD is served
        try:
            info = client.discovery.registry().for_kind(api_version, kind)
            resolved[i] = Resource(client, info)
            resolved[i]._check(doc.obj, validate, field_validation)
        except DynakubeError as e:
            resolved.pop(i, None)
            failures.append((doc.source, e))
    if failures and stop_on_error:
        raise ApplyError(failures)
    failed_sources = {s for s, _ in failures}
    options = {"field_manager": field_manager, "force": force, "dry_run": dry_run,
               "field_validation": field_validation}
    if not server_side:
        options = {"dry_run": dry_run, "field_validation": field_validation}
    results: list[dict[str, Any]] = []
    for i, doc in enumerate(docs):
        if doc.source in failed_sources:
            continue
        if progress is not None:
            name = _mapping(doc.obj.get("metadata")).get("name", "?")
            progress(i + 1, len(docs), f"{doc.obj.get('kind')}/{name}")
        try:
            resource = resolved.get(i)
            if resource is None:
                if dry_run:
                    raise InvalidArgumentError(
                        f"{doc.obj['kind']} is defined by a CustomResourceDefinition in this "
                        "batch, which a dry run does not create")
                info = _wait_for_kind(client, str(doc.obj["apiVersion"]), str(doc.obj["kind"]),
                                      crd_timeout)
                resource = Resource(client, info)
                resource._check(doc.obj, validate, field_validation)
            results.append(_send_one(resource, doc, options, server_side, namespace))
        except DynakubeError as e:
            failures.append((doc.source, e))
            if stop_on_error:
                raise ApplyError(failures, results) from e
    if failures:
        raise ApplyError(failures, results)
    return results
