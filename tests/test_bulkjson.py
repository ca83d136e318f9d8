"""Large JSON documents are decoded with the cyclic collector paused, and it is left as found."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator

import pytest

from dynakube import bulkjson


@pytest.fixture
def collections() -> Iterator[list[str]]:
    """Each collection that starts while the test runs, with a threshold low enough that
    decoding a few hundred dicts would start one."""
    seen: list[str] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(phase)

    threshold = gc.get_threshold()
    gc.set_threshold(50)
    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
        gc.set_threshold(*threshold)


def _document(items: int) -> bytes:
    return json.dumps({"items": [{"metadata": {"name": f"cm-{i}"}} for i in range(items)]}
                      ).encode()


def test_a_large_document_is_decoded_without_a_collection(collections: list[str]) -> None:
    data = _document(5000)
    assert len(data) >= bulkjson.LARGE
    assert bulkjson.loads(data) == json.loads(data)
    collections.clear()
    bulkjson.loads(data)
    assert collections == []
    assert gc.isenabled()


def test_a_small_document_leaves_the_collector_running(collections: list[str]) -> None:
    data = _document(300)
    assert len(data) < bulkjson.LARGE
    collections.clear()
    bulkjson.loads(data)
    assert collections  # 300 dicts at a threshold of 50: the collector ran


def test_a_collector_disabled_by_the_caller_stays_disabled() -> None:
    gc.disable()
    try:
        assert bulkjson.loads(_document(5000))["items"][0] == {"metadata": {"name": "cm-0"}}
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_bad_json_raises_value_error_and_enables_the_collector_again() -> None:
    with pytest.raises(ValueError):
        bulkjson.loads(b"[" + b"1," * bulkjson.LARGE)
    assert gc.isenabled()


def test_a_caller_may_pause_for_any_size(collections: list[str]) -> None:
    data = _document(300)
    collections.clear()
    bulkjson.loads(data, large=0)
    assert collections == []
