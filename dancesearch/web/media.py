"""What the page plays: a clip's joints as arrays and its music segment as WAV. Files are found
through the catalogue only -- a request names a clip id, never a path."""

from __future__ import annotations

import io
import math
from functools import lru_cache
from typing import Any

import numpy as np

from dancesearch.errors import LibraryError
from dancesearch.skeleton import FPS, JOINTS, PARENTS
from dancesearch.storage.library import Library

AUDIO_CACHE = 32  # decoded segments kept in memory


def motion(library: Library, clip: dict[str, Any]) -> dict[str, Any]:
    """{fps, n_frames, joints, parents, positions}: positions flat (T * 22 * 3), metres, Y up,
    frame-major, rounded to the millimetre."""
    joints = library.load_motion(str(clip["seq_id"]))  # (T_seq, 22, 3)
    start, n = int(clip["start_frame"]), int(clip["n_frames"])
    frames = joints[start : start + n]  # (T, 22, 3)
    return {
        "fps": FPS,
        "n_frames": int(len(frames)),
        "joints": list(JOINTS),
        "parents": list(PARENTS),
        "positions": np.round(frames.astype(np.float64), 3).ravel().tolist(),
    }


def audio_wav(clip: dict[str, Any]) -> bytes:
    """The clip's music segment as 16-bit mono WAV at the file's own rate; LibraryError for a
    silent clip or a music file that cannot be read."""
    path = clip.get("music_path")
    if not clip.get("has_music") or not path:
        raise LibraryError(f"{clip['clip_id']}: this clip has no music")
    start = float(clip.get("music_start_s") or 0.0)
    return _segment(str(path), start, float(clip["duration_s"]))


@lru_cache(maxsize=AUDIO_CACHE)
def _segment(path: str, start_s: float, duration_s: float) -> bytes:
    import soundfile as sf

    try:
        with sf.SoundFile(path) as f:
            rate = f.samplerate
            first = max(0, int(math.floor(start_s * rate)))
            f.seek(min(first, f.frames))
            data = f.read(int(math.ceil(duration_s * rate)), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, sf.LibsndfileError) as e:
        raise LibraryError(f"{path}: cannot read the music ({e})") from None
    mono = data.mean(axis=1)  # (N,)
    if start_s < 0:  # music starts after the motion: pad the front with silence
        mono = np.concatenate([np.zeros(int(-start_s * rate), np.float32), mono])
    buffer = io.BytesIO()
    sf.write(buffer, mono, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
