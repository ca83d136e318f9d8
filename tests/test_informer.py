"""Informer logic over an in-memory ListerWatcher (FakeCluster): sync, handlers, relists."""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

import pytest
from watchfakes import FakeCluster, quick_backoff, wait_until

from dynakube.controller.informer import DeletedFinalStateUnknown, Informer
from dynakube.controller.store import NAMESPACE_INDEX
from dynakube.errors import InvalidArgumentError, ServerError


class Recorder:
    """Handlers that keep every call and the last state per key as handlers saw it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.state: dict[str, dict[str, Any]] = {}
        self.deleted: list[Any] = []
        self.threads: set[int] = set()

    @staticmethod
    def key(obj: dict[str, Any]) -> str:
        return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"

    def on_add(self, obj: dict[str, Any]) -> None:
        self.threads.add(threading.get_ident())
        self.calls.append(("add", obj["metadata"]["name"]))
        self.state[self.key(obj)] = obj

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.threads.add(threading.get_ident())
        self.calls.append(("update", new["metadata"]["name"]))
        self.state[self.key(new)] = new

    def on_delete(self, obj: Any) -> None:
        self.threads.add(threading.get_ident())
        final = obj.object if isinstance(obj, DeletedFinalStateUnknown) else obj
        self.calls.append(("delete", final["metadata"]["name"]))
        self.deleted.append(obj)
        self.state.pop(self.key(final), None)

    def register(self, informer: Informer) -> None:
        informer.add_handler(self.on_add, self.on_update, self.on_delete)


def versions(objects: Any) -> dict[str, tuple[str, str]]:
    return {f"{o['metadata']['namespace']}/{o['metadata']['name']}":
            (o["metadata"]["uid"], o["metadata"]["resourceVersion"]) for o in objects}


def converged(informer: Informer, cluster: FakeCluster) -> bool:
    with cluster.cond:
        expected = versions(cluster.objects.values())
    return versions(informer.store.list()) == expected


@pytest.mark.parametrize("watch_list", [True, False])
def test_sync_then_follow_changes(watch_list: bool) -> None:
    cluster = FakeCluster()
    for i in range(5):
        cluster.create(f"o{i}", "first")
    informer = Informer(cluster, watch_list=watch_list, page_size=2, backoff=quick_backoff())
    rec = Recorder()
    rec.register(informer)
    with informer:
        assert informer.wait_for_sync(30) and informer.has_synced
        assert sorted(rec.calls) == [("add", f"o{i}") for i in range(5)]
        if watch_list:
            assert cluster.lists == 0 and cluster.watches[0]["send_initial_events"] is True
        else:
            assert cluster.lists == 3  # five objects in pages of two
            assert cluster.watches[0]["resource_version"] == "105"
            assert all(o["kind"] == "ConfigMap" and o["apiVersion"] == "v1"
                       for o in informer.store.list())
        cluster.update("o1", "second")
        cluster.delete("o2")
        cluster.create("o9")
        assert wait_until(lambda: converged(informer, cluster))
        assert informer.flush(30)
        assert rec.calls[5:] == [("update", "o1"), ("delete", "o2"), ("add", "o9")]
        assert rec.state["ns/o1"]["data"] == {"v": "second"}
        assert len(informer.store.by_index(NAMESPACE_INDEX, "ns")) == 5
        assert len(rec.threads) == 1
    assert not any(t.is_alive() for t in informer._threads)


def test_refused_watch_list_falls_back_to_list_and_watch() -> None:
    cluster = FakeCluster(watch_list=False)
    cluster.create("a")
    informer = Informer(cluster, backoff=quick_backoff())
    with informer:
        assert informer.wait_for_sync(30)
        assert informer.reflector.watch_list is False
        assert cluster.lists == 1
        assert [w["send_initial_events"] for w in cluster.watches] == [True, None]
        assert informer.store.keys() == ["ns/a"]


def test_error_event_instead_of_initial_events_falls_back() -> None:
    cluster = FakeCluster(watch_list_error=True)
    cluster.create("a")
    informer = Informer(cluster, backoff=quick_backoff())
    with informer:
        assert informer.wait_for_sync(30)
        assert informer.reflector.watch_list is False
        assert cluster.lists == 1 and informer.store.keys() == ["ns/a"]
        cluster.create("b")
        assert wait_until(lambda: converged(informer, cluster))


def test_relist_after_gone_reports_vanished_objects_as_unknown_final_state() -> None:
    cluster = FakeCluster()
    for name in ("keep", "change", "vanish"):
        cluster.create(name)
    informer = Informer(cluster, watch_list=False, backoff=quick_backoff())
    rec = Recorder()
    rec.register(informer)
    with informer:
        assert informer.wait_for_sync(30)
        with cluster.cond:  # all of this while the watch is away; then history is gone
            cluster.close_watches()
            cluster.update("change", "new")
            cluster.delete("vanish")
            cluster.create("born")
            cluster.compact()
        assert wait_until(lambda: converged(informer, cluster))
        assert informer.flush(30)
    assert cluster.lists == 2
    assert sorted(rec.calls[3:]) == [("add", "born"), ("delete", "vanish"), ("update", "change")]
    (gone,) = rec.deleted
    assert isinstance(gone, DeletedFinalStateUnknown) and gone.key == "ns/vanish"
    assert versions(rec.state.values()) == versions(cluster.objects.values())


def test_late_handler_gets_current_contents_first() -> None:
    cluster = FakeCluster()
    cluster.create("a")
    cluster.create("b")
    informer = Informer(cluster, backoff=quick_backoff())
    with informer:
        assert informer.wait_for_sync(30)
        late = Recorder()
        late.register(informer)
        cluster.update("a", "x")
        assert wait_until(lambda: converged(informer, cluster))
        assert informer.flush(30)
    assert sorted(late.calls[:2]) == [("add", "a"), ("add", "b")]
    assert late.calls[2:] == [("update", "a")]


def test_failing_handler_is_logged_and_others_still_called(
        caplog: pytest.LogCaptureFixture) -> None:
    cluster = FakeCluster()
    informer = Informer(cluster, backoff=quick_backoff())
    rec = Recorder()

    def boom(obj: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    informer.add_handler(on_add=boom)
    rec.register(informer)
    with caplog.at_level(logging.ERROR, logger="dynakube.controller.informer"), informer:
        assert informer.wait_for_sync(30)
        cluster.create("a")
        cluster.create("b")
        assert wait_until(lambda: len(informer.store) == 2)
        assert informer.flush(30)
    assert rec.calls == [("add", "a"), ("add", "b")]
    assert sum("handler bug" in r.getMessage() or "handler bug" in (r.exc_text or "")
               for r in caplog.records) == 2


def test_removed_handler_is_not_called_again() -> None:
    cluster = FakeCluster()
    informer = Informer(cluster, backoff=quick_backoff())
    calls: list[str] = []
    handler = informer.add_handler(on_add=lambda o: calls.append(o["metadata"]["name"]))
    with informer:
        assert informer.wait_for_sync(30)
        cluster.create("a")
        assert wait_until(lambda: len(informer.store) == 1) and informer.flush(30)
        informer.remove_handler(handler)
        cluster.create("b")
        assert wait_until(lambda: len(informer.store) == 2) and informer.flush(30)
    assert calls == ["a"]


def test_periodic_resync_calls_update_with_the_same_object() -> None:
    cluster = FakeCluster()
    cluster.create("a")
    informer = Informer(cluster, resync_period=0.02, backoff=quick_backoff())
    resynced: list[tuple[Any, Any]] = []
    informer.on_update(lambda old, new: resynced.append((old, new)))
    with informer:
        assert informer.wait_for_sync(30)
        assert wait_until(lambda: len(resynced) >= 2)
    assert all(old is new for old, new in resynced[:2])


def test_flush_does_not_wait_for_a_stopped_informer() -> None:
    cluster = FakeCluster()
    cluster.create("a")
    gate, blocked = threading.Event(), threading.Event()

    def on_add(obj: dict[str, Any]) -> None:
        blocked.set()
        gate.wait(30)

    informer = Informer(cluster, backoff=quick_backoff())
    informer.on_add(on_add)
    informer.start()
    assert blocked.wait(30)  # the dispatcher is inside the handler
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(informer.flush()), daemon=True)
    waiter.start()
    assert wait_until(lambda: any(n[1] == "marker" for n in list(informer._notes)))  # queued
    informer.stop(timeout=0)
    gate.set()
    waiter.join(30)
    assert results == [False]  # stopped before the handlers got there: not flushed
    after: list[bool] = []
    late = threading.Thread(target=lambda: after.append(informer.flush()), daemon=True)
    late.start()
    late.join(30)
    assert after == [False]
    informer.stop()


def test_flush_inside_a_handler_is_refused_instead_of_waiting_for_itself() -> None:
    cluster = FakeCluster()
    cluster.create("a")
    informer = Informer(cluster, backoff=quick_backoff())
    outcome: list[Any] = []

    def on_add(obj: dict[str, Any]) -> None:
        try:
            outcome.append(informer.flush(5))
        except InvalidArgumentError as e:
            outcome.append(e)

    informer.on_add(on_add)
    with informer:
        assert informer.wait_for_sync(30) and informer.flush(30)
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidArgumentError)
    assert "from a handler" in str(outcome[0])


def test_list_failures_are_retried_with_backoff() -> None:
    cluster = FakeCluster(watch_list=False)
    cluster.create("a")
    for _ in range(3):
        cluster.list_errors.append(ServerError(500, {"message": "etcd is sad"}))
    informer = Informer(cluster, backoff=quick_backoff())
    with informer:
        assert informer.wait_for_sync(30)
    assert cluster.lists == 1 and not cluster.list_errors
    assert informer.last_error is None


def test_last_error_is_set_on_every_failed_list_and_health_follows_the_lifecycle() -> None:
    cluster = FakeCluster(watch_list=False)
    cluster.create("a")
    gate = threading.Event()
    errors: list[Any] = []

    original = cluster.list

    def flaky_list(*args: Any, **kw: Any) -> dict[str, Any]:
        if not gate.is_set():
            raise ServerError(500, {"message": "etcd is sad"})
        return original(*args, **kw)

    cluster.list = flaky_list  # type: ignore[method-assign]
    informer = Informer(cluster, backoff=quick_backoff(), read_timeout=5.0)
    assert not informer.healthy() and informer.last_event_time is None
    with informer:
        assert wait_until(lambda: informer.last_error is not None)
        errors.append(informer.last_error)
        assert not informer.healthy()  # not synced
        gate.set()
        assert informer.wait_for_sync(30)
        assert informer.last_error is None and informer.healthy()
        assert informer.last_event_time is not None
    assert not informer.healthy()  # stopped
    assert isinstance(errors[0], ServerError)
    with pytest.raises(InvalidArgumentError):
        Informer(cluster, read_timeout=0)


def test_store_converges_under_churn_with_dropped_watches_and_compaction() -> None:
    cluster = FakeCluster()
    for i in range(20):
        cluster.create(f"o{i}")
    informer = Informer(cluster, backoff=quick_backoff())
    rec = Recorder()
    rec.register(informer)
    rng = random.Random(6)
    with informer:
        assert informer.wait_for_sync(30)
        for step in range(1500):
            name = f"o{rng.randrange(40)}"
            key = f"ns/{name}"
            if key not in cluster.objects:
                cluster.create(name, str(step))
            elif rng.random() < 0.3:
                cluster.delete(name)
            else:
                cluster.update(name, str(step))
            if step % 100 == 50:
                cluster.close_watches()
            if step % 500 == 250:
                with cluster.cond:
                    cluster.close_watches()
                    cluster.compact()
        assert wait_until(lambda: converged(informer, cluster))
        assert informer.flush(30)
    assert versions(rec.state.values()) == versions(cluster.objects.values())
    assert informer.reflector.relists >= 2
    live_uids = {o["metadata"]["uid"] for o in cluster.objects.values()}
    for gone in rec.deleted:
        final = gone.object if isinstance(gone, DeletedFinalStateUnknown) else gone
        assert final["metadata"]["uid"] not in live_uids


def test_small_controller_informer_feeds_a_work_queue() -> None:
    from dynakube.controller.workqueue import ItemExponentialRateLimiter, WorkQueue

    cluster = FakeCluster()
    for i in range(5):
        cluster.create(f"o{i}", "0")
    informer = Informer(cluster, backoff=quick_backoff())
    queue = WorkQueue(ItemExponentialRateLimiter(0.001, 0.01))
    informer.add_handler(on_add=lambda o: queue.add(informer.store.key(o)),
                         on_update=lambda old, new: queue.add(informer.store.key(new)),
                         on_delete=lambda o: queue.add(
                             o.key if isinstance(o, DeletedFinalStateUnknown)
                             else informer.store.key(o)))
    seen: dict[str, str | None] = {}
    failed_once: set[str] = set()

    def worker() -> None:
        for key in queue:
            try:
                if key == "ns/o3" and key not in failed_once:
                    failed_once.add(key)
                    raise RuntimeError("transient")
                obj = informer.store.get(str(key))
                seen[str(key)] = None if obj is None else obj["data"]["v"]
                queue.forget(key)
            except RuntimeError:
                queue.add_rate_limited(key)
            finally:
                queue.done(key)

    thread = threading.Thread(target=worker)
    thread.start()
    with informer:
        assert informer.wait_for_sync(30)
        cluster.update("o1", "1")
        cluster.delete("o2")
        assert wait_until(lambda: converged(informer, cluster)) and informer.flush(30)
        assert wait_until(lambda: len(queue) == 0 and queue.processing == 0
                          and queue.waiting == 0)
    queue.shutdown(drain=True, timeout=30)
    thread.join(30)
    assert seen == {"ns/o0": "0", "ns/o1": "1", "ns/o2": None, "ns/o3": "0", "ns/o4": "0"}
    assert failed_once == {"ns/o3"}
