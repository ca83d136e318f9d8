"""Applying manifests on the event loop: :mod:`dynakube.apply`'s order, checks and patches,
awaited.

Loading, ordering, the CRD-first rule, the last-applied annotation and the three-way patch
are the sync module's pure pieces; here are only the awaited sends (server-side apply, or
kubectl's client-side apply with ``server_side=False``).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from ..apply import (
    MAX_PATCH_RETRIES,
    Document,
    _group_of,
    _mapping,
    _missing_annotation,
    _three_way,
    apply_order,
    crd_kinds,
    load_documents,
)
from ..discovery.registry import BUILTIN_GROUPS
from ..errors import (
    ApplyError,
    ConflictError,
    DynakubeError,
    DynakubeWarning,
    InvalidArgumentError,
    NotFoundError,
)
from ..mergepatch import modified_configuration, original_configuration
from ..meta import object_metadata
from ..request import check_name

if TYPE_CHECKING:
    from .handles import ApplyClient as AsyncClient
    from .handles import Handle as AsyncResource

__all__ = ["apply_client_side", "apply_documents"]


async def apply_client_side(client: AsyncClient, resource: AsyncResource,
                            obj: Mapping[str, Any], namespace: str | None, *,
                            field_manager: str | None = None, dry_run: bool = False,
                            field_validation: str | None = None
                            ) -> tuple[dict[str, Any], str]:
    """``kubectl apply`` without ``--server-side`` (as :func:`dynakube.apply.apply_client_side`):
    ``(object, "created" | "configured" | "unchanged")``."""
    from ..schema.patchmeta import patch_schema

    info = resource.info
    name = check_name(object_metadata(obj).get("name"), "metadata.name")
    body = dict(obj)
    if namespace is not None:  # as kubectl: the namespace it went to is in the annotation
        body["metadata"] = {**object_metadata(obj), "namespace": namespace}
    modified = modified_configuration(body)
    options: dict[str, Any] = {"dry_run": dry_run, "field_manager": field_manager,
                               "field_validation": field_validation, "validate": False}
    try:
        live = await resource.get(name, namespace)
    except NotFoundError:
        return await resource.create(modified, namespace, **options), "created"
    if original_configuration(live) is None:
        warnings.warn(_missing_annotation(cast(Any, resource), name), DynakubeWarning,
                      stacklevel=4)
    await client.run(client.schemas.prepare(info.group, info.version, info.kind))
    schema = patch_schema(client.schemas, info.group, info.version, info.kind,
                          builtin=info.group in BUILTIN_GROUPS)
    kind = "merge" if schema is None else "strategic"
    for attempt in range(MAX_PATCH_RETRIES + 1):
        if attempt:
            if attempt > 1:
                await asyncio.sleep(1.0)
            live = await resource.get(name, namespace)
        patch = _three_way(schema, modified, live)
        if not patch:
            return live, "unchanged"
        try:
            return await resource.patch(name, patch, namespace, patch_type=kind,
                                        **options), "configured"
        except ConflictError:
            if attempt == MAX_PATCH_RETRIES:
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


async def _send_one(client: AsyncClient, resource: AsyncResource, doc: Document,
                    options: dict[str, Any], server_side: bool,
                    namespace: str | None) -> tuple[dict[str, Any], str]:
    ns = resource.namespace_of(doc.obj, namespace)
    if server_side:
        return await resource.apply(doc.obj, ns, validate=False, **options), \
            "serverside-applied"
    return await apply_client_side(client, resource, doc.obj, ns,
                                   **{k: options[k] for k in ("field_manager", "dry_run",
                                                              "field_validation")})


async def apply_documents(client: AsyncClient, source: Any, *, field_manager: str,
                          force: bool, dry_run: bool, server_side: bool,
                          field_validation: str | None, validate: bool | None,
                          stop_on_error: bool, namespace: str | None, crd_timeout: float,
                          progress: Callable[[int, int, str], None] | None,
                          on_applied: Callable[[Document, dict[str, Any], str], None]
                          | None = None) -> list[dict[str, Any]]:
    """Read and check every document first, then apply them in order (as
    :func:`dynakube.apply.apply_documents`)."""
    docs, failures = load_documents(source)
    docs = apply_order(docs)
    pending = crd_kinds(docs)
    resolved: dict[int, AsyncResource] = {}
    for i, doc in enumerate(docs):
        api_version, kind = str(doc.obj["apiVersion"]), str(doc.obj["kind"])
        if (_group_of(api_version), kind) in pending:
            continue  # resolved and checked once its CRD is served
        try:
            resolved[i] = await client.resource_for(doc.obj)
            await resolved[i].check(doc.obj, validate=validate,
                                    field_validation=field_validation, partial=True)
        except DynakubeError as e:
            resolved.pop(i, None)
            failures.append((doc.source, e))
    if failures and stop_on_error:
        raise ApplyError(failures)
    failed = {s for s, _ in failures}
    options = {"field_manager": field_manager, "force": force, "dry_run": dry_run,
               "field_validation": field_validation}
    results: list[dict[str, Any]] = []
    for i, doc in enumerate(docs):
        if doc.source in failed:
            continue
        if progress is not None:
            name = _mapping(doc.obj.get("metadata")).get("name", "?")
            progress(i + 1, len(docs), f"{doc.obj.get('kind')}/{name}")
        try:
            handle = resolved.get(i)
            if handle is None:
                if dry_run:
                    raise InvalidArgumentError(
                        f"{doc.obj['kind']} is defined by a CustomResourceDefinition in "
                        "this batch, which a dry run does not create")
                handle = await _wait_for_kind(client, doc.obj, crd_timeout)
                await handle.check(doc.obj, validate=validate,
                                   field_validation=field_validation, partial=True)
            result, verb = await _send_one(client, handle, doc, options, server_side,
                                           namespace)
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


async def _wait_for_kind(client: AsyncClient, obj: Mapping[str, Any],
                         timeout: float) -> AsyncResource:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.05
    while True:
        client.discovery.invalidate()
        try:
            return await client.resource_for(obj)
        except DynakubeError:
            if loop.time() >= deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)
