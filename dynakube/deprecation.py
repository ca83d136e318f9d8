"""The deprecation policy, in code: a deprecated name keeps working and says what replaces it.

A name deprecated in release X.Y keeps working, with a ``DeprecationWarning`` naming its
replacement, until at least X.(Y+1); only a major release may remove it sooner.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["deprecated", "renamed_parameter"]

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
