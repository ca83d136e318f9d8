"""Value classes that cost next to nothing to define.

Every ``@dataclass`` generates and compiles its methods when its module is imported, and
``dataclasses`` itself pulls in ``inspect``, ``ast`` and ``dis``. On the path of
``import dynakube; dynakube.Client`` that was about a third of what dynakube adds to
``import requests`` (``bench/run.py --only import``). A :class:`Record` subclass behaves as a
frozen dataclass (``class X(Record, frozen=False)`` as a plain one), from methods written
once here: construction by position or keyword with defaults and ``__post_init__``,
immutability, ``==`` and ``hash`` over its fields, the dataclass repr, and
:meth:`Record.replace`. ``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass``
keep working on it, because ``__dataclass_fields__`` is built by ``dataclasses`` itself the
first time something asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, dataclass_transform

__all__ = ["Record", "field"]

_MISSING: Any = object()


class _Spec:
    """What :func:`field` says about one field."""

    __slots__ = ("default", "default_factory", "repr", "hash", "compare")

    def __init__(self, default: Any = _MISSING, default_factory: Any = _MISSING,
                 repr: bool = True, hash: bool | None = None, compare: bool = True):
        self.default, self.default_factory = default, default_factory
        self.repr, self.hash, self.compare = repr, hash, compare


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] = _MISSING,
          repr: bool = True, hash: bool | None = None, compare: bool = True) -> Any:
    """``dataclasses.field`` for a :class:`Record`: the same arguments, the same meaning."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Spec(default, default_factory, repr, hash, compare)


class _Layout:
    """A Record class's fields, worked out once when the class is made."""

    __slots__ = ("specs", "names", "required", "factories", "repr_names", "compare_names",
                 "hash_names", "post_init", "frozen", "dataclass_fields")

    def __init__(self, specs: dict[str, _Spec], post_init: Callable[[Any], None] | None,
                 frozen: bool):
        self.specs = specs
        self.names = tuple(specs)
        self.required = frozenset(n for n, s in specs.items()
                                  if s.default is _MISSING and s.default_factory is _MISSING)
        self.factories = {n: s.default_factory for n, s in specs.items()
                          if s.default_factory is not _MISSING}
        self.repr_names = tuple(n for n, s in specs.items() if s.repr)
        self.compare_names = tuple(n for n, s in specs.items() if s.compare)
        self.hash_names = tuple(n for n, s in specs.items()
                                if (s.compare if s.hash is None else s.hash))
        self.post_init = post_init
        self.frozen = frozen
        self.dataclass_fields: dict[str, Any] | None = None


class _DataclassFields:
    """``__dataclass_fields__``, made by ``dataclasses.make_dataclass`` on first use."""

    def __get__(self, instance: Any, owner: type[Record]) -> dict[str, Any]:
        layout = owner._record
        if not layout.specs:
            raise AttributeError("__dataclass_fields__")
        if layout.dataclass_fields is None:
            import dataclasses

            def real(value: Any) -> Any:
                return dataclasses.MISSING if value is _MISSING else value

            specs = [(name, Any, dataclasses.field(
                default=real(s.default), default_factory=real(s.default_factory),
                repr=s.repr, hash=s.hash, compare=s.compare))
                for name, s in layout.specs.items()]
            made: Any = dataclasses.make_dataclass(owner.__name__, specs, frozen=layout.frozen)
            layout.dataclass_fields = made.__dataclass_fields__
        return layout.dataclass_fields


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Record:
    """Base of a value class: declare its fields as annotations, as for a dataclass."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[Any] = _DataclassFields()
    _record: ClassVar[_Layout] = _Layout({}, None, True)

    def __init_subclass__(cls, frozen: bool = True, eq: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs = dict(cls._record.specs)  # a parent Record's fields first, as in a dataclass
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            value = cls.__dict__.get(name, _MISSING)
            spec = value if isinstance(value, _Spec) else _Spec(default=value)
            if spec.default is _MISSING:
                if name in cls.__dict__:
                    delattr(cls, name)  # the field() marker; a factory fills it per instance
                if spec.default_factory is _MISSING and any(
                        s.default is not _MISSING or s.default_factory is not _MISSING
                        for s in specs.values()):
                    raise TypeError(f"{cls.__name__}: field {name!r} without a default "
                                    "follows one with a default")
            else:
                setattr(cls, name, spec.default)  # defaults are read from the class
            specs[name] = spec
        cls._record = _Layout(specs, getattr(cls, "__post_init__", None), frozen)
        made: dict[str, Any] = {"__match_args__": cls._record.names}
        if not frozen:  # as a dataclass with eq but not frozen: mutable, so unhashable
            made.update(__setattr__=object.__setattr__, __delattr__=object.__delattr__,
                        __hash__=None)
        if not eq:  # as a dataclass with eq=False: equal only to itself, hashed by identity
            made.update(__eq__=object.__eq__, __hash__=object.__hash__)
        for attribute, value in made.items():
            setattr(cls, attribute, value)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # fields go straight into the instance dict (the frozen __setattr__ is for users):
        # discovery makes hundreds of ResourceInfo per load, so this is a hot path
        layout = self._record
        names = layout.names
        values = self.__dict__
        if args:
            if len(args) > len(names):
                raise TypeError(f"{type(self).__name__}() takes {len(names)} positional "
                                f"arguments but {len(args)} were given")
            if kwargs and not kwargs.keys().isdisjoint(names[:len(args)]):
                twice = next(n for n in names[:len(args)] if n in kwargs)
                raise TypeError(f"{type(self).__name__}() got multiple values for "
                                f"argument {twice!r}")
            values.update(zip(names, args, strict=False))
        if kwargs:
            if not layout.specs.keys() >= kwargs.keys():
                unknown = next(n for n in kwargs if n not in layout.specs)
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword "
                                f"argument {unknown!r}")
            values.update(kwargs)
        if len(args) + len(kwargs) < len(names):  # fill factories, report what is missing
            for name in names[len(args):]:
                if name in kwargs:
                    continue
                if name in layout.required:
                    raise TypeError(f"{type(self).__name__}() missing required argument: "
                                    f"{name!r}")
                factory = layout.factories.get(name)
                if factory is not None:
                    values[name] = factory()
        if layout.post_init is not None:
            layout.post_init(self)

    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes`` (field name to new value), checked as a new value is."""
        values = {name: getattr(self, name) for name in self._record.names}
        values.update(changes)
        return type(self)(**values)

    __replace__ = replace  # copy.replace (Python 3.13)

    def __setattr__(self, name: str, value: Any) -> None:
        raise _frozen(name)

    def __delattr__(self, name: str) -> None:
        raise _frozen(name)

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._record.repr_names)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._record.compare_names)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in self._record.hash_names))


def _frozen(name: str) -> AttributeError:
    from dataclasses import FrozenInstanceError  # only on the error path: a slow import

    return FrozenInstanceError(f"cannot assign to field {name!r}")
