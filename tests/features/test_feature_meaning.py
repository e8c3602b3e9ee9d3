"""What the music feature columns mean, on signals whose answer is known by construction.

The taggers read these columns by name (the mode from chroma, accents from onsets and beats,
loudness from MFCC 0), so a column that holds the wrong thing mislabels every clip.
"""

from __future__ import annotations

import numpy as np
import pytest

from dancesearch.features.music import MUSIC_FEATURE_NAMES, MusicConfig, music_features

CONFIG = MusicConfig()
SR, HOP = CONFIG.sr, CONFIG.hop  # one feature frame = HOP samples = 1/30 s
CHROMA = slice(MUSIC_FEATURE_NAMES.index("chroma_C"), MUSIC_FEATURE_NAMES.index("chroma_B") + 1)


def column(feats: np.ndarray, name: str) -> np.ndarray:
    return feats[:, MUSIC_FEATURE_NAMES.index(name)]


def sine(hz: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def clicks_on_frames(frames: np.ndarray, seconds: float) -> np.ndarray:
    """Mono clicks (20 ms decaying 1 kHz bursts) starting exactly at the given feature frames."""
    y = np.zeros(int(seconds * SR), dtype=np.float32)
    t = np.arange(int(0.02 * SR)) / SR
    burst = (np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.004)).astype(np.float32)
    for frame in frames:
        y[frame * HOP : frame * HOP + len(burst)] += burst
    return y


@pytest.mark.parametrize(("hz", "pitch"), [(440.0, "A"), (261.63, "C"), (369.99, "Gb")])
def test_a_pure_tone_lights_its_own_chroma_column(hz: float, pitch: str) -> None:
    chroma = music_features(sine(hz, 3.0), CONFIG, 90)[:, CHROMA]
    names = [n.removeprefix("chroma_") for n in MUSIC_FEATURE_NAMES[CHROMA]]
    assert [names[i] for i in set(chroma.argmax(axis=1))] == [pitch]  # in every frame


def test_onset_peaks_and_beats_land_on_the_clicks() -> None:
    clicks = np.arange(15, 585, 15)  # 120 BPM: a click every 15 frames, from 0.5 s
    feats = music_features(clicks_on_frames(clicks, 20.0), CONFIG, 600)
    for name in ("onset_peak", "beat"):
        found = np.flatnonzero(column(feats, name))
        # every event lies within one frame of a click, and every click has its event
        assert np.abs(found[:, None] - clicks[None]).min(axis=1).max() <= 1, (name, found)
        assert np.abs(clicks[:, None] - found[None]).min(axis=1).max() <= 1, (name, found)
    envelope = column(feats, "onset_envelope")
    assert envelope[clicks + 1].mean() > 10 * np.median(envelope)  # the envelope spikes there


def test_mfcc_0_rises_with_loudness_and_only_it_changes() -> None:
    chord = sine(440.0, 3.0) + sine(660.0, 3.0, amplitude=0.15)
    mfcc = [music_features(gain * chord, CONFIG, 90)[:, :20] for gain in (0.1, 0.4, 1.6)]
    loudness = [m[:, 0].mean() for m in mfcc]
    assert loudness[0] + 50 < loudness[1] and loudness[1] + 50 < loudness[2]
    # a gain is a constant shift of the log-mel spectrum: the shape coefficients stay put
    np.testing.assert_allclose(mfcc[2][:, 1:], mfcc[0][:, 1:], atol=1e-2)
