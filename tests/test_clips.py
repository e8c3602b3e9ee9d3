from pathlib import Path

import numpy as np
import pytest

from dancesearch.clips import ClipConfig, clip_id, segment, window_starts
from dancesearch.errors import ConfigError
from dancesearch.skeleton import Sequence


def walking(n_frames: int) -> np.ndarray:
    """(T, 22, 3) a crude body swinging its limbs, so no window is static."""
    t = np.arange(n_frames)[:, None] / 30.0
    rest = np.zeros((22, 3), np.float32)
    rest[:, 1] = np.linspace(0.05, 1.6, 22)
    joints = np.repeat(rest[None], n_frames, axis=0)
    joints[:, :, 0] += 0.2 * np.sin(2 * np.pi * t) * (np.arange(22) % 3)
    return joints.astype(np.float32)


def seq(n_frames: int, joints: np.ndarray | None = None) -> Sequence:
    j = walking(n_frames) if joints is None else joints
    return Sequence("test/a", "test", Path(__file__), j, 30.0, ("exact",) * 22)


def test_windows_cover_the_take_with_a_short_tail():
    cfg = ClipConfig(window_s=12, stride_s=12, min_s=2)
    assert window_starts(30 * 30, cfg) == [(0, 360), (360, 360), (720, 180)]
    assert window_starts(30 * 25, cfg) == [(0, 360), (360, 360)]  # 1-s tail < 2 s min
    assert window_starts(30 * 5, cfg) == [(0, 150)]  # a short take is one clip, true length
    assert window_starts(30, cfg) == []  # under the minimum
    assert window_starts(30 * 24, ClipConfig(stride_s=6))[:3] == [(0, 360), (180, 360), (360, 360)]


def test_segment_ids_are_stable_and_drops_are_counted():
    clips, dropped = segment(seq(30 * 24 + 20), ClipConfig())
    assert [c.clip_id for c in clips] == [clip_id("test/a", 0), clip_id("test/a", 360)]
    assert dropped == {"tail shorter than 1 s": 1}
    again, _ = segment(seq(30 * 24 + 20), ClipConfig())
    assert [c.clip_id for c in again] == [c.clip_id for c in clips]
    assert all(not c.has_music and c.music_start_s is None for c in clips)


def test_static_windows_are_dropped_by_reason():
    joints = walking(30 * 24)
    joints[360:] = joints[360]  # the second window freezes
    clips, dropped = segment(seq(30 * 24, joints), ClipConfig())
    assert [c.start_frame for c in clips] == [0]
    assert dropped["static"] == 1


def test_bad_clip_config_is_a_config_error():
    with pytest.raises(ConfigError):
        ClipConfig(window_s=0)
    with pytest.raises(ConfigError):
        ClipConfig(min_s=20)


def test_each_clip_plays_the_music_under_its_own_frames():
    # frame f plays music_offset + f / 30 s of the song; a clip starting at frame 360 of a take
    # whose song starts 5.36 s in hears 17.36 s onwards
    take = seq(30 * 30)
    with_music = Sequence(**{**vars(take), "music_path": Path("song.wav"), "music_offset": 5.36})
    clips, _ = segment(with_music, ClipConfig(window_s=12, stride_s=6))
    assert [c.start_frame for c in clips] == [0, 180, 360, 540, 720]
    for clip in clips:
        assert clip.has_music and clip.music_path == "song.wav"
        assert clip.music_start_s == pytest.approx(5.36 + clip.start_frame / 30)
