"""Descriptors: constructed motions, synthetic music features, a stored library, one real clip."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dancesearch.annotate.descriptors import (
    MOTION_DESCRIPTORS,
    MUSIC_DESCRIPTORS,
    beat_alignment,
    clip_descriptors,
    motion_descriptors,
    music_descriptors,
)
from dancesearch.annotate.pipeline import library_descriptors
from dancesearch.annotate.tagger import _leaves
from dancesearch.annotate.taxonomy import load_taxonomy
from dancesearch.features.music import MUSIC_FEATURE_NAMES
from dancesearch.storage.library import Library
from tests.fixtures import motions as fx

FPS = fx.FPS


def rotate_y(joints: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    x, y, z = joints[..., 0], joints[..., 1], joints[..., 2]
    return np.stack([c * x + s * z, y, -s * x + c * z], axis=-1).astype(np.float32)


def test_names_cover_the_taxonomy() -> None:
    named = {
        leaf["descriptor"]
        for tag in load_taxonomy().tags.values()
        if tag.rule is not None
        for leaf in _leaves(tag.rule)
    }
    measured = {*MOTION_DESCRIPTORS, *MUSIC_DESCRIPTORS}
    assert named <= measured
    assert set(motion_descriptors(fx.groove(), FPS)) == set(MOTION_DESCRIPTORS)


def test_invariant_to_place_and_facing() -> None:
    joints = fx.groove(seed=3)
    moved = rotate_y(joints, 2.1) + np.array([4.0, 0.0, -2.5], dtype=np.float32)
    a, b = motion_descriptors(joints, FPS), motion_descriptors(moved, FPS)
    for name in MOTION_DESCRIPTORS:
        if isinstance(a[name], str):
            assert a[name] == b[name], name
        else:
            assert b[name] == pytest.approx(a[name], rel=1e-3, abs=1e-4), name


def test_arms_only() -> None:
    d = motion_descriptors(fx.arms_only(), FPS)
    assert d["arm_raise_frac"] > 0.1  # overhead in part of each swing
    assert d["arm_wave"] > 0.2  # metres of up-down oscillation
    assert d["arm_isolation"] > 5
    assert d["step_rate"] == d["jump_count"] == d["spin_count"] == d["root_speed"] == 0


def test_sharp_and_smooth_versions_of_one_path() -> None:
    sharp, smooth = fx.arm_path(sharp=True), fx.arm_path(sharp=False)
    np.testing.assert_allclose(sharp[0], smooth[0], atol=1e-6)  # same key poses, same times
    d_sharp, d_smooth = motion_descriptors(sharp, FPS), motion_descriptors(smooth, FPS)
    assert d_sharp["sharpness"] > 3 * d_smooth["sharpness"]
    # the same path in the same time: the average speed barely differs
    assert d_sharp["arm_speed"] == pytest.approx(d_smooth["arm_speed"], rel=0.1)


def test_spin_in_place() -> None:
    d = motion_descriptors(fx.spin(turns_per_s=0.8), FPS)
    assert d["spin_count"] >= 2  # 3 turns in 4 s, 300 degrees each within 1.5 s
    assert d["yaw_rate"] == pytest.approx(0.8 * 360, rel=0.1)
    assert d["spread_m"] < 0.05 and d["root_speed"] < 0.05 and d["direction"] == "none"


def test_slow_turn_is_not_a_spin() -> None:
    d = motion_descriptors(fx.spin(turns_per_s=0.15), FPS)  # 54 deg/s: turning, no spin
    assert d["spin_count"] == 0 and d["yaw_rate"] > 45


@pytest.mark.parametrize(
    ("sideways", "heading", "expected"),
    [(False, 0.0, "forward"), (False, 0.7, "forward"), (True, 0.0, "sideways")],
)
def test_walking_in_a_line(sideways: bool, heading: float, expected: str) -> None:
    d = motion_descriptors(fx.walk(speed=0.8, heading=heading, sideways=sideways), FPS)
    assert d["direction"] == expected
    assert d["root_speed"] == pytest.approx(0.8, rel=0.05)
    assert d["step_rate"] == pytest.approx(2.0, abs=0.3)  # two placements per second
    assert d["yaw_rate"] < 5 and d["spin_count"] == 0 and d["jump_count"] == 0


def test_walking_backward() -> None:
    joints = fx.walk(speed=0.6)
    backward = joints[::-1].copy()  # the same body, played in reverse: it walks backward
    assert motion_descriptors(backward, FPS)["direction"] == "backward"


def test_jumps() -> None:
    d = motion_descriptors(fx.jumps(seconds=4.0, period_s=1.0), FPS)
    assert d["jump_count"] == 4
    assert d["height_range_m"] > 0.2
    assert motion_descriptors(fx.walk(), FPS)["jump_count"] == 0  # swinging one foot is not


def test_short_noisy_clip() -> None:
    """Two seconds with 5 mm marker jitter: finite values, no phantom events."""
    rng = np.random.default_rng(0)
    for clip in (fx.standing(2.0), fx.walk(2.0)):
        noisy = clip + rng.normal(0, 0.005, clip.shape).astype(np.float32)
        d = motion_descriptors(noisy, FPS)
        assert all(isinstance(v, str) or math.isfinite(v) for v in d.values())
        assert d["jump_count"] == d["spin_count"] == d["kick_count"] == 0
    still = motion_descriptors(fx.standing(2.0) + rng.normal(0, 0.005, (60, 22, 3)), FPS)
    assert still["step_rate"] == 0 and still["root_speed"] < 0.05


def test_hold_is_a_steady_raised_frame() -> None:
    n = 120
    arms = np.zeros((n, 2, 3))
    arms[:, :, 0] = 1.3  # upper arms out near shoulder height
    arms[:, :, 1] = 0.4  # a little forward
    arms[:, :, 2] = 0.9  # elbows bent: the ballroom frame
    held = fx.pose(n, arms=arms, yaw=np.linspace(0, 3, n))  # turning with the partner
    assert motion_descriptors(held, FPS)["hold_frac"] > 0.9
    assert motion_descriptors(fx.arms_only(), FPS)["hold_frac"] < 0.3


# ----------------------------------------------------------------------------------- music
def music_array(seconds: float, beats_s: np.ndarray, offbeat: float = 0.0) -> np.ndarray:
    """(T, 35) features: onsets on the beats (and `offbeat` strength midway), C major chroma."""
    n = int(round(seconds * FPS))
    music = np.zeros((n, len(MUSIC_FEATURE_NAMES)), dtype=np.float32)
    music[:, 0] = -200.0
    music[:, 1] = 100.0  # a dark spectrum: MFCC 1 high
    music[:, 20 + np.array([0, 4, 7])] = 1.0  # C, E, G
    music[:, 32] = 0.1
    for b in beats_s:
        music[int(round(b * FPS)), 32] = 5.0
        music[int(round(b * FPS)), 33:35] = 1.0
    for m in beats_s[:-1] + np.diff(beats_s) / 2:
        music[int(round(m * FPS)), 32] = max(0.1, 5.0 * offbeat)
    return music


def test_steady_beats() -> None:
    beats = np.arange(0.2, 10.0, 0.5)  # 120 BPM
    d = music_descriptors(music_array(10.0, beats), beats, 120.0, FPS)
    assert set(d) | {"beat_alignment"} == set(MUSIC_DESCRIPTORS)
    assert d["bpm"] == 120.0 and d["beat_cv"] < 0.01
    assert d["onset_density"] == pytest.approx(len(beats) / 10.0)
    assert d["major_minor"] > 0  # a C major triad leans major
    assert d["brightness"] == -100.0
    jittered = beats + np.random.default_rng(1).normal(0, 0.05, len(beats))
    assert music_descriptors(music_array(10.0, beats), jittered, 120.0, FPS)["beat_cv"] > 0.04


def test_syncopation_and_swing() -> None:
    beats = np.arange(0.2, 10.0, 0.6)
    plain = music_descriptors(music_array(10.0, beats), beats, 100.0, FPS)
    offbeat = music_descriptors(music_array(10.0, beats, offbeat=1.0), beats, 100.0, FPS)
    assert offbeat["syncopation"] > 0.8 > 0.1 > plain["syncopation"]
    swung = music_array(10.0, beats)
    for b in beats[:-1] + 0.6 * 2 / 3:
        swung[int(round(b * FPS)), 32] = 4.0
    assert music_descriptors(swung, beats, 100.0, FPS)["swing"] > 5
    assert offbeat["swing"] < 0.5


def test_minor_chroma_and_silence() -> None:
    beats = np.arange(0.2, 6.0, 0.5)
    minor = music_array(6.0, beats)
    minor[:, 20:32] = 0.0
    minor[:, 20 + np.array([9, 0, 4])] = 1.0  # A, C, E: A minor
    assert music_descriptors(minor, beats, 120.0, FPS)["major_minor"] < 0
    silent = music_descriptors(np.zeros((180, 35)), np.zeros(0), 0.0, FPS)
    assert all(math.isnan(v) for k, v in silent.items() if k not in ("brightness", "onset_density"))


def test_beat_alignment() -> None:
    beats = np.arange(0.25, 8.0, 0.5)
    on = beat_alignment(fx.beat_arms(beats, 8.0), FPS, beats)
    off = beat_alignment(fx.beat_arms(beats, 8.0, shift_s=0.25), FPS, beats)
    assert on > 1.8  # every stop on a beat; chance is 7 frames of 15
    assert off < 0.5
    assert math.isnan(beat_alignment(fx.beat_arms(beats, 8.0), FPS, beats[:3]))


# ----------------------------------------------------------------------------------- library
def test_library_clips(tmp_path: Path) -> None:
    lib = Library(tmp_path / "lib", create=True)
    joints = np.concatenate([fx.walk(4.0), fx.spin(4.0)])
    beats = np.arange(0.1, 8.0, 0.5)
    music = music_array(8.0, beats)
    lib.save_motion("t/a", joints)
    lib.save_features("t/a", "k", motion=np.zeros((240, 1)), music=music, beats=beats)
    lib.save_motion("t/b", fx.jumps(3.0))
    lib.save_features("t/b", "k", motion=np.zeros((90, 1)))
    clips = pd.DataFrame(
        {
            "clip_id": ["t/a@000000", "t/a@000120", "t/b@000000"],
            "seq_id": ["t/a", "t/a", "t/b"],
            "start_frame": [0, 120, 0],
            "n_frames": [120, 120, 90],
            "has_music": [True, True, False],
            "bpm": [120.0, 120.0, None],
        }
    )
    frame = library_descriptors(lib, clips, "k")
    assert list(frame["clip_id"]) == list(clips["clip_id"])
    walk_row, spin_row, jump_row = frame.to_dict("records")
    assert walk_row["direction"] == "forward" and spin_row["spin_count"] >= 2
    assert jump_row["jump_count"] >= 2 and math.isnan(jump_row["bpm"])
    # the second clip's beats are shifted to its own start
    one = clip_descriptors(joints[120:240], FPS, music[120:240], beats - 4.0, 120.0)
    assert one["onset_density"] == pytest.approx(8 / 4.0)
    assert one == pytest.approx({k: v for k, v in spin_row.items() if k != "clip_id"}, nan_ok=True)


def test_real_ballroom_hold(data: Path) -> None:
    """m2d: the waltz is danced in a closed hold, the rumba mostly open."""
    from dancesearch.sources import m2d

    holds = {}
    for name in ("DANCE_W_1", "DANCE_R_2"):
        folder = data / "m2d" / name
        if not folder.is_dir():
            pytest.skip(f"{folder} not found")
        (seq,) = m2d.read(folder)
        holds[name] = motion_descriptors(seq.joints[:360], seq.fps)["hold_frac"]
    assert holds["DANCE_W_1"] > 0.6 > 0.2 > holds["DANCE_R_2"]


# ----------------------------------------------------------------------------- tagger v2
def _travelled(joints: np.ndarray, speed_m_s: float) -> np.ndarray:
    """The same motion carried across the floor at a steady speed (a moving walkway)."""
    shift = np.zeros((len(joints), 1, 3), dtype=np.float32)
    shift[:, 0, 2] = speed_m_s * np.arange(len(joints)) / FPS
    return joints + shift


def test_intensity_ignores_travel_and_turning() -> None:
    """Body speed is the body's own work: carrying or turning it changes nothing."""
    arms = fx.arms_only()
    still = motion_descriptors(arms, FPS)
    carried = motion_descriptors(_travelled(arms, 2.0), FPS)
    assert carried["joint_speed"] > still["joint_speed"] + 1.5  # the world frame sees the ride
    assert carried["body_speed"] == pytest.approx(still["body_speed"], rel=0.02)
    spun = motion_descriptors(fx.spin(turns_per_s=0.8), FPS)
    assert spun["body_speed"] < 0.05 < spun["joint_speed"]  # a rigid turn is not effort


