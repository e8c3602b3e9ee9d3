import errno
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dancesearch.errors import LibraryError, LibraryLocked
from dancesearch.storage import library as library_module
from dancesearch.storage.library import Library, array_key
from tests.fixtures.library_fixtures import hold_lock


def test_a_folder_becomes_a_library_only_when_asked(tmp_path):
    with pytest.raises(LibraryError, match="not a dancesearch library"):
        Library(tmp_path / "lib")
    lib = Library(tmp_path / "lib", create=True)
    assert Library(tmp_path / "lib").uid == lib.uid  # reopening keeps its identity
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "thesis.tex").write_text("precious")
    with pytest.raises(LibraryError, match="not empty"):
        Library(tmp_path / "other", create=True)


def test_a_second_writer_waits_then_fails_naming_the_holder(tmp_path, capsys):
    lib = Library(tmp_path, create=True)
    holder = hold_lock(tmp_path, 30)
    try:
        started = time.monotonic()
        held = rf"another process \(pid {holder.pid}\)"
        with pytest.raises(LibraryLocked, match=held), lib.lock(wait_s=0.6):
            pass
        assert time.monotonic() - started >= 0.6  # it waited before giving up
        assert "waiting for" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    with lib.lock(wait_s=0):  # a dead holder's lock is free
        pass


def test_a_waiting_writer_proceeds_when_the_holder_finishes(tmp_path):
    lib = Library(tmp_path, create=True)
    holder = hold_lock(tmp_path, 1.0)
    started = time.monotonic()
    with lib.lock(wait_s=20):
        assert time.monotonic() - started >= 0.5  # we got it only once the holder let go
    holder.wait()


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    lib = Library(tmp_path, create=True)
    with lib.lock(wait_s=0), Library(tmp_path).lock(wait_s=0):
        pass


def test_arrays_and_tables_round_trip_without_leftovers(tmp_path):
    lib = Library(tmp_path, create=True)
    joints = np.random.default_rng(0).random((5, 22, 3), dtype=np.float32)
    lib.save_motion("m2d/DANCE_W_1", joints)
    lib.save_features("m2d/DANCE_W_1", "k1", motion=joints[:, :, 0])
    np.testing.assert_array_equal(lib.load_motion("m2d/DANCE_W_1"), joints)
    assert lib.load_features("m2d/DANCE_W_1", "k1")["motion"].shape == (5, 22)
    lib.write_table("clips", pd.DataFrame({"clip_id": ["a@000000"], "seq_id": ["a"]}))
    assert lib.clip("a@000000")["seq_id"] == "a"
    assert not list(tmp_path.rglob("*.tmp"))  # temporary files are renamed into place
    with pytest.raises(LibraryError, match="features of 'm2d/DANCE_W_1' are missing"):
        lib.load_features("m2d/DANCE_W_1", "other-key")


def test_array_keys_are_safe_and_distinct():
    assert "/" not in array_key("cmu/60_05") and array_key("a/b") != array_key("a_b")


def _fail_half_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every library write stop half-way through its file, as a full disk would."""
    real = library_module._atomic_write

    def write_half(path: Path, write: Callable[[Path], None]) -> None:
        def half(target: Path) -> None:
            write(target)
            data = Path(target).read_bytes()
            Path(target).write_bytes(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        real(path, half)

    monkeypatch.setattr(library_module, "_atomic_write", write_half)


OLD, NEW = np.zeros((4, 22, 3), np.float32), np.ones((4, 22, 3), np.float32)
WRITES = {  # name: (write value, read back)
    "table": (
        lambda lib, v: lib.write_table("clips", pd.DataFrame({"clip_id": [f"a@{v[0, 0, 0]}"]})),
        lambda lib: lib.table("clips")["clip_id"].tolist(),
    ),
    "json": (
        lambda lib, v: lib.write_json("annotation", {"seed": float(v[0, 0, 0])}),
        lambda lib: lib.read_json("annotation"),
    ),
    "motion": (lambda lib, v: lib.save_motion("s", v), lambda lib: lib.load_motion("s").tolist()),
    "features": (
        lambda lib, v: lib.save_features("s", "k", motion=v[:, :, 0]),
        lambda lib: lib.load_features("s", "k")["motion"].tolist(),
    ),
}


@pytest.mark.parametrize("kind", WRITES)
def test_a_write_failing_half_way_keeps_the_old_file_intact(tmp_path, monkeypatch, kind):
    write, read = WRITES[kind]
    lib = Library(tmp_path, create=True)
    write(lib, OLD)
    old = read(lib)
    with monkeypatch.context() as m:
        _fail_half_way(m)
        with pytest.raises(OSError, match="No space left"):
            write(lib, NEW)
    assert read(Library(tmp_path)) == old  # still there, still readable
    assert not list(tmp_path.rglob("*.tmp"))
    write(lib, NEW)  # and the next write goes through
    assert read(lib) != old


def test_the_feature_key_is_the_one_ingest_recorded(tmp_path):
    lib = Library(tmp_path, create=True)
    with pytest.raises(LibraryError, match="not ingested yet"):
        lib.feature_key()
    lib.record("ingest", {"feature_key": "abc123def456", "clips": {}})
    assert lib.feature_key() == "abc123def456"
    assert Library(tmp_path).feature_key() == "abc123def456"
