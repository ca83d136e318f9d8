"""DiskCache: per-server directories, atomic private files, Etags, corrupt files are misses,
writes behind the caller that are read back at once and land in order."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import dynakube.cache
from dynakube.cache import CacheEntry, DiskCache, default_cache_base
from dynakube.errors import InvalidArgumentError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip_keeps_body_and_etag(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "c")
    cache.write("discovery/apis.json", b'{"a": 1}', etag='"abc"')
    entry = cache.read("discovery/apis.json")
    assert isinstance(entry, CacheEntry)
    assert entry.body == b'{"a": 1}'
    assert entry.etag == '"abc"'
    assert abs(entry.stored_at - time.time()) < 600


def test_missing_key_is_none_and_etag_optional(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    assert cache.read("discovery/api.json") is None
    cache.write("discovery/api.json", b"")
    entry = cache.read("discovery/api.json")
    assert entry is not None and entry.body == b"" and entry.etag is None


def test_overwrite_replaces_document(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    cache.write("k.json", b"one", etag="1")
    cache.write("k.json", b"two", etag="2")
    assert cache.flush()
    entry = cache.read("k.json")
    assert entry is not None and (entry.body, entry.etag) == (b"two", "2")
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]  # no temp files left behind


def test_permissions_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        cache = DiskCache.for_server("https://10.0.0.1:6443", base=tmp_path / "base")
        cache.write("openapi/apis__apps__v1-x.json", b"{}")
        assert cache.flush()
    finally:
        os.umask(old)
    assert cache.directory is not None
    file = cache.directory / "openapi" / "apis__apps__v1-x.json"
    assert _mode(file) == 0o600
    assert _mode(file.parent) == 0o700
    assert _mode(cache.directory) == 0o700
    assert _mode(tmp_path / "base") == 0o700


def test_one_directory_per_server(tmp_path: Path) -> None:
    a = DiskCache.for_server("https://10.0.0.1:6443", base=tmp_path)
    b = DiskCache.for_server("https://10.0.0.1:6444", base=tmp_path)
    c = DiskCache.for_server("http://10.0.0.1:6443/", base=tmp_path)
    d = DiskCache.for_server("https://example.com", base=tmp_path)
    e = DiskCache.for_server("https://rancher.example.com/k8s/clusters/c-1", base=tmp_path)
    names = {x.directory.name for x in (a, b, c, d, e) if x.directory is not None}
    assert len(names) == 5
    assert a.directory is not None and a.directory.name == "https_10.0.0.1_6443"
    assert d.directory is not None and d.directory.name == "https_example.com_443"
    for name in names:
        assert "/" not in name and ":" not in name
    ipv6 = DiskCache.for_server("https://[::1]:6443", base=tmp_path)
    assert ipv6.directory is not None and ":" not in ipv6.directory.name


def test_base_directory_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DYNAKUBE_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_base() == tmp_path / "explicit"
    monkeypatch.delenv("DYNAKUBE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_base() == tmp_path / "xdg" / "dynakube"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_base() == tmp_path / "home" / ".cache" / "dynakube"
    cache = DiskCache.for_server("https://h:1")
    assert cache.directory == tmp_path / "home" / ".cache" / "dynakube" / "https_h_1"


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not json at all", b'{"format": 1}\n', b"\x00\xff\xfe" * 10,
     b'{"format": 1, "etag": null, "length": 3, "sha256": "0"}\nabc',
     b'{"format": 99, "etag": null, "length": 0, "sha256": ""}\n', b"[1]\n"],
)
def test_corrupt_file_is_a_miss_and_is_rewritten(tmp_path: Path, garbage: bytes) -> None:
    cache = DiskCache(tmp_path)
    cache.write("discovery/apis.json", b"good", etag="e")
    assert cache.flush()
    path = cache.path("discovery/apis.json")
    assert path is not None
    path.write_bytes(garbage)
    assert cache.read("discovery/apis.json") is None
    cache.write("discovery/apis.json", b"fresh", etag="f")
    assert cache.flush()
    entry = cache.read("discovery/apis.json")
    assert entry is not None and entry.body == b"fresh"


def test_truncated_body_is_a_miss(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    cache.write("k", b"0123456789", etag="e")
    assert cache.flush()
    path = cache.path("k")
    assert path is not None
    path.write_bytes(path.read_bytes()[:-3])
    assert cache.read("k") is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file_and_unwritable_directory_never_raise(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "c")
    cache.write("discovery/api.json", b"x")
    assert cache.flush()
    path = cache.path("discovery/api.json")
    assert path is not None
    path.chmod(0o000)
    assert cache.read("discovery/api.json") is None
    path.chmod(0o600)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        blocked = DiskCache(locked / "sub")
        blocked.write("discovery/api.json", b"x")  # logged, not raised
        assert blocked.flush()
        assert blocked.read("discovery/api.json") is None
        blocked.touch("discovery/api.json")
        assert blocked.flush()
    finally:
        locked.chmod(0o700)


def test_directory_that_is_a_file_never_raises(tmp_path: Path) -> None:
    (tmp_path / "discovery").write_bytes(b"in the way")
    cache = DiskCache(tmp_path)
    cache.write("discovery/api.json", b"x")
    assert cache.flush()
    assert cache.read("discovery/api.json") is None


def test_touch_marks_fresh(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    cache.write("k", b"body", etag="e")
    assert cache.flush()
    path = cache.path("k")
    assert path is not None
    os.utime(path, (1000.0, 1000.0))
    entry = cache.read("k")
    assert entry is not None and entry.stored_at == 1000.0
    cache.touch("k")
    entry = cache.read("k")
    assert entry is not None and entry.stored_at > 1000.0 and entry.body == b"body"
    assert cache.flush() and path.stat().st_mtime == entry.stored_at
    cache.touch("absent")  # nothing to touch: no error
    assert cache.flush() and cache.read("absent") is None


def test_disabled_cache_keeps_nothing(tmp_path: Path) -> None:
    cache = DiskCache(None)
    assert not cache.enabled
    cache.write("k", b"v")
    cache.touch("k")
    assert cache.read("k") is None
    assert cache.path("k") is None


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../b", "a//b", "./a"])
def test_keys_must_stay_inside_the_directory(tmp_path: Path, key: str) -> None:
    cache = DiskCache(tmp_path)
    with pytest.raises(InvalidArgumentError):
        cache.write(key, b"x")
    with pytest.raises(InvalidArgumentError):
        cache.read(key)


def _read_in_child(cache_dir: Path, key: str) -> subprocess.CompletedProcess[str]:
    """``DiskCache.read`` in a child process with 1 GiB of address space and a hang guard,
    so that an unbounded read or a blocking open fails the test instead of the machine."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from dynakube.cache import DiskCache\n"
        f"print(DiskCache({str(cache_dir)!r}).read({key!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_cache_file_is_a_miss_not_a_hang(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    path = cache.path("discovery/api.json")
    assert path is not None
    path.parent.mkdir(parents=True)
    os.mkfifo(path, 0o600)
    try:
        result = _read_in_child(tmp_path, "discovery/api.json")
    except subprocess.TimeoutExpired:
        pytest.fail("reading a FIFO as a cache file hangs")
    assert (result.returncode, result.stdout) == (0, "None\n"), result.stderr
    cache.write("discovery/api.json", b"fresh")  # and the next write replaces it
    assert cache.flush()
    entry = cache.read("discovery/api.json")
    assert entry is not None and entry.body == b"fresh"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_a_cache_file_linked_to_dev_zero_is_a_miss(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    path = cache.path("discovery/apis.json")
    assert path is not None
    path.parent.mkdir(parents=True)
    path.symlink_to("/dev/zero")
    result = _read_in_child(tmp_path, "discovery/apis.json")
    assert (result.returncode, result.stdout) == (0, "None\n"), result.stderr[-500:]
    assert cache.read("discovery/apis.json") is None


def test_a_file_over_the_size_cap_is_a_miss_and_is_not_written(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes=1000)
    cache.write("small", b"x" * 100)
    entry = cache.read("small")
    assert entry is not None and entry.body == b"x" * 100
    cache.write("big", b"x" * 1000)  # with its header, over the cap: not stored
    assert cache.read("big") is None and cache.path("big") is not None
    assert not cache.path("big").exists()  # type: ignore[union-attr]
    roomy = DiskCache(tmp_path)
    roomy.write("grown", b"y" * 5000)
    assert roomy.flush() and roomy.read("grown") is not None
    assert cache.read("grown") is None  # the same file, read with the smaller cap


@pytest.fixture
def stalled(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Writes wait until the event is set: what the caller sees before the disk has it."""
    go = threading.Event()
    store = dynakube.cache._store

    def slow(path: Path, data: bytes, at: float) -> None:
        assert go.wait(30), "the test never released the writer"
        store(path, data, at)

    monkeypatch.setattr(dynakube.cache, "_store", slow)
    yield go
    go.set()
    assert dynakube.cache._WRITER.wait(timeout=30)


def test_a_write_is_read_back_before_it_is_on_disk(tmp_path: Path,
                                                     stalled: threading.Event) -> None:
    cache = DiskCache(tmp_path)
    before = time.time()
    cache.write("discovery/apis.json", b"body", etag="e")
    path = cache.path("discovery/apis.json")
    assert path is not None and not path.exists()
    entry = cache.read("discovery/apis.json")
    assert entry is not None and (entry.body, entry.etag) == (b"body", "e")
    assert not cache.flush(timeout=0.05)  # still waiting for the disk
    stalled.set()
    assert cache.flush(timeout=30)
    on_disk = DiskCache(tmp_path).read("discovery/apis.json")  # a new cache: the file only
    assert on_disk is not None and (on_disk.body, on_disk.etag) == (b"body", "e")
    assert on_disk.stored_at == entry.stored_at >= before  # dated when written, not stored


def test_a_touch_of_a_pending_write_keeps_the_body(tmp_path: Path,
                                                   stalled: threading.Event) -> None:
    cache = DiskCache(tmp_path)
    cache.write("k", b"body", etag="e")
    written = cache.read("k")
    time.sleep(0.01)
    cache.touch("k")
    touched = cache.read("k")
    assert written is not None and touched is not None
    assert (touched.body, touched.etag) == (b"body", "e") and touched.stored_at > written.stored_at
    stalled.set()
    assert cache.flush(timeout=30)
    path = cache.path("k")
    assert path is not None and path.stat().st_mtime == touched.stored_at


def test_writes_to_one_key_land_in_order(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    for i in range(200):
        cache.write("k", str(i).encode(), etag=str(i))
    assert cache.flush(timeout=30)
    entry = DiskCache(tmp_path).read("k")
    assert entry is not None and (entry.body, entry.etag) == (b"199", "199")
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


def test_write_behind_off_writes_before_returning(tmp_path: Path,
                                                  stalled: threading.Event) -> None:
    stalled.set()
    cache = DiskCache(tmp_path, write_behind=False)
    cache.write("k", b"now")
    path = cache.path("k")
    assert path is not None and path.exists()
    assert cache.flush(timeout=0)


def test_a_write_waits_to_settle_unless_somebody_waits_for_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynakube.cache, "_SETTLE", 600.0)
    cache = DiskCache(tmp_path)
    cache.write("discovery/api.json", b"first")
    cache.write("discovery/apis.json", b"second")
    path = cache.path("discovery/apis.json")
    assert path is not None
    time.sleep(0.1)
    assert not path.exists()  # left until the caller's burst of requests is over
    assert cache.read("discovery/apis.json") is not None  # from memory meanwhile
    started = time.monotonic()
    assert cache.flush(timeout=30)
    assert time.monotonic() - started < 30  # flush did not wait out the settling time
    entry = DiskCache(tmp_path).read("discovery/apis.json")
    assert entry is not None and entry.body == b"second"


def test_a_process_that_exits_at_once_still_writes(tmp_path: Path) -> None:
    code = ("import dynakube.cache\n"
            "from dynakube.cache import DiskCache\n"
            "dynakube.cache._SETTLE = 600.0  # exit writes at once, not after settling\n"
            f"c = DiskCache({str(tmp_path)!r})\n"
            "for i in range(50):\n"
            "    c.write(f'discovery/{i}.json', b'x' * 100000)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "discovery").iterdir())
    assert names == sorted(f"{i}.json" for i in range(50))
    entry = DiskCache(tmp_path).read("discovery/49.json")
    assert entry is not None and entry.body == b"x" * 100000


def test_an_exit_waits_for_a_hung_write_only_so_long(tmp_path: Path) -> None:
    code = ("import threading\n"
            "import dynakube.cache\n"
            "from dynakube.cache import DiskCache\n"
            "dynakube.cache._EXIT_WAIT = 0.5\n"
            "dynakube.cache._store = lambda *a: threading.Event().wait()  # a hung disk\n"
            f"DiskCache({str(tmp_path)!r}).write('discovery/api.json', b'x')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "gave up waiting 0.5 s for cache writes at exit" in result.stderr, result.stderr
    assert not (tmp_path / "discovery" / "api.json").exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_writes_its_own_and_leaves_the_parents(tmp_path: Path,
                                                              stalled: threading.Event) -> None:
    cache = DiskCache(tmp_path)
    cache.write("parent", b"p")  # the writer is stuck in it while the child is made
    pid = os.fork()
    if pid == 0:  # the child: its writer is new, the parent's change is not its to write
        ok = False
        try:
            stalled.set()
            cache.write("child", b"c")
            ok = (cache.flush(timeout=10) and cache.read("parent") is None
                  and DiskCache(tmp_path).read("child") is not None)
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not (tmp_path / "parent").exists()
    stalled.set()
    assert cache.flush(timeout=30)
    entry = DiskCache(tmp_path).read("parent")
    assert entry is not None and entry.body == b"p"
