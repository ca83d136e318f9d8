"""The deprecation policy, in code: a deprecated name keeps working and says what replaces it.

A name deprecated in release X.Y keeps working, with a ``DeprecationWarning`` naming its
replacement, until at least X.(Y+1); only a major release may remove it sooner.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["deprecated", "moved_module_spec", "renamed_parameter"]

F = TypeVar("F", bound=Callable[..., Any])


def _message(what: str, since: str, replacement: str | None) -> str:
    text = f"{what} is deprecated since dynakube {since}"
    return text + (f"; use {replacement} instead" if replacement else "")


def deprecated(*, since: str, replacement: str | None = None) -> Callable[[F], F]:
    """Mark a function or method deprecated: it still runs, and warns on each call."""

    def decorate(func: F) -> F:
        text = _message(f"{func.__qualname__}()", since, replacement)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            warnings.warn(text, DeprecationWarning, stacklevel=2)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def renamed_parameter(old: str, new: str, *, since: str) -> Callable[[F], F]:
    """Accept keyword ``old`` as ``new`` for a while, with a warning."""

    def decorate(func: F) -> F:
        text = _message(f"the {old!r} argument of {func.__qualname__}()", since, repr(new))

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(f"pass {new!r} only; {old!r} is its deprecated name")
                warnings.warn(text, DeprecationWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


class _MovedModuleLoader:
    """Loads an old module path as the module's new home, with a warning.

    ``import dynakube.workqueue`` gives :mod:`dynakube.controller.workqueue` itself (the same
    module object, so monkeypatching and ``is`` checks keep working).
    """

    def __init__(self, new: str, since: str):
        self.new = new
        self.since = since

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        import importlib
        import sys

        # level 2 is the ``import`` statement: warnings skips the import machinery's frames
        warnings.warn(_message(module.__name__, self.since, self.new), DeprecationWarning,
                      stacklevel=2)
        sys.modules[module.__name__] = importlib.import_module(self.new)


def moved_module_spec(old: str, new: str, *, since: str) -> Any:
    """The import spec that keeps the old path ``old`` of a moved module working for a while.

    A meta-path finder returns it for ``old``; importing it warns and gives module ``new``.
    """
    from importlib.machinery import ModuleSpec

    loader: Any = _MovedModuleLoader(new, since)  # duck-typed: importlib.abc costs an import
    return ModuleSpec(old, loader)
