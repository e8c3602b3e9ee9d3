"""Tests of sources.bandai: names to labels, folder detection, and reading the dance take."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dancesearch.errors import SourceError
from dancesearch.skeleton import FPS, J
from dancesearch.sources import bandai
from tests.fixtures import bvh_fixtures as fx


def test_dance_short_reads_with_labels_and_credit(data: Path) -> None:
    [seq] = bandai.read(data / "bandai" / "dataset-1_dance-short_normal_001.bvh")
    assert seq.seq_id == "bandai/dataset-1_dance-short_normal_001" and seq.source == "bandai"
    assert seq.fps == FPS and seq.n_frames == 1901
    assert seq.duration == pytest.approx(63.37, abs=0.01)
    assert seq.labels == {
        "dataset": "dataset-1",
        "content": "dance-short",
        "style": "normal",
        "take": "001",
        "category": "dance",
    }
    assert seq.genre is None and seq.performer is None and seq.group == seq.seq_id
    assert seq.licence == "CC BY-NC 4.0"
    assert seq.credit.startswith("Motion data: Bandai Namco Research Motion Dataset (c) 2022")
    # centimetres became metres: the pelvis of a standing adult, not of a giant
    assert 0.7 < np.median(seq.joints[:, J["pelvis"], 1]) < 1.1


def test_moving_ground_node_is_composed(data: Path) -> None:
    # run files move joint_Root as well as Hips; the pelvis must travel at running speed
    [seq] = bandai.read(data / "bandai" / "dataset-1_run_normal_001.bvh")
    path = seq.joints[:, J["pelvis"], [0, 2]]
    speed = np.linalg.norm(path[-1] - path[0]) / seq.duration
    assert 1.5 < speed < 6.0


@pytest.mark.parametrize(
    ("name", "content", "style", "category"),
    [
        ("dataset-1_walk-back_musical_001.bvh", "walk-back", "musical", "non-dance"),
        ("dataset-1_run_not-confident_001.bvh", "run", "not-confident", "non-dance"),
        ("dataset-1_dance-long_normal_001.bvh", "dance-long", "normal", "dance"),
        (
            "dataset-2_raise-up-both-hands_active_002.bvh",
            "raise-up-both-hands",
            "active",
            "non-dance",
        ),  # fmt: skip
    ],
)
def test_labels_from_names(name: str, content: str, style: str, category: str) -> None:
    tags = bandai.labels(Path(name))
    assert (tags["content"], tags["style"], tags["category"]) == (content, style, category)
    assert tags["dataset"] == name.split("_")[0] and tags["take"] == name[-7:-4]


def test_misnamed_file_is_refused(tmp_path: Path) -> None:
    path = fx.write_cgspeed(tmp_path / "dataset-1_walk.bvh")
    with pytest.raises(SourceError, match="dataset-1_walk.bvh"):
        bandai.read(path)


def test_folder_detection(data: Path) -> None:
    folder = data / "bandai"
    assert bandai.looks_like(folder)
    assert len(bandai.discover(folder)) == 56
    assert not bandai.looks_like(data / "cmu")


def test_mixed_or_empty_folder_is_not_bandai(tmp_path: Path) -> None:
    assert not bandai.looks_like(tmp_path)
    with pytest.raises(SourceError, match="dataset-"):
        bandai.discover(tmp_path)
    fx.write_cgspeed(tmp_path / "dataset-1_walk_normal_001.bvh")
    assert bandai.looks_like(tmp_path)
    fx.write_cgspeed(tmp_path / "60_05.bvh")
    assert not bandai.looks_like(tmp_path)