def test_intensity_rises_with_the_speed_of_the_same_movement() -> None:
    slow, fast = (motion_descriptors(fx.arms_only(hz=hz), FPS) for hz in (0.4, 1.2))
    assert fast["body_speed"] == pytest.approx(3 * slow["body_speed"], rel=0.1)


def test_intensity_is_in_body_lengths() -> None:
    """A body scaled to robot size (G1, 0.8x) doing the same movement reads the same."""
    arms = fx.arms_only()
    small = arms * np.float32(0.8)
    assert motion_descriptors(small, FPS)["body_speed"] == pytest.approx(
        motion_descriptors(arms, FPS)["body_speed"], rel=0.02
    )


def test_sharpness_holds_across_rigs() -> None:
    """Robot-retarget-like jitter above 6 Hz barely moves sharpness; travel does not count."""
    sharp, smooth = fx.arm_path(sharp=True), fx.arm_path(sharp=False)
    t = np.arange(len(smooth)) / FPS
    jitter = (0.004 * np.sin(2 * np.pi * 9.0 * t)).astype(np.float32)[:, None, None]
    base = motion_descriptors(smooth, FPS)["sharpness"]
    assert motion_descriptors(smooth + jitter, FPS)["sharpness"] == pytest.approx(base, rel=0.15)
    assert motion_descriptors(_travelled(smooth, 1.5), FPS)["sharpness"] == pytest.approx(
        base, rel=0.02
    )
    assert motion_descriptors(sharp + jitter, FPS)["sharpness"] > 2 * base


