"""What the asyncio verbs built outside the handle (logs, exec, wait, apply) need of an
:class:`~dynakube.aio.resource.AsyncResource` and of the client: Protocols, so that those
modules never import the handle or the client that import them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..discovery.loader import Discovery
    from ..discovery.registry import ResourceInfo
    from ..logs import PodChoice
    from ..schema.store import SchemaStore
    from ..transport.steps import Steps
    from .watch import AsyncWatch

__all__ = ["Handle", "ApplyClient"]


class Handle(Protocol):
    """An async resource handle, as the verbs outside it use one."""

    client: Any
    info: ResourceInfo
    subresource_name: str | None

    def namespace_of(self, obj: Mapping[str, Any] | None = None,
                     namespace: Any = None) -> str | None: ...

    async def get(self, name: str, namespace: str | None = None, *,
                  resource_version: str | None = None) -> dict[str, Any]: ...

    async def list(self, namespace: Any = None, *, label_selector: Any = None,
                   field_selector: Any = None) -> dict[str, Any]: ...

    def watch(self, namespace: Any = None, *, label_selector: Any = None,
              field_selector: Any = None, bookmarks: bool = False,
              timeout: float | None = None, include_existing: bool = False) -> AsyncWatch: ...

    async def log_pod(self, name: str, namespace: str | None = None) -> PodChoice: ...

    async def check(self, obj: Mapping[str, Any], *, validate: bool | None = None,
                    field_validation: str | None = None, partial: bool = False) -> None: ...

    async def create(self, obj: Mapping[str, Any], namespace: str | None = None, *,
                     dry_run: bool = False, field_manager: str | None = None,
                     field_validation: str | None = None,
                     validate: bool | None = None) -> dict[str, Any]: ...

    async def patch(self, name: str, patch: Any, namespace: str | None = None, *,
                    patch_type: str = "merge", dry_run: bool = False,
                    field_manager: str | None = None, field_validation: str | None = None,
                    validate: bool | None = None) -> dict[str, Any]: ...

    async def apply(self, obj: Mapping[str, Any], namespace: str | None = None, *,
                    field_manager: str = ..., force: bool = False, dry_run: bool = False,
                    field_validation: str | None = None,
                    validate: bool | None = None) -> dict[str, Any]: ...


class ApplyClient(Protocol):
    """What applying manifests needs of :class:`~dynakube.aio.client.AsyncClient`."""

    discovery: Discovery
    schemas: SchemaStore

    async def run(self, steps: Steps[Any]) -> Any: ...

    async def resource_for(self, obj: Mapping[str, Any]) -> Handle: ...
