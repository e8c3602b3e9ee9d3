"""The ingest flow end to end on real m2d dances: library contents, idempotence, bad items.

The module's library is read-only; a test that ingests again does so into its own copy.
"""

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
from tests.fixtures.library_fixtures import copy_library, snapshot

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
    corrupt = tmp / "m2d" / "DANCE_W_98"  # a corrupt song among good dances
    shutil.copytree(data / "m2d" / "DANCE_W_24", corrupt)
    (corrupt / "audio.mp3").write_bytes(np.random.default_rng(0).bytes(50_000))
    short = tmp / "m2d" / "DANCE_W_99"  # a song cut short: 30 % of 90 s < 5.4 s + 38.8 s
    shutil.copytree(data / "m2d" / "DANCE_W_24", short)
    song = (short / "audio.mp3").read_bytes()
    (short / "audio.mp3").write_bytes(song[: len(song) * 3 // 10])
    summary = ingest(str(src), fmt="m2d", library=str(tmp / "lib"), progress=False)
    before = snapshot(tmp / "lib")
    yield src, tmp / "lib", summary
    assert snapshot(tmp / "lib") == before, "a test changed the module's library"


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
        n_frames = lib.load_motion(clip["seq_id"]).shape[0]
        assert feats["music"].shape[0] == feats["motion"].shape[0] == n_frames
        assert 60 < clip["bpm"] < 260
    first = clips[clips["clip_id"] == "m2d/DANCE_W_24@000360"].iloc[0]
    assert first["music_start_s"] == pytest.approx(134 / 25 + 12.0)  # config offset + 12 s


def test_bad_items_are_skipped_with_their_reasons_and_the_rest_survive(ingested):
    _, lib_root, summary = ingested
    reasons = dict(summary.skipped)
    assert sorted(Path(item).name for item in reasons) == ["DANCE_W_98", "DANCE_W_99"]
    corrupt, short = (reasons[i] for i in sorted(reasons))
    assert "DANCE_W_98/audio.mp3: cannot decode audio" in corrupt
    assert "DANCE_W_99/audio.mp3: music is" in short and "motion needs 5.4-44.1 s" in short
    items = Library(lib_root).table("items")
    assert sorted(items["status"]) == ["ok", "ok", "skipped", "skipped"]


def test_rerun_is_idempotent_and_recomputes_only_what_changed(ingested, tmp_path):
    src, original, _ = ingested
    lib_root = copy_library(original, tmp_path / "lib")
    before = Library(lib_root).clips().sort_values("clip_id").reset_index(drop=True)
    again = ingest(str(src), fmt="m2d", library=str(lib_root), progress=False)
    assert again.unchanged == 2 and again.clips == 0  # only the still-broken items are retried
    after = Library(lib_root).clips().sort_values("clip_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)


def test_other_windows_give_a_new_clip_set_not_a_mixed_one(ingested, tmp_path):
    src, original, _ = ingested
    lib_root = copy_library(original, tmp_path / "lib")
    lib = Library(lib_root)
    config = IngestConfig(clips=ClipConfig(window_s=12, stride_s=6))
    summary = ingest(str(src), fmt="m2d", library=str(lib_root), config=config, progress=False)
    assert summary.unchanged == 0 and summary.sequences == 2
    starts = sorted(lib.clips().query("seq_id == 'm2d/DANCE_W_24'")["start_frame"])
    assert starts == [0, 180, 360, 540, 720, 900]  # 38.8 s with 6-s stride; 2.8 s tail dropped
    assert len(json.loads(lib.clips().iloc[0]["labels"])) > 0


def test_a_changed_item_is_recomputed_alone(data, tmp_path):
    src = subset(data, tmp_path / "m2d", names=("DANCE_W_24",))
    shutil.copytree(data / "m2d" / "DANCE_C_8", src / "DANCE_C_8")
    lib = tmp_path / "lib"
    ingest(str(src), fmt="m2d", library=str(lib), progress=False)
    config = json.loads((src / "DANCE_C_8" / "config.json").read_text())
    config["start_position"] += 25  # the song now starts one second later
    (src / "DANCE_C_8" / "config.json").write_text(json.dumps(config))
    summary = ingest(str(src), fmt="m2d", library=str(lib), progress=False)
    assert summary.unchanged == 1 and summary.sequences == 1
    clip = Library(lib).clip("m2d/DANCE_C_8@000000")
    assert clip["music_start_s"] == pytest.approx(config["start_position"] / 25)
    assert len(Library(lib).clips()) == 9