def test_sideways_is_travel_to_the_side_of_the_body() -> None:
    """Side steps read sideways; walking forward towards the room's left is forward."""
    side = motion_descriptors(fx.walk(sideways=True), FPS)
    towards_left = motion_descriptors(fx.walk(heading=math.pi / 2), FPS)
    assert side["direction"] == "sideways" and towards_left["direction"] == "forward"


def _waving(seconds: float = 4.0, hz: float = 2.0, swing: float = 0.35) -> np.ndarray:
    """The right forearm held upright beside the head, swung side to side hz times a second."""
    joints = fx.standing(seconds).astype(np.float64)
    t = np.arange(len(joints)) / FPS
    elbow = joints[:, fx.J["right_shoulder"]] + np.array([-0.05, 0.05, 0.05])
    angle = swing * np.sin(2 * np.pi * hz * t)  # radians about the forward axis
    wrist = elbow + fx.FOREARM * np.stack([-np.sin(angle), np.cos(angle), 0 * t], axis=1)
    joints[:, fx.J["right_elbow"]], joints[:, fx.J["right_wrist"]] = elbow, wrist
    return joints.astype(np.float32)


def test_a_hand_wave() -> None:
    """An upright forearm swung side to side waves; held still, or swung once, it does not."""
    assert motion_descriptors(_waving(), FPS)["hand_wave_s"] >= 3.0
    assert motion_descriptors(_waving(swing=0.0), FPS)["hand_wave_s"] == 0
    assert motion_descriptors(_waving(hz=0.25), FPS)["hand_wave_s"] == 0  # too slow to be a wave
    for other in (fx.walk(), fx.arms_only(), fx.spin()):
        assert motion_descriptors(other, FPS)["hand_wave_s"] == 0


def test_clip_tempo_is_measured_off_the_grid_and_falls_back_to_the_song() -> None:
    """The clip's own beats decide its tempo (here 87.3 BPM, between two frame-grid values, and
    whatever the song-level figure says); with too few beats the song's figure stands."""
    beats = 0.2 + np.arange(17) * 60.0 / 87.3
    music = music_array(12.0, beats)
    assert music_descriptors(music, beats, 174.6, FPS)["bpm"] == pytest.approx(87.3, abs=0.5)
    assert music_descriptors(music, beats[:3], 88.0, FPS)["bpm"] == 88.0
    assert math.isnan(music_descriptors(music, beats[:3], 0.0, FPS)["bpm"])
