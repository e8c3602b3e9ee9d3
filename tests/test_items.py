"""An item's files are read again only when they may have changed: a run trusts the hash the
library recorded for files of the same size and mtime, and hashes any other (a rewrite of the
same size shows by its mtime); a library from before sizes and mtimes were recorded hashes all."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from dancesearch import items
from dancesearch.ingest import commit_run, plan_run, process_item, scan
from dancesearch.storage.library import Library
from tests.fixtures.library_fixtures import write_sources

WALK = "mine/takes/walk.npy"  # the manifest's take: its item is mine/manifest.json#1


def ingest_all(lib: Library, data: Path) -> tuple[int, int]:
    """An ingest run as the flow does it (scanning with the library's recorded stats);
    (items processed, items unchanged)."""
    with lib.lock():
        run = plan_run(lib, scan(data, library=lib))
        results = [
            process_item(Path(item), f, lib.root, run.config, run.hashes[item])
            for item, f in run.todo
        ]
        commit_run(lib, run, results)
    return len(run.todo), run.unchanged


@pytest.fixture
def ingested(tmp_path: Path) -> tuple[Path, Library]:
    data = write_sources(tmp_path / "data").resolve()
    hour_ago = time.time() - 3600
    for f in data.rglob("*"):
        os.utime(f, (hour_ago, hour_ago))
    lib = Library(tmp_path / "lib", create=True)
    assert ingest_all(lib, data) == (3, 0)
    return data, lib


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The items whose bytes a run reads, in order."""
    read: list[str] = []
    real = items.input_hash

    def spy(item: Path, fmt: str) -> str:
        read.append(str(item))
        return real(item, fmt)

    monkeypatch.setattr(items, "input_hash", spy)
    return read


def test_unchanged_files_are_not_read_again(ingested, hashed):
    data, lib = ingested
    assert lib.table("items")["file_stats"].notna().all()
    assert ingest_all(lib, data) == (0, 3)
    assert hashed == []


def test_a_rewrite_of_the_same_size_is_read_again_and_ingested(ingested, hashed):
    data, lib = ingested
    walk = data / WALK
    size, before = walk.stat().st_size, lib.clips().set_index("seq_id")
    joints = np.load(walk)
    np.save(walk, joints[::-1].copy())  # walks backwards: same shape, same size, new bytes
    assert walk.stat().st_size == size
    assert ingest_all(lib, data) == (1, 2)
    assert hashed == [str(data / "mine" / "manifest.json#1")]
    after = lib.clips().set_index("seq_id")
    assert len(after) == len(before)


def test_a_file_touched_with_the_same_bytes_is_read_once_and_its_new_stats_kept(ingested, hashed):
    data, lib = ingested
    os.utime(data / WALK)  # now: same bytes, new mtime
    assert ingest_all(lib, data) == (0, 3)  # read, found unchanged, not ingested
    assert len(hashed) == 1
    assert ingest_all(lib, data) == (0, 3)
    assert len(hashed) == 1  # the touched file's stats were recorded: not read again


def test_the_same_size_and_mtime_is_trusted(ingested, hashed):
    data, lib = ingested
    walk = data / WALK
    st = walk.stat()
    np.save(walk, np.load(walk)[::-1].copy())
    os.utime(walk, ns=(st.st_atime_ns, st.st_mtime_ns))  # as if nothing had happened
    assert ingest_all(lib, data) == (0, 3) and hashed == []


def test_a_library_without_recorded_stats_hashes_every_item(ingested, hashed):
    data, lib = ingested
    lib.write_table("items", lib.table("items").drop(columns="file_stats"))
    assert ingest_all(lib, data) == (0, 3)
    assert len(hashed) == 3
    assert lib.table("items")["file_stats"].notna().all()  # recorded from now on
