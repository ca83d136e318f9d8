"""The informer's Store: keys, indexes added any time, and relist differences."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from watchfakes import cm

from dynakube.controller.store import NAMESPACE_INDEX, Store
from dynakube.errors import InvalidArgumentError


def labelled(name: str, rv: int, ns: str = "ns", **labels: str) -> dict[str, Any]:
    obj = cm(name, rv, ns=ns)
    obj["metadata"]["labels"] = labels
    return obj


def by_app(obj: dict[str, Any]) -> list[str]:
    app = (obj["metadata"].get("labels") or {}).get("app")
    return [app] if app else []


def test_keys_get_and_namespace_index() -> None:
    store = Store()
    store.upsert(cm("a", 1, ns="one"))
    store.upsert(cm("b", 2, ns="two"))
    store.upsert({"metadata": {"name": "node-1", "resourceVersion": "3"}})
    assert sorted(store.keys()) == ["node-1", "one/a", "two/b"]
    assert store.get("one/a") is not None and store.get_object("a", "one") is not None
    assert store.get_object("node-1") is not None and store.get("one/zzz") is None
    assert [o["metadata"]["name"] for o in store.by_index(NAMESPACE_INDEX, "two")] == ["b"]
    assert store.index_values(NAMESPACE_INDEX) == ["one", "two"]
    assert len(store) == 3 and "two/b" in store


def test_upsert_and_delete_keep_indexes_right() -> None:
    store = Store(indexers={"app": by_app})
    assert store.upsert(labelled("a", 1, app="web")) is None
    old = store.upsert(labelled("a", 2, app="db"))
    assert old is not None and old["metadata"]["resourceVersion"] == "1"
    assert store.by_index("app", "web") == [] and store.index_keys("app", "db") == ["ns/a"]
    assert store.delete("ns/a") is not None
    assert store.index_values("app") == [] and store.index_values(NAMESPACE_INDEX) == []
    assert store.delete(cm("a", 3)) is None


def test_indexer_added_later_covers_existing_objects() -> None:
    store = Store()
    store.upsert(labelled("a", 1, app="web"))
    store.upsert(labelled("b", 1, app="web"))
    store.add_indexer("app", by_app)
    assert store.index_keys("app", "web") == ["ns/a", "ns/b"]
    with pytest.raises(InvalidArgumentError):
        store.add_indexer("app", by_app)
    with pytest.raises(InvalidArgumentError, match="no index called 'nope'"):
        store.by_index("nope", "x")


def test_replace_reports_differences() -> None:
    store = Store(indexers={"app": by_app})
    for obj in (labelled("same", 1, app="x"), labelled("changed", 1), labelled("gone", 1),
                cm("recreated", 1, uid="old-uid")):
        store.upsert(obj)
    diff = store.replace([labelled("same", 1, app="x"), labelled("changed", 5, app="y"),
                          labelled("new", 6), cm("recreated", 7, uid="new-uid")])
    assert sorted(o["metadata"]["name"] for o in diff.added) == ["new", "recreated"]
    assert [(o["metadata"]["resourceVersion"], n["metadata"]["resourceVersion"])
            for o, n in diff.updated] == [("1", "5")]
    assert sorted(o["metadata"]["name"] for o in diff.deleted) == ["gone", "recreated"]
    assert [o["metadata"]["uid"] for o in diff.deleted if o["metadata"]["name"] == "recreated"
            ] == ["old-uid"]
    assert store.index_keys("app", "y") == ["ns/changed"]
    assert store.index_keys("app", "x") == ["ns/same"]
    assert not store.replace(store.list())


def test_concurrent_writers_and_readers() -> None:
    store = Store(indexers={"app": by_app})

    def writer(prefix: str) -> None:
        for i in range(300):
            store.upsert(labelled(f"{prefix}{i % 20}", i, app=f"a{i % 3}"))
            if i % 7 == 0:
                store.delete(f"ns/{prefix}{(i + 3) % 20}")

    def reader() -> None:
        for _ in range(300):
            for value in store.index_values("app"):
                for obj in store.by_index("app", value):
                    assert by_app(obj) == [value]

    threads = [threading.Thread(target=writer, args=(p,)) for p in "xyz"]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key in store.keys():
        obj = store.get(key)
        assert obj is not None
        assert key in store.index_keys("app", by_app(obj)[0])
    assert sum(len(store.index_keys("app", v)) for v in store.index_values("app")) == len(store)
