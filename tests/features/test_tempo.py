"""Clip tempo: off the frame grid, octave and 3:2 errors of the tracker corrected, NaN when
there is nothing to measure. Envelopes are synthetic pulse trains at 30 frames/s; beats are
true beat times rounded to the frame grid, as a tracker on stored features gives them."""

from __future__ import annotations

import numpy as np
import pytest

from dancesearch.features.tempo import beat_period, clip_tempo, periodicity

FPS = 30.0
SECONDS = 12.0


def envelope(bpm: float, accents: list[float], per_beat: int = 1, noise: float = 0.0) -> np.ndarray:
    """(360,) onset envelope: a bump every 1 / per_beat beat, strengths cycling `accents`.

    Bumps are Gaussians at their exact (fractional) frame, so a tempo between grid values
    is in the signal. noise: uniform noise of this height, seeded.
    """
    t = np.arange(int(SECONDS * FPS)) / FPS
    env = np.zeros_like(t)
    onsets = np.arange(0.2, SECONDS, 60.0 / bpm / per_beat)
    for i, onset in enumerate(onsets):
        env += accents[i % len(accents)] * np.exp(-0.5 * ((t - onset) * FPS / 0.7) ** 2)
    return env + noise * np.random.default_rng(0).random(len(t))


def tracked(bpm: float) -> np.ndarray:
    """Beat times every 60 / bpm s from 0.2 s, rounded to the 30 frames/s grid."""
    return np.round(np.arange(0.2, SECONDS, 60.0 / bpm) * FPS) / FPS


@pytest.mark.parametrize("bpm", [84.0, 104.0, 126.0])
@pytest.mark.parametrize("tracker_rate", [0.5, 1.0, 2.0])
def test_click_track_reads_its_tempo(bpm: float, tracker_rate: float) -> None:
    # a tracker at half or twice the pulse is corrected: a pulse with nothing between its
    # beats is not doubled, and every other tracked beat silent means the tracker is fast
    bpm_read = clip_tempo(envelope(bpm, [1.0]), tracked(bpm * tracker_rate), FPS)
    assert bpm_read == pytest.approx(bpm, rel=0.01)


def test_tracker_on_silent_offbeats_is_halved() -> None:
    # a slow even pulse that a tracker follows at twice its rate: every other tracked beat
    # falls on silence, so 132 is no level of the music even though it is nearer 105
    assert clip_tempo(envelope(66.0, [1.0]), tracked(132.0), FPS) == pytest.approx(66, rel=0.01)


@pytest.mark.parametrize("tracker_bpm", [86.0, 172.0, 129.0])
def test_waltz_with_eighth_fillers(tracker_bpm: float) -> None:
    # 3/4 at 86 BPM: strong downbeat, beats 2 and 3, weak eighths between. A tracker on the
    # quarters, on the eighths (double tempo), or two per bar (3:2 grid) all read 86.
    env = envelope(86.0, [1.0, 0.25, 0.5, 0.25, 0.5, 0.25], per_beat=2)
    assert clip_tempo(env, tracked(tracker_bpm), FPS) == pytest.approx(86.0, rel=0.01)


def test_weaker_eighths_are_not_doubled() -> None:
    # 84 BPM quarters with eighths at 40 %: the eighth level exists but is not the beat
    env = envelope(84.0, [1.0, 0.4], per_beat=2)
    assert clip_tempo(env, tracked(84.0), FPS) == pytest.approx(84.0, rel=0.01)
    # ... whereas a tracker at half of an even 120 BPM pulse is doubled
    assert clip_tempo(envelope(120.0, [1.0]), tracked(60.0), FPS) == pytest.approx(120, rel=0.01)


@pytest.mark.parametrize("bpm", [87.3, 93.1, 121.7])
def test_tempo_between_grid_values(bpm: float) -> None:
    # at 30 frames/s whole-frame beat intervals near 87.3 BPM give 85.7 or 90.0 only
    env = envelope(bpm, [1.0, 0.5, 0.5])
    assert abs(clip_tempo(env, tracked(bpm), FPS) - bpm) < 0.5


def test_noise_and_a_skipped_beat() -> None:
    beats = np.delete(tracked(104.0), 7)  # the tracker skipped one
    assert beat_period(beats) == pytest.approx(60.0 / 104.0, rel=0.005)
    env = envelope(104.0, [1.0, 0.6, 0.8, 0.6], noise=0.3)
    assert clip_tempo(env, beats, FPS) == pytest.approx(104.0, rel=0.01)


def test_nothing_to_measure_is_nan() -> None:
    env = envelope(100.0, [1.0])
    assert np.isnan(clip_tempo(np.zeros(360), tracked(100.0), FPS))  # silence
    assert np.isnan(clip_tempo(env, tracked(100.0)[:3], FPS))  # too few beats
    assert np.isnan(clip_tempo(env, np.zeros(0), FPS))
    assert np.isnan(clip_tempo(env, tracked(100.0) + SECONDS, FPS))  # all outside the clip
    assert np.isnan(beat_period(np.array([0.1, 0.7, 1.3])))


def test_periodicity_measures_repetition() -> None:
    env = envelope(90.0, [1.0])
    period = FPS * 60.0 / 90.0
    assert periodicity(env, period, 90.0) > 0.8
    assert periodicity(env, period / 2, 90.0, odd_only=True) < 0.0  # nothing between beats
    assert np.isnan(periodicity(np.ones(360), period, 90.0))
    assert np.isnan(periodicity(env, 200.0, 90.0))  # no tooth within the horizon
