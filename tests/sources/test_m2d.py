import json
import shutil

import numpy as np
import pytest

from dancesearch.errors import SourceError
from dancesearch.skeleton import J
from dancesearch.sources import detect, m2d


@pytest.fixture
def dance(data, tmp_path):
    """A writable copy of one real m2d dance folder, to break in tests."""
    folder = tmp_path / "DANCE_W_8"
    shutil.copytree(data / "m2d" / "DANCE_W_8", folder)
    return folder


def test_reads_a_real_dance_synchronised_with_its_song(data):
    (seq,) = m2d.read(data / "m2d" / "DANCE_W_8")
    # README: 1400 frames at 25 FPS = 56.0 s; start_position 61 song frames
    assert seq.fps == 30.0 and abs(seq.duration - 56.0) < 0.05
    assert seq.music_offset == pytest.approx(61 / 25)
    assert seq.genre == "waltz" and seq.has_music and seq.seq_id == "m2d/DANCE_W_8"
    y = np.median(seq.joints[..., 1], axis=0)
    assert 0.75 < y[J["pelvis"]] < 1.1 and 1.2 < y[J["head"]] < 1.7
    assert y[J["left_foot"]] < y[J["left_ankle"]] < y[J["left_knee"]] < y[J["left_hip"]]
    thigh = np.linalg.norm(seq.joints[:, J["left_hip"]] - seq.joints[:, J["left_knee"]], axis=-1)
    assert 0.4 < np.median(thigh) < 0.55  # README: 48.6 cm
    assert "Tang" in seq.credit and seq.licence


def test_discover_and_detect(data):
    items = m2d.discover(data / "m2d")
    assert len(items) == 43  # README: 43 complete sequences
    assert detect(data / "m2d") == "m2d"


def test_truncated_json_names_the_file(dance):
    text = (dance / "skeletons.json").read_text()
    (dance / "skeletons.json").write_text(text[: len(text) // 2])
    with pytest.raises(SourceError, match=r"DANCE_W_8/skeletons.json: not valid JSON"):
        m2d.read(dance)


def test_nan_frames_are_rejected(dance):
    d = json.loads((dance / "skeletons.json").read_text())
    d["skeletons"][10][4][1] = float("nan")
    (dance / "skeletons.json").write_text(json.dumps(d))
    with pytest.raises(SourceError, match=r"DANCE_W_8.*1 frame\(s\) contain NaN"):
        m2d.read(dance)


def test_wrong_shape_is_rejected(dance):
    d = json.loads((dance / "skeletons.json").read_text())
    d["skeletons"] = [frame[:20] for frame in d["skeletons"]]
    (dance / "skeletons.json").write_text(json.dumps(d))
    with pytest.raises(SourceError, match=r"skeletons.json: 'skeletons' has shape \(1400, 20, 3\)"):
        m2d.read(dance)


def test_missing_song_is_rejected(dance):
    (dance / "audio.mp3").unlink()
    with pytest.raises(SourceError, match=r"audio.mp3: missing file"):
        m2d.read(dance)
