"""``dynakube._record.Record``: the public value types stay dataclass-compatible.

``ClusterConfig``, ``ExecConfig``, ``ResourceInfo``, ``ApiRequest``, ``Problem`` and the
kubeconfig reader's values were dataclasses in 0.1.0; users pass them to
``dataclasses.replace``, ``fields`` and ``asdict``, compare and hash them. These tests hold
the ``Record`` versions to what a dataclass does, and check that importing the client no
longer imports ``dataclasses`` (the reason for the change).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from typing import Any

import pytest

from dynakube import ClusterConfig
from dynakube._record import Record, field
from dynakube.config.cluster import ExecConfig
from dynakube.config.kubeconfig import Kubeconfig
from dynakube.discovery.documents import ResourceInfo
from dynakube.errors import Problem
from dynakube.request import ApiRequest


class Point(Record):
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)
    note: str = field(default="", repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class RealPoint:
    x: int
    y: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)
    note: str = dataclasses.field(default="", repr=False, compare=False)


def test_construction_matches_a_dataclass() -> None:
    for cls in (Point, RealPoint):
        p: Any = cls(1, y=2)
        assert (p.x, p.y, p.tags, p.note) == (1, 2, [], "")
        assert repr(p) == f"{cls.__qualname__}(x=1, y=2, tags=[])"
        assert cls(1).tags is not cls(1).tags  # a fresh list per instance
        assert cls(1, note="a") == cls(1, note="b")  # compare=False
        with pytest.raises(TypeError, match="'x'"):
            cls()
        with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
            cls(1, z=3)
        with pytest.raises(TypeError, match="multiple values for argument 'x'"):
            cls(1, x=2)
        with pytest.raises(TypeError, match="positional"):
            cls(1, 2, [], "", 5)


def test_frozen_equal_and_hashable() -> None:
    p = Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.y  # type: ignore[misc]
    assert p == Point(1, 2) and p != Point(2, 1)
    assert p != RealPoint(1, 2)  # another class is never equal, as in a dataclass
    q = ResourceInfo("", "v1", "pods", "pod", "Pod", True, ("get",))
    assert hash(q) == hash(ResourceInfo("", "v1", "pods", "pod", "Pod", True, ("get",)))
    assert len({q, q.replace(plural="pods")}) == 1


def test_hash_false_fields_are_left_out() -> None:
    a = ExecConfig("plugin", cluster_config={"x": [1]})  # an unhashable value, hash=False
    assert hash(a) == hash(ExecConfig("plugin", cluster_config={"y": 2}))
    assert a != ExecConfig("plugin", cluster_config={"y": 2})


def test_dataclasses_functions_keep_working() -> None:
    config = ClusterConfig(server="https://a:1", token="t")
    assert dataclasses.is_dataclass(config) and dataclasses.is_dataclass(ClusterConfig)
    assert not dataclasses.is_dataclass(Record)
    names = [f.name for f in dataclasses.fields(config)]
    assert names[:3] == ["server", "namespace", "context"] and "token" in names
    moved = dataclasses.replace(config, server="https://b:2")
    assert moved.server == "https://b:2" and moved.token == "t"
    assert config.replace(server="https://b:2") == moved
    assert dataclasses.asdict(Point(1, tags=["a"])) == {"x": 1, "y": 0, "tags": ["a"],
                                                         "note": ""}
    assert dataclasses.astuple(ApiRequest("GET", "/api")) == ("GET", "/api", (), (), None)
    token = next(f for f in dataclasses.fields(ClusterConfig) if f.name == "token")
    assert token.default is None and token.repr is False


def test_replace_runs_the_checks_of_a_new_value() -> None:
    config = ClusterConfig(server="https://a:1")
    with pytest.raises(Exception, match="user"):
        config.replace(server="https://user:secret@a:1")
    with pytest.raises(Exception, match="user"):
        dataclasses.replace(config, server="https://user:secret@a:1")


def test_copy_pickle_and_match() -> None:
    config = ClusterConfig(server="https://a:1", namespace="n", impersonate_groups=("g",))
    assert pickle.loads(pickle.dumps(config)) == config
    assert copy.copy(config) == config and copy.deepcopy(config) == config
    match Point(3, 4):
        case Point(x, y):
            assert (x, y) == (3, 4)
        case _:
            pytest.fail("positional match did not bind")


def test_mutable_record_is_unhashable_and_assignable() -> None:
    merged = Kubeconfig()
    merged.files = ("a",)
    assert merged == Kubeconfig(files=("a",)) and merged.clusters == {}
    assert Kubeconfig().clusters is not Kubeconfig().clusters
    with pytest.raises(TypeError):
        hash(merged)
    assert [f.name for f in dataclasses.fields(Kubeconfig)][0] == "files"


def test_eq_false_is_identity_as_in_a_dataclass() -> None:
    class Handle(Record, frozen=False, eq=False):
        on_add: Any = None

    @dataclasses.dataclass(eq=False)
    class RealHandle:
        on_add: Any = None

    for cls in (Handle, RealHandle):
        a, b = cls(print), cls(print)
        assert a != b and a == a and len({a, b}) == 2  # hashed, by identity
        a.on_add = None  # still mutable
        assert [x for x in [b, a] if x == a] == [a]


def test_the_informer_and_patch_values_are_records() -> None:
    from dynakube.apply import Document
    from dynakube.controller.informer import DeletedFinalStateUnknown, Handler
    from dynakube.controller.store import StoreDiff
    from dynakube.mergepatch import PatchMeta
    from dynakube.schema.openapi import KindEntry
    from dynakube.watchevent import WatchEvent

    for cls in (Document, DeletedFinalStateUnknown, Handler, StoreDiff, PatchMeta, KindEntry,
                WatchEvent):
        assert issubclass(cls, Record) and dataclasses.is_dataclass(cls)
    assert WatchEvent("ADDED", {"a": 1}) == WatchEvent(type="ADDED", object={"a": 1})
    diff = StoreDiff()
    diff.added.append({})
    assert diff and not StoreDiff() and StoreDiff().added is not StoreDiff().added
    assert PatchMeta() == PatchMeta((), "") and hash(PatchMeta(("merge",), "name"))


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default follows"):
        class Bad(Record):
            a: int = 1
            b: int


def test_problem_keeps_its_own_str() -> None:
    assert str(Problem("spec.x", "is wrong", suggestion="y")) == (
        "spec.x: is wrong (did you mean 'y'?)")
    assert repr(Problem("p", "m")).startswith("Problem(path='p', message='m'")


def test_the_client_import_does_not_import_dataclasses() -> None:
    code = ("import sys, dynakube; dynakube.Client; dynakube.ClusterConfig; "
            "from dynakube.config import kubeconfig; "
            "print('dataclasses' in sys.modules, 'inspect' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
