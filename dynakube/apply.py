"""Applying many documents: load them, order them, validate them, then send them.

``kube.apply(source)`` accepts a dict, a list of dicts, YAML text (multi-document) or a path
to a file or directory. Namespaces and CRDs go first; objects of a CRD created in the same
batch wait until discovery serves its kind.

Every document is read and validated before any is sent. Files are split at ``---`` lines
first (as kubectl splits them), so a YAML error in one document neither hides the documents
after it nor renumbers them. A bad document (one that does not load, an alias bomb, one
that fails validation or that the server refuses) is reported with its file and position
(``file.yaml#3``) and does not stop the others unless ``stop_on_error`` is set.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._pattern import LazyPattern
from ._record import Record
from .discovery.registry import BUILTIN_GROUPS
from .errors import (
    ApplyError,
    ConflictError,
    DynakubeError,
    DynakubeWarning,
    InvalidArgumentError,
    ManifestError,
    ManifestWarning,
    NotFoundError,
)
from .mergepatch import (
    LAST_APPLIED,
    PatchSchema,
    modified_configuration,
    original_configuration,
    three_way_merge_patch,
    three_way_strategic_patch,
)
from .meta import object_metadata
from .request import check_name
from .resource import Resource, ResourceClient

if TYPE_CHECKING:
    from .discovery.loader import Discovery
    from .discovery.registry import ResourceInfo
    from .schema.store import SchemaStore

__all__ = ["ApplyClient", "Document", "MAX_PATCH_RETRIES", "apply_client_side",
           "MAX_ALIAS_NODES", "MAX_DOCUMENT_NODES", "load_documents",
           "apply_order", "apply_documents", "crd_kinds"]

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


class Document(Record):
    """One object to apply and where it came from (``file.yaml#2`` is its second document)."""

    obj: dict[str, Any]
    source: str


# Bounds on what one manifest may make the loader build. YAML aliases let a few hundred bytes
# stand for billions of nodes (the "billion laughs"): every later step (validation, JSON
# encoding) would expand them. Nodes are counted as they are composed, aliases counted
# at their full expanded size, so a bomb fails before it is built, with the document named.
MAX_DOCUMENT_NODES = 1_000_000
"""Nodes one document may hold, each alias counted as the nodes it stands for."""
MAX_ALIAS_NODES = 1_000_000
"""Nodes all the aliases of one file or text may stand for, together."""

_SEPARATOR = LazyPattern(r"^---[ \t]*(?:#.*)?\r?$", re.MULTILINE)
_CONTENT = LazyPattern(r"^[ \t]*[^ \t\r\n#%]", re.MULTILINE)


class _Refused(Exception):
    """Raised inside the composer; becomes a ``ManifestError`` naming the document."""


class _Budget:
    """How many nodes the aliases of one source stood for so far, across its documents."""

    def __init__(self) -> None:
        self.alias_nodes = 0


class _BoundedComposer:
    """A YAML composer (PyYAML's, in Python, over libyaml's events when available) that
    counts nodes while it composes them and refuses a document past the bounds.

    It also notes keys given twice in one mapping: YAML keeps the last value silently.
    """

    budget: _Budget
    duplicates: list[tuple[str, int, int]]

    def _start_bounds(self) -> None:
        self.budget = _Budget()
        self.duplicates = []
        self._nodes = 0
        self._sizes: dict[str, int] = {}

    def compose_document(self) -> Any:
        self._nodes = 0
        self._sizes = {}
        return super().compose_document()  # type: ignore[misc]

    def compose_node(self, parent: Any, index: Any) -> Any:
        from yaml.events import AliasEvent

        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, AliasEvent):
            size = self._sizes.get(str(event.anchor))
            if size is None and event.anchor in self.anchors:  # type: ignore[attr-defined]
                raise _Refused(f"the alias *{event.anchor} refers to a node that contains it")
            if size is not None:
                self.budget.alias_nodes += size
                if self.budget.alias_nodes > MAX_ALIAS_NODES:
                    raise _Refused(f"its aliases stand for more than {MAX_ALIAS_NODES:,} "
                                    "nodes (a YAML alias bomb?)")
                self._count(size)
            return super().compose_node(parent, index)  # type: ignore[misc]
        before = self._nodes
        node = super().compose_node(parent, index)  # type: ignore[misc]
        self._count(1)
        if event.anchor is not None:
            self._sizes[event.anchor] = self._nodes - before
        return node

    def _count(self, nodes: int) -> None:
        self._nodes += nodes
        if self._nodes > MAX_DOCUMENT_NODES:
            raise _Refused(f"it has more than {MAX_DOCUMENT_NODES:,} nodes, aliases expanded")

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        from yaml.nodes import MappingNode, ScalarNode

        if isinstance(node, MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key, _ in node.value:
                if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key.start_mark.line + 1
                first = seen.get((key.tag, key.value))
                if first is None:
                    seen[(key.tag, key.value)] = line
                else:
                    self.duplicates.append((key.value, line, first))
        return super().construct_mapping(node, deep)  # type: ignore[misc]


@functools.cache
def _manifest_loader() -> type:
    """A safe, bounded YAML loader that reads manifests as kubectl does.

    Timestamps stay text (``2024-01-01`` is a string to the API, as kubectl's YAML-to-JSON
    keeps it). libyaml scans and parses when PyYAML was built with it (~5x faster); the
    composer is always the bounded Python one.
    """
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    resolvers = {first: [(tag, rx) for tag, rx in pairs if tag != "tag:yaml.org,2002:timestamp"]
                 for first, pairs in Resolver.yaml_implicit_resolvers.items()}
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - PyYAML without libyaml
        from yaml.parser import Parser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        bases: tuple[type, ...] = (_BoundedComposer, Reader, Scanner, Parser, Composer,
                                   SafeConstructor, Resolver)

        def start(self: Any, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
    else:
        bases = (_BoundedComposer, Composer, CParser, SafeConstructor, Resolver)

        def start(self: Any, stream: str) -> None:
            CParser.__init__(self, stream)

    def __init__(self: Any, stream: str) -> None:
        start(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._start_bounds()

    return type("ManifestLoader", bases, {"yaml_implicit_resolvers": resolvers,
                                          "__init__": __init__})


def _split_documents(text: str) -> list[tuple[int, str]]:
    """``(first line, text)`` of each part between ``---`` lines, as kubectl splits a file.

    Each part is parsed alone, so a syntax error in one document neither hides the ones
    after it nor shifts their numbers. Comments alone before the first ``---`` are no
    document (as in YAML).
    """
    parts: list[tuple[int, str]] = []
    line = pos = 0
    for match in _SEPARATOR.finditer(text):
        parts.append((line, text[pos:match.start()]))
        line += text.count("\n", pos, match.end()) + 1
        pos = match.end() + 1
    parts.append((line, text[pos:]))
    if len(parts) > 1 and not _CONTENT.search(parts[0][1]):
        parts.pop(0)
    return parts


def _load_part(loader_class: type, part: str, budget: _Budget) -> tuple[list[Any], Any]:
    """The documents of one part (usually one), and the loader for its duplicate keys."""
    loader = loader_class(part)
    loader.budget = budget
    try:
        out = []
        while loader.check_data():
            out.append(loader.get_data())
        return out, loader
    finally:
        loader.dispose()


def _parse_yaml(text: str, source: str,
                failures: list[tuple[str, DynakubeError]]) -> list[Document]:
    """Every document of ``text``: one that fails to load is a failure, and the others
    are still read (and numbered as they stand in the file)."""
    import yaml

    loader_class = _manifest_loader()
    budget = _Budget()
    docs: list[Document] = []
    index = 0
    for offset, part in _split_documents(text):
        try:
            objs, loader = _load_part(loader_class, part, budget)
        except _Refused as e:
            index += 1
            failures.append((f"{source}#{index}", ManifestError(
                f"{source}#{index}", f"refused: {e}")))
            continue
        except RecursionError:
            index += 1
            failures.append((f"{source}#{index}", ManifestError(
                f"{source}#{index}", "refused: it is nested too deeply to load")))
            continue
        except yaml.YAMLError as e:
            index += 1
            mark = getattr(e, "problem_mark", None)
            where = f" line {mark.line + offset + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(e, "problem", None) or str(e)
            failures.append((f"{source}#{index}", ManifestError(
                f"{source}#{index}", f"YAML does not parse at{where}: {problem}")))
            continue
        for key, line, first in loader.duplicates:
            warnings.warn(f"{source}#{index + 1}: line {line + offset}: key {json.dumps(key)} "
                          f"already set in map (at line {first + offset}); the last value "
                          "is used", ManifestWarning, stacklevel=4)
        for obj in objs or [None]:
            index += 1
            if obj is not None:
                docs.extend(_expand(obj, f"{source}#{index}", failures))
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




class ApplyClient(ResourceClient, Protocol):
    """What applying needs from a client (``dynakube.Client`` is one): a resource's needs,
    plus discovery to find each document's kind and wait for kinds a CRD adds."""

    @property
    def discovery(self) -> Discovery: ...

    @property
    def schemas(self) -> SchemaStore: ...


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _wait_for_kind(client: ApplyClient, api_version: str, kind: str,
                   timeout: float) -> ResourceInfo:
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


MAX_PATCH_RETRIES = 5
"""How often a client-side apply patch that meets a ``409`` is computed again (kubectl's)."""


def _missing_annotation(resource: Resource, name: str) -> str:
    """kubectl's warning for an object created without the last-applied annotation."""
    what = f"{resource.info.plural}.{resource.info.group}" if resource.info.group \
        else resource.info.plural
    return (f"resource {what}/{name} is missing the {LAST_APPLIED} annotation which is "
            "required by dynakube apply. dynakube apply should only be used on resources "
            "created declaratively by either kubectl create --save-config or dynakube apply "
            "(or kubectl apply). The missing annotation will be patched automatically.")


def _three_way(schema: PatchSchema | None, modified: dict[str, Any],
               live: dict[str, Any]) -> dict[str, Any]:
    original = original_configuration(live)
    if schema is None:
        return three_way_merge_patch(original, modified, live)
    return three_way_strategic_patch(original, modified, live, schema)


def apply_client_side(client: ApplyClient, resource: Resource, obj: Mapping[str, Any],
                      namespace: str | None, *, field_manager: str | None = None,
                      dry_run: bool = False,
                      field_validation: str | None = None) -> tuple[dict[str, Any], str]:
    """``kubectl apply`` without ``--server-side``: ``(object, "created" | "configured" |
    "unchanged")``.

    The object is created with the last-applied annotation, or patched by the three-way
    patch between that annotation, ``obj`` and the live object (a strategic merge patch for
    kinds that take one, else a JSON merge patch). An unchanged file sends no write. A
    ``409`` computes the patch again from a fresh read, up to :data:`MAX_PATCH_RETRIES`
    times (the later ones a second apart), as kubectl does.
    """
    from .schema.patchmeta import patch_schema

    info = resource.info
    name = check_name(object_metadata(obj).get("name"), "metadata.name")
    body = dict(obj)
    if namespace is not None:  # as kubectl: the namespace it went to is in the annotation
        body["metadata"] = {**object_metadata(obj), "namespace": namespace}
    modified = modified_configuration(body)
    options: dict[str, Any] = {"dry_run": dry_run, "field_manager": field_manager,
                               "field_validation": field_validation, "validate": False}
    try:
        live = resource.get(name, namespace)
    except NotFoundError:
        return resource.create(modified, namespace, **options), "created"
    if original_configuration(live) is None:
        warnings.warn(_missing_annotation(resource, name), DynakubeWarning, stacklevel=4)
    schema = patch_schema(client.schemas, info.group, info.version, info.kind,
                          builtin=info.group in BUILTIN_GROUPS)
    kind = "merge" if schema is None else "strategic"
    for attempt in range(MAX_PATCH_RETRIES + 1):
        if attempt:
            if attempt > 1:
                time.sleep(1.0)
            live = resource.get(name, namespace)
        patch = _three_way(schema, modified, live)
        if not patch:
            return live, "unchanged"
        try:
            return resource.patch(name, patch, namespace, patch_type=kind, **options), \
                "configured"
        except ConflictError:
            if attempt == MAX_PATCH_RETRIES:
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _send_one(client: ApplyClient, resource: Resource, doc: Document,
              options: dict[str, Any], server_side: bool,
              namespace: str | None) -> tuple[dict[str, Any], str]:
    ns = resource.namespace_of(doc.obj, namespace)  # the call's, the document's, the default
    if server_side:
        return resource.apply(doc.obj, ns, validate=False, **options), "serverside-applied"
    return apply_client_side(client, resource, doc.obj, ns,
                             **{k: options[k] for k in ("field_manager", "dry_run",
                                                        "field_validation")})


def apply_documents(client: ApplyClient, source: Any, *, field_manager: str, force: bool,
                    dry_run: bool, server_side: bool, field_validation: str | None,
                    validate: bool | None, stop_on_error: bool, namespace: str | None,
                    crd_timeout: float,
                    progress: Callable[[int, int, str], None] | None,
                    on_applied: Callable[[Document, dict[str, Any], str], None] | None = None,
                    ) -> list[dict[str, Any]]:
    """Read and validate every document first, then apply them in order.

    ``server_side=False`` applies as ``kubectl apply`` does (:func:`apply_client_side`).
    ``on_applied(document, result, verb)`` hears of each object applied, ``verb`` being
    what kubectl prints: ``created``, ``configured``, ``unchanged`` or ``serverside-applied``.

    A document that does not load (bad YAML, an alias bomb, no kind) is a failure like one
    that fails validation: reported, and the others still go unless ``stop_on_error``.
    """
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
            resolved[i].check(doc.obj, validate=validate, field_validation=field_validation,
                              partial=True)
        except DynakubeError as e:
            resolved.pop(i, None)
            failures.append((doc.source, e))
    if failures and stop_on_error:
        raise ApplyError(failures)
    failed_sources = {s for s, _ in failures}
    options = {"field_manager": field_manager, "force": force, "dry_run": dry_run,
               "field_validation": field_validation}
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
                resource.check(doc.obj, validate=validate, field_validation=field_validation,
                               partial=True)
            result, verb = _send_one(client, resource, doc, options, server_side, namespace)
            results.append(result)
            if on_applied is not None:
                on_applied(doc, result, verb)
        except DynakubeError as e:
            failures.append((doc.source, e))
            if stop_on_error:
                raise ApplyError(failures, results) from e
    if failures:
        raise ApplyError(failures, results)
    return results
