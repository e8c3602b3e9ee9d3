"""Music features: shapes and one-hot columns, tempo of a click track and a real waltz, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dancesearch.errors import SourceError
from dancesearch.features.motion import motion_features
from dancesearch.features.music import (
    MUSIC_DIM,
    MUSIC_FEATURE_NAMES,
    MusicConfig,
    load_audio,
    music_features,
    tempo_and_beats,
)

DATA = Path(__file__).parents[2].parent / "shared" / "data"
WALTZ = DATA / "m2d" / "DANCE_W_8" / "audio.mp3"
CONFIG = MusicConfig()


def click_track(bpm: float, seconds: float, sr: int) -> np.ndarray:
    """Mono float32 clicks (20 ms decaying 1 kHz bursts) every 60 / bpm seconds."""
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    t = np.arange(int(0.02 * sr)) / sr
    burst = (np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.004)).astype(np.float32)
    for start in np.arange(0.25, seconds - 0.05, 60.0 / bpm):
        i = int(start * sr)
        y[i : i + len(burst)] += burst
    return y


@pytest.fixture(scope="module")
def clicks() -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """20 s of 120 BPM clicks: samples, features (600 frames), bpm, beat times."""
    y = click_track(120.0, 20.0, CONFIG.sr)
    bpm, beats = tempo_and_beats(y, CONFIG)
    return y, music_features(y, CONFIG, n_frames=600), bpm, beats


@pytest.fixture(scope="module")
def waltz() -> tuple[np.ndarray, float, np.ndarray]:
    """Features (600 frames), bpm and beat times of 20 s of m2d DANCE_W_8 from its motion start."""
    if not WALTZ.exists():
        pytest.skip(f"real data not found at {WALTZ}")
    y = load_audio(WALTZ, offset_s=61 / 25, duration_s=20.0, config=CONFIG)
    bpm, beats = tempo_and_beats(y, CONFIG)
    return music_features(y, CONFIG, n_frames=600), bpm, beats


def check_features(feats: np.ndarray, n_frames: int, bpm: float, seconds: float) -> None:
    assert feats.shape == (n_frames, MUSIC_DIM) == (n_frames, len(MUSIC_FEATURE_NAMES))
    assert feats.dtype == np.float32
    assert np.isfinite(feats).all()
    for name in ("onset_peak", "beat"):
        assert set(np.unique(feats[:, MUSIC_FEATURE_NAMES.index(name)])) <= {0.0, 1.0}
    n_beats = feats[:, MUSIC_FEATURE_NAMES.index("beat")].sum()
    assert n_beats == pytest.approx(bpm * seconds / 60, rel=0.15)


def test_click_track_features_and_tempo(clicks: tuple) -> None:
    _, feats, bpm, beats = clicks
    assert bpm == pytest.approx(120.0, abs=3.0)
    check_features(feats, 600, bpm, 20.0)
    # beats land on the clicks (0.25 s + k * 0.5 s), to within a frame or two
    after_click = (beats - 0.25) % 0.5
    assert np.minimum(after_click, 0.5 - after_click).max() < 0.07


def test_real_waltz_tempo(waltz: tuple) -> None:
    feats, bpm, _ = waltz
    # README: a beat of about 0.67-0.69 s (87-90 BPM); a tracker may also lock on twice that
    assert 84 <= bpm <= 92 or 168 <= bpm <= 184, bpm
    check_features(feats, 600, bpm, 20.0)


@pytest.mark.parametrize("n_frames", [598, 600, 602])
def test_length_matches_motion(clicks: tuple, n_frames: int) -> None:
    y = clicks[0]
    joints = np.zeros((n_frames, 22, 3), dtype=np.float32)
    joints[:, 1, 0], joints[:, 2, 0] = 0.1, -0.1  # hips apart, so the body has a heading
    music = music_features(y, CONFIG, n_frames=n_frames)
    assert len(music) == len(motion_features(joints, fps=30.0)) == n_frames
    assert np.isfinite(music).all()


def test_length_far_off_is_refused(clicks: tuple) -> None:
    with pytest.raises(ValueError, match="n_frames"):
        music_features(clicks[0], CONFIG, n_frames=700)


def test_corrupt_file_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "song.mp3"
    bad.write_bytes(np.random.default_rng(0).bytes(50_000))
    with pytest.raises(SourceError, match="song.mp3") as err:
        load_audio(bad, offset_s=0.0, duration_s=5.0, config=CONFIG)
    assert err.value.path == str(bad)


def test_music_shorter_than_motion(tmp_path: Path) -> None:
    song = tmp_path / "short.wav"
    sf.write(song, click_track(120.0, 5.0, 22050), 22050)
    with pytest.raises(SourceError, match=r"short.wav: music is 5.0 s long.*1.0-7.0 s"):
        load_audio(song, offset_s=1.0, duration_s=6.0, config=CONFIG)
    # within the tolerance the tail is padded with silence to the exact length
    y = load_audio(song, offset_s=1.0, duration_s=4.3, config=CONFIG)
    assert y.shape == (round(4.3 * CONFIG.sr),) and y.dtype == np.float32
    assert not y[-int(0.25 * CONFIG.sr) :].any()


def test_truncated_mp3(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp3"
    sf.write(whole, click_track(120.0, 10.0, 44100), 44100, format="MP3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert len(load_audio(whole, offset_s=0.0, duration_s=9.0, config=CONFIG)) == 9 * CONFIG.sr
    with pytest.raises(SourceError, match="cut.mp3"):
        load_audio(cut, offset_s=0.0, duration_s=9.0, config=CONFIG)


def test_config() -> None:
    assert CONFIG.sr / CONFIG.hop == 30.0 and CONFIG.dim == MUSIC_DIM == 35
    assert CONFIG.key() == MusicConfig().key() != MusicConfig(n_fft=1024).key()
    with pytest.raises(ValueError, match="FPS"):
        MusicConfig(sr=22050)


FEATURES_OF_NOISE = """
import hashlib, sys
import numpy as np
from dancesearch.features.music import music_features
y = np.random.default_rng(0).normal(size=15360 * 20).astype(np.float32)
print(hashlib.sha1(music_features(y).tobytes()).hexdigest())
"""


@pytest.mark.slow  # two fresh processes, each paying librosa's start (11 s in the suite)
def test_music_features_are_the_same_whatever_the_blas_thread_count() -> None:
    """OpenBLAS splits the filter banks' sums by its thread count (6e-5 apart on 1 and 2
    cores before): a build must give the same arrays on a 1- or 2-core machine."""
    digests = set()
    for threads in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
        done = subprocess.run(
            [sys.executable, "-c", FEATURES_OF_NOISE], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    assert len(digests) == 1


@pytest.mark.slow
def test_first_runs_write_librosas_jit_cache_one_at_a_time(tmp_path: Path) -> None:
    """Two first ingests at once corrupted librosa's numba cache (every later chroma_stft
    segfaulted): a process's first music features wait for the cache's lock, and processes
    started together all finish with the same features."""
    import fcntl
    import time

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    run = [sys.executable, "-c", FEATURES_OF_NOISE]
    with (tmp_path / "librosa-jit.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as if another process were compiling
        waiting = subprocess.Popen(run, env=env, stdout=subprocess.PIPE, text=True)
        time.sleep(20)  # unlocked, it would have compiled and written its kernels by now
        written = [p for p in tmp_path.rglob("*.nb*")]
        assert waiting.poll() is None and not written, written
    out, _ = waiting.communicate(timeout=600)
    together = [subprocess.Popen(run, env=env, stdout=subprocess.PIPE, text=True) for _ in "ab"]
    digests = {out.strip()} | {p.communicate(timeout=600)[0].strip() for p in together}
    assert all(p.returncode == 0 for p in (waiting, *together))
    assert len(digests) == 1 and list(tmp_path.rglob("*.nbi"))  # one answer, a cache written
