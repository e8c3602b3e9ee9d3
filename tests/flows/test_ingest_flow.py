"""The ingest flow end to end on real m2d dances: library contents, idempotence, bad items."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dancesearch.clips import ClipConfig
from dancesearch.flows.ingest import ingest
from dancesearch.ingest import IngestConfig
from dancesearch.storage.library import Library

DANCES = ("DANCE_C_8", "DANCE_W_24")  # 50.8 s and 38.8 s: short, to keep the suite fast


def subset(data: Path, root: Path, names=DANCES) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).symlink_to(data / "m2d" / name)
    return root


@pytest.fixture(scope="module")
def ingested(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ingest")
    src = subset(data, tmp / "m2d")
    broken = tmp / "m2d" / "DANCE_W_99"  # a corrupt song among good dances
    shutil.copytree(data / "m2d" / "DANCE_W_24", broken)
    (broken / "audio.mp3").write_bytes(np.random.default_rng(0).bytes(50_000))
    summary = ingest(str(src), fmt="m2d", library=str(tmp / "lib"), progress=False)
    return src, tmp / "lib", summary


def test_library_holds_clips_with_aligned_music_and_motion(ingested):
    _, lib_root, summary = ingested
    lib = Library(lib_root)
    clips = lib.clips()
    # 50.8 s -> 4 windows of 12 s + a 2.8-s tail clip; 38.8 s -> 3 windows + a 2.8-s tail clip
    assert summary.sequences == 2 and summary.clips == 9 == len(clips)
    assert clips["has_music"].all() and set(clips["genre"]) == {"cha-cha", "waltz"}
    assert clips["clip_id"].is_unique
    config = IngestConfig()
    for _, clip in clips.iterrows():
        feats = lib.load_features(clip["seq_id"], config.feature_key())
        assert feats["music"].shape[0] == feats["motion"].shape[0] == lib.load_motion(clip["seq_id"]).shape[0]
        assert 60 < clip["bpm"] < 260
    first = clips[clips["clip_id"] == "m2d/DANCE_W_24@000360"].iloc[0]
    assert first["music_start_s"] == pytest.approx(134 / 25 + 12.0)  # config offset + 12 s


def test_a_bad_item_is_skipped_with_its_reason_and_the_rest_survive(ingested):
    _, lib_root, summary = ingested
    (item, reason), = summary.skipped
    assert item.endswith("DANCE_W_99") and "audio.mp3" in reason
    items = Library(lib_root).table("items")
    assert set(items["status"]) == {"ok", "skipped"}


def test_rerun_is_idempotent_and_recomputes_only_what_changed(ingested, tmp_path):
    src, lib_root, _ = ingested
    before = Library(lib_root).clips().sort_values("clip_id").reset_index(drop=True)
    again = ingest(str(src), fmt="m2d", library=str(lib_root), progress=False)
    assert again.unchanged == 2 and again.clips == 0  # only the still-broken item is retried
    after = Library(lib_root).clips().sort_values("clip_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)


def test_other_windows_give_a_new_clip_set_not_a_mixed_one(ingested):
    src, lib_root, _ = ingested
    lib = Library(lib_root)
    config = IngestConfig(clips=ClipConfig(window_s=12, stride_s=6))
    summary = ingest(str(src), fmt="m2d", library=str(lib_root), config=config, progress=False)
    assert summary.unchanged == 0 and summary.sequences == 2
    starts = sorted(lib.clips().query("seq_id == 'm2d/DANCE_W_24'")["start_frame"])
    assert starts == [0, 180, 360, 540, 720, 900]  # 38.8 s with 6-s stride; 2.8 s tail dropped
    assert len(json.loads(lib.clips().iloc[0]["labels"])) > 0
