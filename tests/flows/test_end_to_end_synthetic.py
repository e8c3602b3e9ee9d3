"""Ingest then annotate through the Prefect flows on synthetic data: runs without ../shared/data.

The session's library (tests/flows/conftest.py) is only read here; the test that deletes
arrays works on a copy.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from dancesearch.flows.ingest import ingest
from dancesearch.ingest import IngestConfig
from dancesearch.storage.library import Library
from tests.fixtures.library_fixtures import ITEMS, TAKE_FRAMES, copy_library, item_path, snapshot


def test_ingest_then_annotate_gives_searchable_clips(synthetic) -> None:
    summary, report = synthetic.summary, synthetic.report
    assert (summary.items, summary.sequences, summary.clips) == (3, 3, 3)
    assert summary.skipped == [] and summary.unreadable == []
    lib = Library(synthetic.library)
    clips = lib.clips().set_index("clip_id")
    assert sorted(clips.index) == sorted(f"{seq}@000000" for seq in ITEMS.values())
    items = lib.table("items").set_index("item")
    assert sorted(items.index) == sorted(item_path(synthetic.data, i) for i in ITEMS)
    assert (items["status"] == "ok").all()
    walk = clips.loc["manifest/walk@000000"]
    assert (walk["genre"], walk["performer"], walk["licence"]) == ("waltz", "Ann", "CC BY 4.0")
    assert json.loads(walk["descriptions"]) == ["a calm walk forward"]
    assert clips.loc["finedance/001@000000", "n_frames"] == TAKE_FRAMES
    key = IngestConfig().feature_key()
    for seq_id, clip in clips.groupby("seq_id"):
        features = lib.load_features(str(seq_id), key)
        n_frames = lib.load_motion(str(seq_id)).shape[0]
        assert features["music"].shape == (n_frames, 35)
        assert features["motion"].shape[0] == n_frames
        assert clip["has_music"].all()
    # annotate: every clip tagged, captioned (the manifest's caption kept) and in a split
    assert report.clips == 3
    tags, captions = lib.table("tags"), lib.table("captions")
    assert set(tags["clip_id"]) == set(clips.index) == set(captions["clip_id"])
    human = captions[captions["source"] == "human"]
    assert list(human["caption"]) == ["a calm walk forward"]
    splits = lib.table("splits").set_index("seq_id")["split"]
    assert set(splits.index) == set(ITEMS.values()) and set(splits) <= {"train", "val", "test"}
    # FineDance's official cross-genre split is kept: 001 is a test id in the fixture's splits
    assert splits["finedance/001"] == "test" and splits["finedance/002"] == "train"


def test_deleted_arrays_are_recomputed_for_that_item_alone(synthetic, tmp_path) -> None:
    root = copy_library(synthetic.library, tmp_path / "lib")
    lib = Library(root)
    key = IngestConfig().feature_key()
    gone = "finedance/002"
    before = snapshot(root)
    lib.motion_path(gone).unlink()
    summary = ingest(str(synthetic.data), library=str(root), progress=False)
    # Prefect's cache still holds this item's result; its arrays must come back all the same
    assert (summary.unchanged, summary.sequences, summary.clips) == (2, 1, 1)
    assert summary.skipped == []
    assert lib.load_motion(gone).shape == (TAKE_FRAMES, 22, 3)
    original = Library(synthetic.library).load_motion(gone)
    np.testing.assert_array_equal(lib.load_motion(gone), original)
    after = snapshot(root)
    for seq_id in ("finedance/001", "manifest/walk"):  # the others are not rewritten
        for path in (lib.motion_path(seq_id), lib.features_path(seq_id, key)):
            rel = str(path.relative_to(root))
            assert after[rel] == before[rel]
    pd.testing.assert_frame_equal(
        Library(synthetic.library).clips().sort_values("clip_id").reset_index(drop=True),
        lib.clips().sort_values("clip_id").reset_index(drop=True),
    )
