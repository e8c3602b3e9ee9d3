"""Measured descriptors of a clip's music: tempo, beat regularity, syncopation, swing, mode,
brightness and onset density, from the (T, 35) music features at the motion frame rate.

Pure functions over arrays; `descriptors.clip_descriptors` combines them with the motion ones.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d

from dancesearch.features.tempo import clip_tempo

# Measured only for clips with music (NaN otherwise); beat_alignment (in `descriptors`) also
# needs the motion.
MUSIC_DESCRIPTORS: tuple[str, ...] = (
    "bpm", "beat_cv", "syncopation", "swing", "major_minor", "brightness", "onset_density",
    "beat_alignment",
)  # fmt: skip

# Music feature columns (dancesearch.features.music.MUSIC_FEATURE_NAMES)
_MFCC, _CHROMA, _ENVELOPE, _PEAK = slice(0, 20), slice(20, 32), 32, 33
# Krumhansl-Kessler key profiles, tonic first (C major / C minor)
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def clip_beats(beats_s: np.ndarray, duration_s: float) -> np.ndarray:
    """The (B,) beat times, sorted, that fall inside a clip of duration_s seconds."""
    beats = np.sort(np.asarray(beats_s, dtype=np.float64).ravel())
    return beats[(beats >= 0) & (beats < duration_s)]


def _envelope_at(envelope: np.ndarray, times_s: np.ndarray, fps: float) -> np.ndarray:
    """Onset strength at times, the largest within one frame (beats sit on the frame grid,
    onsets can land a frame either side)."""
    peak = maximum_filter1d(envelope, size=3, mode="nearest")
    idx = np.clip(np.round(times_s * fps).astype(int), 0, len(envelope) - 1)
    return peak[idx]


def _key_correlation(chroma: np.ndarray, profile: np.ndarray) -> float:
    """Largest Pearson correlation of a (12,) chroma with the profile in all 12 keys."""
    keys = np.stack([np.roll(profile, k) for k in range(12)])  # (12 keys, 12 pitch classes)
    keys = keys - keys.mean(axis=1, keepdims=True)
    c = chroma - chroma.mean()
    r = keys @ c / (np.linalg.norm(keys, axis=1) * np.linalg.norm(c))
    return float(r.max())


def music_descriptors(
    music: np.ndarray, beats_s: np.ndarray, bpm: float, fps: float
) -> dict[str, float]:
    """Descriptors of one clip's music (MUSIC_DESCRIPTORS but beat_alignment). NaN where the
    clip cannot tell (silence, fewer than 3 beats).

    music: (T, 35) features at fps, columns as MUSIC_FEATURE_NAMES; beats_s: (B,) beat times in
    seconds from the clip's first frame (beats outside the clip are ignored); bpm: the song's
    tempo, beats per minute, used when the clip alone cannot tell.
      bpm            beats per minute of this clip: `features.tempo.clip_tempo` over its onset
                     envelope and beats (off the frame grid, octave-corrected without
                     knowing the genre); the given bpm when the clip has fewer than 4 beats;
                     NaN when neither is positive
      beat_cv        standard deviation / mean of the inter-beat intervals
      syncopation    mean onset strength at the midpoints between beats / at the beats
      swing          mean onset strength at 2/3 of each beat interval / at 1/2 of it (the
                     denominator floored at 10 % of the clip's mean strength, so a silent
                     half-beat does not divide by zero)
      major_minor    best Krumhansl-Kessler major-key correlation of the mean chroma minus the
                     best minor-key one, in [-2, 2]; > 0 leans major
      brightness     -mean(MFCC 1): MFCC 1 weighs the low mel bands against the high ones, so
                     minus it grows with the share of high-frequency energy (in MFCC units)
      onset_density  onset peaks per second
    """
    music = np.asarray(music, dtype=np.float64)
    if music.ndim != 2 or music.shape[1] != 35:
        raise ValueError(f"music has shape {music.shape}, expected (T, 35)")
    nan = float("nan")
    duration = len(music) / fps
    beats = clip_beats(beats_s, duration)
    envelope = music[:, _ENVELOPE]
    out = {name: nan for name in MUSIC_DESCRIPTORS if name != "beat_alignment"}
    given = float(bpm) if bpm is not None and np.isfinite(bpm) and bpm > 0 else nan
    measured = clip_tempo(envelope, beats, fps) if len(music) else nan
    out["bpm"] = measured if np.isfinite(measured) else given
    if len(music) == 0:
        return out
    out["onset_density"] = float((music[:, _PEAK] > 0.5).sum() / duration)
    out["brightness"] = float(-music[:, _MFCC][:, 1].mean())
    chroma = music[:, _CHROMA].mean(axis=0)
    if chroma.std() > 1e-9:  # silence has no harmony
        out["major_minor"] = _key_correlation(chroma, _KK_MAJOR) - _key_correlation(
            chroma, _KK_MINOR
        )
    if len(beats) >= 3:
        ibi = np.diff(beats)
        out["beat_cv"] = float(ibi.std() / ibi.mean())
        on = _envelope_at(envelope, beats, fps).mean()
        half = _envelope_at(envelope, beats[:-1] + ibi / 2, fps).mean()
        two_thirds = _envelope_at(envelope, beats[:-1] + 2 * ibi / 3, fps).mean()
        if on > 1e-9:
            out["syncopation"] = float(half / on)
        floor = 0.1 * envelope.mean()
        if floor > 1e-9:
            out["swing"] = float(two_thirds / max(half, floor))
    return out
