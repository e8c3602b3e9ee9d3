"""Music features at the motion frame rate: the 35-dim AIST++/FineDance librosa set, and tempo.

Owns decoding a song window to mono samples and turning samples into per-frame features that
line up one-to-one with the motion frames of a clip (frame i of both is at i / FPS seconds).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
from threadpoolctl import threadpool_limits

from dancesearch.errors import SourceError
from dancesearch.features.tempo import clip_tempo
from dancesearch.skeleton import FPS

# Bump when the features computed from the same config change, so stored features are redone.
_VERSION = 1

# The mel and chroma filter banks are BLAS matrix products, whose sums OpenBLAS splits by its
# thread count: features computed on 1 and 2 cores differed by up to 6e-5. One BLAS thread in
# every process that computes them makes them the same on any machine of the same CPU family.
# Process-wide on purpose: a `with threadpool_limits` per call would race between the threads
# ingest runs items on (the limit is global, not per thread).
threadpool_limits(limits=1, user_api="blas")

MUSIC_DIM = 35
MUSIC_FEATURE_NAMES: tuple[str, ...] = (
    *(f"mfcc_{i:02d}" for i in range(20)),
    *(f"chroma_{p}" for p in ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")),
    "onset_envelope",
    "onset_peak",
    "beat",
)


@dataclass(frozen=True)
class MusicConfig:
    """How samples become features. sr / hop must equal the motion FPS (15360 / 512 = 30).

    sr: samples per second the audio is resampled to.
    hop: samples between feature frames.
    n_fft: STFT window length in samples (shared by MFCC, chroma and the onset envelope).
    n_mfcc: MFCC coefficients; MUSIC_DIM and MUSIC_FEATURE_NAMES assume the default 20.
    """

    sr: int = 15360
    hop: int = 512
    n_fft: int = 2048
    n_mfcc: int = 20

    def __post_init__(self) -> None:
        if self.sr != FPS * self.hop:
            raise ValueError(f"sr / hop = {self.sr / self.hop} frames/s, must equal FPS = {FPS}")

    @property
    def dim(self) -> int:
        """Feature columns: n_mfcc + 12 chroma + envelope + peak + beat."""
        return self.n_mfcc + 15

    def key(self) -> str:
        """Short hash of the fields and the code version, stable across runs and machines."""
        text = json.dumps({"music": _VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]


DEFAULT_MUSIC = MusicConfig()


def load_audio(
    path: str | Path,
    offset_s: float = 0.0,
    duration_s: float | None = None,
    config: MusicConfig = DEFAULT_MUSIC,
    tolerance_s: float = 0.5,
) -> np.ndarray:
    """Decode a window of a song to mono float32 samples at config.sr.

    path: audio file soundfile can read (wav, flac, ogg, mp3).
    offset_s: seconds into the song where the window starts (music time of motion frame 0).
    duration_s: seconds of the window; None reads to the end of the song.
    tolerance_s: a song that ends at most this many seconds before offset_s + duration_s is
        padded with silence (sources disagree on the last frame or two); a shorter one is an
        error.
    Returns y: (round(duration_s * sr),) float32 when duration_s is given.
    Raises SourceError naming the file when it cannot be decoded or is too short.
    """
    if offset_s < 0 or (duration_s is not None and duration_s <= 0):
        raise ValueError(f"need offset_s >= 0 and duration_s > 0, got {offset_s}, {duration_s}")
    jit_ready()
    end_s = None if duration_s is None else offset_s + duration_s
    try:
        # Handing librosa an open SoundFile keeps it off its deprecated audioread fallback,
        # so a corrupt file fails here with soundfile's message.
        with sf.SoundFile(str(path)) as f:
            song_s = f.frames / f.samplerate
            _check_covers(path, song_s, offset_s, end_s, tolerance_s)
            y, _ = librosa.load(f, sr=config.sr, mono=True, offset=offset_s, duration=duration_s)
    except (sf.LibsndfileError, RuntimeError, EOFError) as err:
        raise SourceError(path, f"cannot decode audio: {err}") from err
    # The header's length can be an estimate (mp3): check what was actually decoded.
    _check_covers(path, offset_s + len(y) / config.sr, offset_s, end_s, tolerance_s)
    if duration_s is None:
        return y.astype(np.float32, copy=False)
    n = round(duration_s * config.sr)
    return np.pad(y[:n], (0, max(0, n - len(y)))).astype(np.float32, copy=False)


def _check_covers(
    path: str | Path, song_s: float, offset_s: float, end_s: float | None, tolerance_s: float
) -> None:
    need = f"{offset_s:.1f}-{end_s:.1f} s" if end_s is not None else f"{offset_s:.1f} s onwards"
    if song_s <= offset_s or (end_s is not None and song_s < end_s - tolerance_s):
        raise SourceError(path, f"music is {song_s:.1f} s long but the motion needs {need}")


def _log_mel_and_power(y: np.ndarray, config: MusicConfig) -> tuple[np.ndarray, np.ndarray]:
    """One STFT shared by every feature: (n_mels, F) log-mel in dB and (1 + n_fft/2, F) power."""
    power = np.abs(librosa.stft(y, n_fft=config.n_fft, hop_length=config.hop)) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=config.sr)
    return librosa.power_to_db(mel), power


def _onset_and_beats(
    log_mel: np.ndarray, config: MusicConfig
) -> tuple[np.ndarray, float, np.ndarray]:
    """Onset envelope (F,), tempo in BPM and beat frame indices, from one envelope."""
    envelope = librosa.onset.onset_strength(
        S=log_mel, sr=config.sr, hop_length=config.hop, n_fft=config.n_fft
    )
    tempo, beats = librosa.beat.beat_track(
        onset_envelope=envelope, sr=config.sr, hop_length=config.hop
    )
    return envelope, float(np.atleast_1d(tempo)[0]), np.asarray(beats, dtype=int)


_JIT_READY = threading.Event()
_JIT_ONCE = threading.Lock()


def jit_ready() -> None:
    """librosa compiles its numba kernels on first use and caches them on disk ($NUMBA_CACHE_DIR,
    else beside its sources); two processes writing that cache at once have corrupted it (every
    later chroma_stft segfaulted until the files were deleted). So each process's first use runs
    under a file lock: one process compiles and writes at a time, the next reads what it wrote.
    Called by the functions below; cheap once a process is warm."""
    if _JIT_READY.is_set():
        return
    with _JIT_ONCE:  # the threads of one process warm up once
        if _JIT_READY.is_set():
            return
        where = os.environ.get("NUMBA_CACHE_DIR") or Path.home() / ".cache" / "dancesearch"
        lock = Path(where) / "librosa-jit.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with lock.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file closes
            noise = np.random.default_rng(0).normal(size=2 * DEFAULT_MUSIC.sr).astype(np.float32)
            _music_features(noise, DEFAULT_MUSIC)  # every kernel the features use
            librosa.load  # noqa: B018 -- the decoder's module compiles its kernels on import
        _JIT_READY.set()


def tempo_and_beats(y: np.ndarray, config: MusicConfig = DEFAULT_MUSIC) -> tuple[float, np.ndarray]:
    """Tempo and beat positions of mono samples y (N,) at config.sr.

    Returns (bpm, beat_times): beats per minute by `tempo.clip_tempo` over the whole of y
    (off the frame grid, its metrical level chosen from the onset envelope; 0.0 when there
    is none, e.g. silence or fewer than 4 beats) and (B,) float64 beat times in seconds
    from the start of y, on the feature frame grid.
    """
    jit_ready()
    envelope, _, beats = _onset_and_beats(_log_mel_and_power(y, config)[0], config)
    beat_times = beats * (config.hop / config.sr)
    bpm = clip_tempo(envelope, beat_times, config.sr / config.hop)
    return (bpm if np.isfinite(bpm) else 0.0), beat_times


def music_features(
    y: np.ndarray, config: MusicConfig = DEFAULT_MUSIC, n_frames: int | None = None
) -> np.ndarray:
    """Per-frame music features of mono samples y (N,) at config.sr, at the motion frame rate.

    Frame i describes the audio around i * hop / sr = i / FPS seconds, as motion frame i does.
    n_frames: exact number of frames to return (the clip's motion length); y should then last
        n_frames / FPS seconds, and up to 2 frames more or fewer are trimmed or padded (last
        frame repeated, beat and peak 0). None keeps librosa's count, 1 + N // hop.
    Returns (n_frames, 35) float32, columns as MUSIC_FEATURE_NAMES: 20 MFCC (from the dB
    log-mel spectrogram), 12 chroma (chroma_stft, each frame max-normalised to 1), the onset
    strength envelope (unnormalised), a one-hot onset peak and a one-hot tracked beat.
    """
    jit_ready()
    return _music_features(y, config, n_frames)


def _music_features(
    y: np.ndarray, config: MusicConfig = DEFAULT_MUSIC, n_frames: int | None = None
) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    natural = 1 + len(y) // config.hop
    n = natural if n_frames is None else n_frames
    if abs(len(y) / config.hop - n) > 2:
        raise ValueError(
            f"y holds {len(y) / config.sr:.2f} s of music but n_frames = {n} lasts "
            f"{n / FPS:.2f} s; "
            "decode the music window with the clip's duration"
        )
    log_mel, power = _log_mel_and_power(y, config)
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=config.n_mfcc)
    chroma = librosa.feature.chroma_stft(
        S=power, sr=config.sr, n_fft=config.n_fft, hop_length=config.hop
    )
    envelope, _, beats = _onset_and_beats(log_mel, config)
    peaks = librosa.onset.onset_detect(onset_envelope=envelope, sr=config.sr, hop_length=config.hop)
    peak_onehot = np.zeros(natural, dtype=np.float32)
    peak_onehot[peaks] = 1.0
    beat_onehot = np.zeros(natural, dtype=np.float32)
    beat_onehot[beats] = 1.0
    feats = np.concatenate(
        [mfcc, chroma, envelope[None], peak_onehot[None], beat_onehot[None]], axis=0
    ).T.astype(np.float32)
    if n <= natural:
        return feats[:n]
    # Repeating the last frame keeps the continuous columns smooth; no event is invented.
    tail = np.repeat(feats[-1:], n - natural, axis=0)
    tail[:, -2:] = 0.0
    return np.concatenate([feats, tail], axis=0)
