"""What we know about CMU motion-capture files beyond their BVH content.

Owns trial naming (`60_05`), the `descriptions.csv` lookup, genre keywords, partner grouping,
the true frame rates the BVH headers get wrong, and CMU's licence and credit text.
Used by `sources.bvh`; it reads no motion itself.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from dancesearch.errors import SourceError

# "60_05", "60_05_scaled", "05_01": subject, trial and an optional suffix added by converters
TRIAL_NAME = re.compile(r"^(\d+)_(\d+)(?:_.*)?$")
DESCRIPTIONS_CSV = "descriptions.csv"

# cgspeed rewrote every file to a declared 120 fps; these subjects were captured slower
# (CMU's per-trial table; for 60 and 61 confirmed by salsa tempo and hip speed, see the README).
TRUE_FPS: dict[int, float] = {60: 60.0, 61: 60.0}

LICENCE = (
    "CMU Graphics Lab Motion Capture Database: This data is free for use in research projects. "
    "You may include this data in commercially-sold products, but you may not resell this data "
    "directly, even in converted form."
)
CREDIT = (
    "The data used in this project was obtained from mocap.cs.cmu.edu. "
    "The database was created with funding from NSF EIA-0196217. "
    "BVH conversion by Bruce Hahne (cgspeed)."
)
# only the Second-Life retarget went through these hands
SL_CREDIT = (
    " Second Life retarget via outworldz.com; files taken from "
    "github.com/beemsoft/webxr-handtracking-playground."
)

# First match wins. Subject descriptions come first: subject 5 is "modern dance" although its
# trial texts use ballet words. "charelston" is CMU's own spelling for subject 103.
GENRE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("salsa", "salsa"),
    ("waltz", "waltz"),
    ("charleston", "charleston"),
    ("charelston", "charleston"),
    ("lambada", "lambada"),
    ("macarena", "macarena"),
    ("breakdance", "breakdance"),
    ("indian dance", "indian"),
    ("modern dance", "modern"),
    ("ballet", "ballet"),
    ("arabesque", "ballet"),
    ("pirouette", "ballet"),
)


@dataclass(frozen=True)
class Trial:
    """One row of descriptions.csv (or only the name, when the row is missing)."""

    trial_id: str  # "60_05", as CMU writes it
    subject: int
    trial: str  # "05", zero-padded as in the file name
    description: str = ""
    subject_description: str = ""

    @property
    def category(self) -> str:
        """ "dance" when the take's text says so; CMU's "Unknown" defers to the subject's text."""
        return "dance" if _is_dance(self._text_for_category()) else "non-dance"

    @property
    def genre(self) -> str | None:
        if self.category != "dance":
            return None
        for text in (self.subject_description, self.description):
            for keyword, genre in GENRE_KEYWORDS:
                if keyword in text.lower():
                    return genre
        return None

    @property
    def has_description(self) -> bool:
        # CMU writes "Unknown" where it has no text for a take (all of subject 94)
        return bool(self.description) and self.description.lower() != "unknown"

    def _text_for_category(self) -> str:
        return self.description if self.has_description else self.subject_description


def _is_dance(text: str) -> bool:
    low = text.lower()
    return "danc" in low or any(keyword in low for keyword, _ in GENRE_KEYWORDS)


def parse_name(path: Path) -> tuple[int, str] | None:
    """(subject, trial) from a CMU-style file name, or None."""
    m = TRIAL_NAME.match(path.stem)
    return (int(m.group(1)), m.group(2)) if m else None


def is_cmu(path: Path) -> bool:
    """A CMU trial: CMU naming and a descriptions.csv beside the file."""
    return parse_name(path) is not None and (path.parent / DESCRIPTIONS_CSV).is_file()


def trial(path: Path) -> Trial:
    """The descriptions.csv row for a CMU file; a bare Trial when the csv has no such row."""
    name = parse_name(path)
    if name is None:
        raise SourceError(path, "not a CMU trial name (expected <subject>_<trial>.bvh)")
    subject, number = name
    trial_id = f"{path.stem.split('_')[0]}_{number}"
    csv_path = path.parent / DESCRIPTIONS_CSV
    try:
        with csv_path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("trial_id") == trial_id:
                    return Trial(
                        trial_id,
                        subject,
                        number,
                        (row.get("description") or "").strip(),
                        (row.get("subject_description") or "").strip(),
                    )
    except (OSError, csv.Error) as e:
        raise SourceError(csv_path, f"cannot read CMU descriptions: {e}") from e
    return Trial(trial_id, subject, number)


def true_fps(path: Path) -> float | None:
    """The real capture rate of a CMU file when its header is known to be wrong."""
    name = parse_name(path)
    return TRUE_FPS.get(name[0]) if name else None


def header_frames(path: Path) -> int | None:
    """The `Frames:` count of a BVH file, reading only up to that line."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lstrip().startswith("Frames:"):
                    return int(line.split(":", 1)[1])
    except (OSError, ValueError):
        return None
    return None


def partner_group(path: Path) -> str | None:
    """A group id shared by the dancers of one take, or None for a solo take.

    CMU captured couples (subjects 60 and 61) as one file per dancer with the same trial number;
    both files of a take have the same frame count, which is what tells partners from
    unrelated trials that happen to share a number.
    """
    name = parse_name(path)
    frames = header_frames(path)
    if name is None or frames is None:
        return None
    subjects = {name[0]}
    for other in path.parent.iterdir():
        other_name = parse_name(other) if other.suffix.lower() == ".bvh" else None
        if other_name and other_name[1] == name[1] and header_frames(other) == frames:
            subjects.add(other_name[0])
    if len(subjects) < 2:
        return None
    # the subjects are in the id so two couples with the same trial number stay apart
    return f"cmu/trial_{name[1]}_" + "+".join(str(s) for s in sorted(subjects))
