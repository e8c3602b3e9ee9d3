"""Tempo of a music clip from its onset envelope and tracked beats, genre-blind and off-grid.

Owns two corrections to a beat tracker's tempo: the metrical level (a tracker often locks
onto the eighth notes of a slow waltz, or onto a 3:2 grid) and the resolution (a median of
whole-frame beat intervals at 30 frames/s can only say 85.7 or 90 BPM, never 87).
"""

from __future__ import annotations

import numpy as np


def beat_period(beats_s: np.ndarray, min_beats: int = 4) -> float:
    """Sub-frame beat period of tracked beats: least squares over their beat numbers.

    beats_s: (B,) beat times in seconds, increasing.
    min_beats: fewer beats than this give NaN.
    Returns the period in seconds: the slope of the line through (beat number, time), where
    a beat's number counts whole median intervals from the first, so a skipped beat keeps
    its place. The line averages out the frame-grid rounding of every beat (at 30 frames/s
    each is off by up to 17 ms; the slope through 16 of them is good to about 0.1 %).
    """
    beats = np.asarray(beats_s, dtype=np.float64)
    if len(beats) < min_beats:
        return float("nan")
    gaps = np.diff(beats)
    typical = float(np.median(gaps))
    if not typical > 0:
        return float("nan")
    # Beats closer than half a period share a number; the line needs distinct numbers.
    number = np.concatenate([[0.0], np.cumsum(np.maximum(np.round(gaps / typical), 1.0))])
    slope, intercept = np.polyfit(number, beats, 1)
    # Refit once without beats the tracker put more than a quarter period off the line.
    keep = np.abs(beats - (intercept + slope * number)) < 0.25 * slope
    if keep.sum() >= min_beats and not keep.all():
        slope = np.polyfit(number[keep], beats[keep], 1)[0]
    return float(slope)


def periodicity(
    envelope: np.ndarray,
    period_frames: float,
    horizon_frames: float,
    odd_only: bool = False,
    search: float = 0.03,
) -> float:
    """How regularly the envelope repeats with a period: a comb of autocorrelations.

    envelope: (T,) onset strength, any scale.
    period_frames: the period in frames, fractional (shifted copies are interpolated).
    horizon_frames: the comb's teeth are the lags period, 2 period, 3 period, ... up to this
        lag; a pulse repeats at every multiple of its period, so each is evidence for it.
    odd_only: keep only the odd teeth (period, 3 period, ...): the lags at which a pulse of
        this period repeats but a pulse of twice the period does not, i.e. the evidence that
        something sounds between the beats of the slower pulse.
    search: the comb is also stretched by up to +- this share and the best stretch is kept,
        so a period slightly off the envelope's own still finds its peaks.
    Returns the mean normalised autocorrelation over the teeth, in [-1, 1]: ~1 for a pulse
    train of that period, ~0 for none; NaN when the envelope is flat or no tooth fits
    within the horizon while leaving two periods of overlap.
    """
    e = np.asarray(envelope, dtype=np.float64)
    e = e - e.mean()
    power = float(np.mean(e**2))
    n = len(e)
    if power <= 1e-12 or not period_frames > 0:
        return float("nan")
    step = 2 if odd_only else 1
    teeth = np.arange(1, int(horizon_frames / period_frames) + 1, step) * period_frames
    teeth = teeth[n - teeth * (1 + search) >= 2 * period_frames]
    if len(teeth) == 0:
        return float("nan")
    frames = np.arange(n, dtype=np.float64)
    best = -np.inf
    for stretch in 1 + np.linspace(-search, search, 7):
        values = []
        for lag in teeth * stretch:
            t = frames[frames + lag <= n - 1]
            values.append(float(np.mean(e[: len(t)] * np.interp(t + lag, frames, e))) / power)
        best = max(best, float(np.mean(values)))
    return best


