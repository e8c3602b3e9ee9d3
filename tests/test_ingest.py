"""The decisions of an ingest run, without Prefect: which items to process (new, changed or
re-cut; not those committed unchanged, nor those still being written), when a result must be
computed again, and what a crashed item leaves."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dancesearch.clips import ClipConfig
from dancesearch.ingest import (
    IngestConfig,
    arrays_gone,
    commit_run,
    internal_error,
    plan_run,
    process_item,
    scan,
)
from dancesearch.storage.library import Library
from tests.fixtures.library_fixtures import ITEMS, item_path, write_sources


def run_all(lib: Library, data: Path, config: IngestConfig | None = None):
    """An ingest run as the flow does it, the items processed in turn here."""
    with lib.lock():
        run = plan_run(lib, scan(data), config)
        results = [
            process_item(Path(item), f, lib.root, run.config, run.hashes[item])
            for item, f in run.todo
        ]
        return run, results, commit_run(lib, run, results)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = write_sources(tmp_path_factory.mktemp("ingest") / "data")
    hour_ago = time.time() - 3600
    for f in data.rglob("*"):
        os.utime(f, (hour_ago, hour_ago))
    return data.resolve()


def test_a_run_plans_new_items_then_none_and_a_new_window_recuts_all(data, tmp_path):
    found = scan(data)
    assert sorted(str(i) for i, _ in found.items) == sorted(item_path(data, i) for i in ITEMS)
    assert set(found.hashes) == {str(i) for i, _ in found.items} and found.waiting == []
    lib = Library(tmp_path / "lib", create=True)
    run, results, summary = run_all(lib, data)
    assert run.config == IngestConfig() and (run.unchanged, run.recut) == (0, "")
    assert len(run.todo) == 3 and (summary.items, summary.clips) == (3, 3)
    assert lib.feature_key() == IngestConfig().feature_key()  # recorded by the commit
    again, _, summary = run_all(lib, data)
    assert again.todo == [] and again.unchanged == 3 and summary.unchanged == 3
    two = IngestConfig(clips=ClipConfig(window_s=2.0, stride_s=2.0, min_s=1.0))
    recut = plan_run(lib, scan(data / "mine"), two)  # only one folder given: all are re-cut
    assert recut.recut.startswith("window") and len(recut.todo) == 3 and recut.unchanged == 0


def test_items_being_written_wait_for_a_later_run(data, tmp_path):
    found = scan(data, min_age_s=7200)  # every file is an hour old
    assert found.items == [] and len(found.waiting) == 3 and found.hashes == {}
    assert len(scan(data, min_age_s=60).items) == 3


def test_a_result_whose_arrays_are_gone_is_computed_again(data, tmp_path):
    lib = Library(tmp_path / "lib", create=True)
    run, results, _ = run_all(lib, data)
    assert not any(arrays_gone(lib, r, run.config) for r in results)
    walk = next(r for r in results if r.sequences[0]["seq_id"] == "manifest/walk")
    lib.motion_path("manifest/walk").unlink()
    assert arrays_gone(lib, walk, run.config)
    assert len(plan_run(lib, scan(data)).todo) == 1  # nor is it taken as unchanged


def test_a_crashed_item_is_skipped_with_its_error_and_the_others_committed(data, tmp_path):
    lib = Library(tmp_path / "lib", create=True)
    with lib.lock():
        run = plan_run(lib, scan(data))
        (item, f), *rest = run.todo
        crashed = internal_error(item, f, run.hashes[item], ValueError("a bug"))
        assert (crashed.status, crashed.reason) == (
            "skipped",
            "internal error: ValueError('a bug')",
        )
        assert not arrays_gone(lib, crashed, run.config)  # nothing to recompute
        results = [process_item(Path(i), g, lib.root, run.config, run.hashes[i]) for i, g in rest]
        summary = commit_run(lib, run, [crashed, *results])
    assert summary.skipped == [(item, "internal error: ValueError('a bug')")]
    assert summary.clips == 2 and len(lib.clips()) == 2
