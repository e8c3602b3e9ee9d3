"""The library's promises under the flows: the lock keeps a second writer out, a write that
fails or a process killed half-way leaves the old tables readable, and a good item turned bad
keeps its earlier data. Synthetic data only; each test works on its own library.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dancesearch.errors import LibraryError
from dancesearch.flows.annotate import annotate
from dancesearch.flows.ingest import ingest
from dancesearch.ingest import IngestConfig
from dancesearch.storage.library import TABLES, Library
from tests.fixtures.library_fixtures import (
    copy_library,
    half_write_then,
    hold_lock,
    item_path,
    snapshot,
    write_sources,
)

REPO = Path(__file__).resolve().parents[2]  # the child process imports this checkout


def tables(root: Path) -> dict[str, pd.DataFrame]:
    """The ingest tables of a library, rows in a fixed order."""
    lib = Library(root)
    frames = {name: lib.table(name) for name in TABLES}
    return {
        name: frame.sort_values(list(frame.columns[:1])).reset_index(drop=True)
        for name, frame in frames.items()
    }


def assert_same_tables(root: Path, expected: dict[str, pd.DataFrame]) -> None:
    for name, frame in tables(root).items():
        pd.testing.assert_frame_equal(frame, expected[name], obj=name)


# ------------------------------------------------------------------------------ the lock


def test_ingest_and_annotate_wait_then_fail_and_write_nothing_while_another_process_writes(
    synthetic, tmp_path, capsys
) -> None:
    root = copy_library(synthetic.library, tmp_path / "lib")
    shutil.rmtree(root / "annotations")  # work for both flows: annotations to write and
    Library(root).motion_path("finedance/002").unlink()  # a sequence to ingest again
    before = snapshot(root)
    holder = hold_lock(root, 60)
    try:
        with pytest.raises(LibraryError, match=rf"another process \(pid {holder.pid}\)"):
            ingest(str(synthetic.data), library=str(root), progress=False)
        with pytest.raises(LibraryError, match=rf"another process \(pid {holder.pid}\)"):
            annotate(library=str(root))
    finally:
        holder.kill()
        holder.wait()
    assert "waiting for" in capsys.readouterr().err
    assert snapshot(root) == before  # no table, no array, no annotation


# -------------------------------------------------------------- interrupted writes


def test_a_table_write_failing_half_way_keeps_the_old_table(synthetic, tmp_path, monkeypatch):
    root = copy_library(synthetic.library, tmp_path / "lib")
    expected = tables(root)
    key = IngestConfig().feature_key()
    Library(root).features_path("finedance/002", key).unlink()  # work to do, then a commit
    with monkeypatch.context() as m, pytest.raises(OSError, match="No space left"):
        m.setattr(pd.DataFrame, "to_parquet", half_write_then("clips.parquet", "raise"))
        ingest(str(synthetic.data), library=str(root), progress=False)
    assert_same_tables(root, expected)  # the old clips table, whole and readable
    again = ingest(str(synthetic.data), library=str(root), progress=False)
    assert again.skipped == []
    assert_same_tables(root, expected)
    assert Library(root).load_features("finedance/002", key)["music"].shape[1] == 35


KILLED_INGEST = """
import sys
import pandas as pd
from tests.fixtures.library_fixtures import half_write_then
pd.DataFrame.to_parquet = half_write_then("clips.parquet", "kill")
from dancesearch.flows.ingest import ingest
ingest(sys.argv[1], library=sys.argv[2], progress=False)
"""


def test_an_ingest_killed_while_writing_leaves_a_readable_library(
    synthetic, tmp_path, prefect_api_url
) -> None:
    root = copy_library(synthetic.library, tmp_path / "lib")
    expected = tables(root)
    # nothing changed, so the child goes straight to rewriting the tables: no feature work
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url, "PYTHONPATH": path}
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_INGEST, str(synthetic.data), str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    why = f"not killed writing clips.parquet (exit {proc.returncode}): {proc.stderr[-3000:]}"
    assert proc.returncode == -signal.SIGKILL, why
    assert_same_tables(root, expected)  # reopened: every table whole and as it was
    again = ingest(str(synthetic.data), library=str(root), progress=False)  # the lock is free
    assert again.skipped == []
    assert_same_tables(root, expected)


# ------------------------------------------------------------------ keeping good data


def test_a_good_item_turned_corrupt_keeps_its_data_and_is_reported_skipped(tmp_path) -> None:
    data = write_sources(tmp_path / "data")
    root = tmp_path / "lib"
    ingest(str(data), library=str(root), progress=False)
    expected = tables(root)
    lib = Library(root)
    key = IngestConfig().feature_key()
    paths = (lib.motion_path("finedance/002"), lib.features_path("finedance/002", key))
    arrays = {p: p.read_bytes() for p in paths}
    song = data / "finedance" / "music_wav" / "002.wav"
    song.write_bytes(np.random.default_rng(0).bytes(song.stat().st_size))
    summary = ingest(str(data), library=str(root), progress=False)
    item = item_path(data, "finedance/motion/002.npy")
    assert [i for i, _ in summary.skipped] == [item]
    assert "002.wav: cannot decode audio" in summary.skipped[0][1]
    assert summary.unchanged == 2
    assert_same_tables(root, expected)  # its clips, sequence and "ok" row are all kept
    assert {p: p.read_bytes() for p in arrays} == arrays