def clip_tempo(
    envelope: np.ndarray,
    beats_s: np.ndarray,
    fps: float,
    preferred_bpm: float = 105.0,
    support: float = 0.5,
    horizon_s: float = 3.0,
    min_bpm: float = 40.0,
    max_bpm: float = 240.0,
    min_beats: int = 4,
) -> float:
    """Tempo of one clip in beats per minute, its metrical level chosen from evidence.

    envelope: (T,) onset strength of the clip at fps frames per second (column 32,
        "onset_envelope", of the stored music features).
    beats_s: (B,) tracked beat times in seconds from the clip's first frame; beats outside
        [0, T / fps) are ignored.
    fps: frames per second of the envelope (30 for stored features).
    preferred_bpm: breaks the tie between two metrical levels the envelope both supports.
    support: the share of the tracked level's periodicity another level needs to count.
    horizon_s: the longest lag, seconds, at which periodicity is measured.
    min_bpm, max_bpm: levels outside this range are never returned.
    min_beats: fewer beats inside the clip than this give NaN.
    Returns the tempo in BPM, not on any grid; NaN for silence or too few beats.

    The rule never looks at a genre. P is the tracked beat period and e(Q) the envelope's
    periodicity at period Q (`periodicity`: mean autocorrelation at Q, 2Q, 3Q, ...).
    1. Period: a least-squares line through the beats (`beat_period`) gives P to a
       fraction of a frame.
    2. Lattice: a tracker on a 3:2 grid (two "beats" per 3/4 bar, or dotted quarters) finds
       little repetition at P itself; if e(P) < `support` * e(Q) for Q = 3P/2 or 2P/3, the
       better Q becomes P.
    3. Levels: P stays a candidate unless every other tracked beat is silent (no
       repetition at its odd multiples: the tracker runs at twice the pulse). 2P is one
       when the music repeats over two beats, e(2P) >= `support` * e(P) (so in duple
       meter, not in triple); P/2 when something sounds between the beats as regularly:
       e at the odd multiples of P/2 >= `support` * e(P).
    4. Choice: the candidate nearest `preferred_bpm` in octaves. The envelope cannot tell
       which of two supported levels people step on (a waltz's beats or its eighth notes,
       a cha-cha's beats or its half bars); listeners tap near 100-120 BPM when a rhythm
       allows it (Fraisse 1982: spontaneous tempo ~600 ms; Moelants 2002: preferred tempo
       ~120 BPM). With 105 a level is halved above 105 * sqrt(2) = 148 BPM and doubled
       below 105 / sqrt(2) = 74 BPM, and only when the envelope supports the other level;
       so an even pulse train faster than 148 BPM reads at half its rate.
    """
    env = np.asarray(envelope, dtype=np.float64)
    beats = np.asarray(beats_s, dtype=np.float64)
    beats = np.sort(beats[(beats >= 0) & (beats < len(env) / fps)])
    period = beat_period(beats, min_beats)
    if not (np.isfinite(period) and period > 0 and np.ptp(env) > 0):
        return float("nan")
    horizon = min(horizon_s * fps, len(env) / 2)

    def e(period_s: float, odd_only: bool = False) -> float:
        return periodicity(env, period_s * fps, horizon, odd_only)

    relatives = [(e(q), q) for q in (1.5 * period, period / 1.5)]
    value, q = max(((v, q) for v, q in relatives if np.isfinite(v)), default=(0.0, period))
    if value > 0 and not e(period) >= support * value:
        period = q
    reference = max(e(period), 0.0)
    candidates = [period] if e(period, odd_only=True) > 0 else []
    for level, evidence in (
        (period / 2, e(period / 2, odd_only=True)),
        (2 * period, e(2 * period)),
    ):
        if evidence > 0 and evidence >= support * reference:
            candidates.append(level)
    candidates = [p for p in candidates if min_bpm <= 60.0 / p <= max_bpm]
    if not candidates:
        bpm = 60.0 / period
        return bpm if min_bpm <= bpm <= max_bpm else float("nan")
    return 60.0 / min(candidates, key=lambda p: abs(np.log2(60.0 / p / preferred_bpm)))
