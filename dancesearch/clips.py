"""Segmentation of sequences into fixed-length windows (clips), and the clip record.

A clip is a window of one sequence's frames with its aligned music segment. Windows that are
static or broken are dropped and counted by reason; a take shorter than one window becomes one
clip of its true length, if it is at least `min_s` long.
Its table row is built by `storage.schema.clip_row`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field

from dancesearch.errors import ConfigError
from dancesearch.features.motion import broken_reason, is_static
from dancesearch.skeleton import FPS, Sequence


@dataclass(frozen=True)
class ClipConfig:
    """How sequences are cut. Seconds; frames are counted at the common 30 FPS."""

    window_s: float = 12.0
    stride_s: float = 12.0
    # shorter takes and tails are dropped, not padded; 1 s keeps a whole short gesture (Bandai
    # dataset-2's raise-up-right-hand takes last 1.2-2.4 s)
    min_s: float = 1.0

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.stride_s <= 0:
            raise ConfigError(f"window ({self.window_s}) and stride ({self.stride_s}) must be > 0")
        if not 0 < self.min_s <= self.window_s:
            raise ConfigError(f"minimum clip length {self.min_s} s must be in (0, window]")

    def key(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


@dataclass
class Clip:
    """A window of a sequence: frames [start_frame, start_frame + n_frames) at 30 FPS."""

    clip_id: str
    seq_id: str
    source: str
    start_frame: int
    n_frames: int
    has_music: bool
    music_path: str | None
    music_start_s: float | None  # seconds into music_path at the clip's first frame
    genre: str | None
    performer: str | None
    group: str
    labels: dict[str, str] = field(default_factory=dict)
    descriptions: list[str] = field(default_factory=list)
    licence: str = ""
    credit: str = ""

    @property
    def start_s(self) -> float:
        return self.start_frame / FPS

    @property
    def duration_s(self) -> float:
        return self.n_frames / FPS


def clip_id(seq_id: str, start_frame: int) -> str:
    """Readable and stable: the same sequence and window start always give the same id."""
    return f"{seq_id}@{start_frame:06d}"


def window_starts(n_frames: int, config: ClipConfig) -> list[tuple[int, int]]:
    """(start, length) frame pairs covering n_frames; the last may be shorter than a window."""
    win = round(config.window_s * FPS)
    stride = round(config.stride_s * FPS)
    min_len = round(config.min_s * FPS)
    if n_frames <= win:
        return [(0, n_frames)] if n_frames >= min_len else []
    out = [(s, win) for s in range(0, n_frames - win + 1, stride)]
    tail_start = out[-1][0] + stride
    if tail_start < n_frames and n_frames - tail_start >= min_len:
        out.append((tail_start, n_frames - tail_start))
    return out


def segment(seq: Sequence, config: ClipConfig) -> tuple[list[Clip], Counter[str]]:
    """Cut a 30-FPS sequence into clips; returns the clips and dropped windows by reason."""
    if abs(seq.fps - FPS) > 1e-6:
        raise ValueError(f"{seq.seq_id}: segment needs a {FPS} FPS sequence, got {seq.fps}")
    dropped: Counter[str] = Counter()
    windows = window_starts(seq.n_frames, config)
    if not windows:
        dropped[f"shorter than {config.min_s:g} s"] += 1
    else:
        covered = windows[-1][0] + windows[-1][1]
        if covered < seq.n_frames:
            dropped[f"tail shorter than {config.min_s:g} s"] += 1
    clips = []
    for start, length in windows:
        window = seq.joints[start : start + length]
        reason = broken_reason(window, FPS)
        if reason is None and is_static(window, FPS):
            reason = "static"
        if reason is not None:
            dropped[reason.split(":")[0]] += 1  # count by kind; the detail varies per window
            continue
        clips.append(
            Clip(
                clip_id=clip_id(seq.seq_id, start),
                seq_id=seq.seq_id,
                source=seq.source,
                start_frame=start,
                n_frames=length,
                has_music=seq.has_music,
                music_path=str(seq.music_path) if seq.music_path else None,
                music_start_s=seq.music_offset + start / FPS if seq.has_music else None,
                genre=seq.genre,
                performer=seq.performer,
                group=seq.group or seq.seq_id,
                labels=dict(seq.labels),
                descriptions=list(seq.descriptions),
                licence=seq.licence,
                credit=seq.credit,
            )
        )
    return clips, dropped
