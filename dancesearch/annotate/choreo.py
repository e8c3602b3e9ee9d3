"""Choreographic action units: ChoreoNet's per-beat unit labels for the m2d dances.

Reads `m2d_choreonet/choreography/*.json` and gives each clip the units that cover its music
window, in clip-relative seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dancesearch.errors import SourceError
from dancesearch.sources import load_json

SONG_FPS = 25.0  # start_pos / end_pos are song frames at 25 FPS (m2d config.json)
FOLDER = "m2d_choreonet"


@dataclass(frozen=True)
class Dance:
    """One annotated dance: units laid end to end from start_pos, each durations[i] beats long."""

    name: str  # the m2d folder name, e.g. "DANCE_W_14"
    start_pos: int  # song frames at 25 FPS
    end_pos: int
    movements: tuple[str, ...]  # unit names, e.g. "W-22-1"
    durations: tuple[float, ...]  # beats per unit (Tango's look like half-beats, see README)

    @property
    def beat_s(self) -> float:
        """Beat period in seconds: the annotated span divided by the total beats."""
        return (self.end_pos - self.start_pos) / sum(self.durations) / SONG_FPS

    def spans(self) -> list[tuple[str, float, float, float]]:
        """(name, start_s, end_s, beats) per unit, in seconds of the song."""
        out, beat, t0 = [], 0.0, self.start_pos / SONG_FPS
        for name, beats in zip(self.movements, self.durations, strict=True):
            out.append((name, t0 + beat * self.beat_s, t0 + (beat + beats) * self.beat_s, beats))
            beat += beats
        return out


@dataclass(frozen=True)
class Unit:
    """A unit overlapping a clip; times in seconds from the clip's start, clamped to the clip."""

    name: str
    start_s: float
    end_s: float
    beats: float  # the whole unit's length in beats, even where the clip cuts it


def _dance(entry: Any, path: Path) -> Dance:
    if not isinstance(entry, dict):
        raise SourceError(path, f"expected an object per dance, got {type(entry).__name__}")
    try:
        name = str(entry["name"])
        movements = tuple(str(m) for m in entry["movements"])
        durations = tuple(float(d) for d in entry["durations"])
        start, end = int(entry["start_pos"]), int(entry["end_pos"])
    except KeyError as e:
        raise SourceError(path, f"dance entry lacks {e}") from None
    except (TypeError, ValueError) as e:
        raise SourceError(path, f"dance {entry.get('name')!r}: bad field: {e}") from None
    if len(movements) != len(durations):
        raise SourceError(
            path, f"{name}: {len(movements)} movements but {len(durations)} durations"
        )
    if not movements or end <= start or min(durations) <= 0:
        raise SourceError(path, f"{name}: needs units of positive length and end_pos > start_pos")
    return Dance(name, start, end, movements, durations)


def load_choreography(root: Path) -> dict[str, Dance]:
    """All dances under root/choreography/*.json (or root/*.json), keyed by m2d folder name."""
    folder = root / "choreography" if (root / "choreography").is_dir() else root
    files = sorted(folder.glob("*.json"))
    if not files:
        raise SourceError(root, "no choreography/*.json files (m2d_choreonet layout)")
    dances: dict[str, Dance] = {}
    for path in files:
        entries = load_json(path)
        if not isinstance(entries, list):
            raise SourceError(path, "expected a list of dances")
        for entry in entries:
            dance = _dance(entry, path)
            if dance.name in dances:
                raise SourceError(path, f"dance {dance.name} is annotated twice")
            dances[dance.name] = dance
    return dances


MIN_OVERLAP_S = 0.1  # a unit touching the clip for a few frames (rounding) does not cover it


def units_for_clip(dance: Dance, music_start_s: float, duration_s: float) -> list[Unit]:
    """Every unit overlapping the song window [music_start_s, music_start_s + duration_s).

    music_start_s is the clip's position in the song (the catalogue's `music_start_s`).
    """
    end_s = music_start_s + duration_s
    return [
        Unit(
            name,
            max(start, music_start_s) - music_start_s,
            min(stop, end_s) - music_start_s,
            beats,
        )
        for name, start, stop, beats in dance.spans()
        if min(stop, end_s) - max(start, music_start_s) >= MIN_OVERLAP_S
    ]


def find_choreography(sequence_paths: list[Path]) -> Path | None:
    """The `m2d_choreonet` folder beside the folder that holds m2d dance folders, if any.

    Only paths named like m2d dances (DANCE_<G>_<N>) are looked at, so other sources' paths
    never pick up an unrelated folder: /x/m2d/DANCE_W_8 -> /x/m2d_choreonet.
    """
    for path in sequence_paths:
        path = Path(path)
        if not path.name.startswith("DANCE_"):
            continue
        candidate = path.parent.parent / FOLDER
        if (candidate / "choreography").is_dir():
            return candidate
    return None
