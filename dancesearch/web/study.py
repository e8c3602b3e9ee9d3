"""The user study of the paper's Table 4: for a caption of a held-out clip, the top-1 results of
two rankings (or a ranking and the clip the caption was written for), shown blind in random
order and rated 1-5 for text-motion consistency and text-music relevance. Trials and ratings
live in SQLite inside the library (<library>/study.sqlite, readable by its owner only: it holds
the raters' names). A trial is rated once, by the rater it was issued to."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dancesearch.errors import ConfigError, DancesearchError

FILE = "study.sqlite"
MAX_OPEN_PER_RATER = 3  # trials issued to a rater and not rated; beyond, one of them again
MAX_OPEN = 10_000  # unrated trials of all raters; beyond, no new trial until some are rated
ARMS = ("hybrid", "dense", "text", "target")  # target: the clip the caption was written for
SCHEMA = """
create table if not exists trials (
    trial_id text primary key, created real, rater text, query text,
    left_clip text, left_arm text, right_clip text, right_arm text
);
create table if not exists ratings (
    trial_id text, rater text, side text, arm text, clip_id text,
    motion integer, music integer, created real,
    primary key (trial_id, rater, side)
);
create index if not exists trials_by_rater on trials (rater, created);
"""


class NotYourTrial(DancesearchError):
    """A rating for a trial that was issued to another rater."""


class AlreadyRated(DancesearchError):
    """A second rating of a trial that differs from its first."""


class StudyFull(DancesearchError):
    """Too many trials are issued and not rated to issue another."""


@dataclass(frozen=True)
class Trial:
    trial_id: str
    query: str
    left: str  # clip ids, shown as A (left) and B (right)
    right: str


def parse_arms(text: str) -> tuple[str, str]:
    """ "hybrid:target" -> ("hybrid", "target")."""
    arms = tuple(text.split(":"))
    if len(arms) != 2 or arms[0] == arms[1] or not set(arms) <= set(ARMS):
        raise ConfigError(f"--study {text!r}: give two of {', '.join(ARMS)} as A:B")
    return arms[0], arms[1]


class Study:
    """Trials and ratings in one SQLite file."""

    def __init__(self, path: Path, arms: tuple[str, str] = ("hybrid", "dense")) -> None:
        self.path, self.arms = path, arms
        # the file holds raters' names: its owner's only, an older file made so too (SQLite
        # gives its journal the file's mode)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        self._writing = threading.Lock()  # count-then-insert and check-then-rate stay whole
        with self._db() as db:
            db.executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def new_trial(
        self,
        rater: str,
        captions: list[tuple[str, str]],
        top1: Callable[[str, str], str | None],
        seed: int | None = None,
        tries: int = 20,
    ) -> Trial:
        """A trial for a random (caption, its clip): the two arms' top-1 clips (top1(arm,
        caption); the target arm is the caption's clip), in random order; a caption whose two
        clips coincide is passed over.

        A rater holding MAX_OPEN_PER_RATER unrated trials gets the longest-waiting of them
        again instead of a new one, so asking again and again adds no rows and the page keeps
        working; StudyFull when MAX_OPEN trials of all raters wait for a rating."""
        with self._writing, self._db() as db:
            waiting = db.execute(
                "select trial_id, query, left_clip, right_clip from trials t where rater = ?"
                " and not exists (select 1 from ratings r where r.trial_id = t.trial_id)"
                " order by created",
                (rater,),
            ).fetchall()
            if len(waiting) >= MAX_OPEN_PER_RATER:
                # issued again now: the next call brings the next-longest-waiting one
                db.execute("update trials set created = ? where trial_id = ?",
                           (time.time(), waiting[0][0]))  # fmt: skip
                return Trial(*waiting[0])
            (n_open,) = db.execute(
                "select count(*) from trials t where not exists"
                " (select 1 from ratings r where r.trial_id = t.trial_id)"
            ).fetchone()
            if n_open >= MAX_OPEN:
                raise StudyFull(f"{n_open} pairs wait for a rating; try again later")
            return self._new_trial(db, rater, captions, top1, seed, tries)

    def _new_trial(
        self,
        db: sqlite3.Connection,
        rater: str,
        captions: list[tuple[str, str]],
        top1: Callable[[str, str], str | None],
        seed: int | None,
        tries: int,
    ) -> Trial:
        rng = random.Random(seed)
        for _ in range(tries):
            text, own = rng.choice(captions)
            clips = [own if arm == "target" else top1(arm, text) for arm in self.arms]
            if None in clips or clips[0] == clips[1]:
                continue
            order = [0, 1] if rng.random() < 0.5 else [1, 0]
            left, right = (clips[i] for i in order)
            trial = Trial(str(uuid.uuid4()), text, str(left), str(right))
            db.execute(
                "insert into trials values (?, ?, ?, ?, ?, ?, ?, ?)",
                (trial.trial_id, time.time(), rater, text, left, self.arms[order[0]],
                 right, self.arms[order[1]]),
            )  # fmt: skip
            return trial
        raise ConfigError("no caption gives two different clips to compare")

    def rate(
        self, trial_id: str, rater: str, left: tuple[int, int | None],
        right: tuple[int, int | None],
    ) -> None:  # fmt: skip
        """Store (motion, music) ratings 1-5 of both sides (music None for a silent clip).
        NotYourTrial when the trial was issued to another rater; the same rating again changes
        nothing; AlreadyRated for a different one (the first judgement stands)."""
        for value in (*left, *right):
            if value is not None and not 1 <= value <= 5:
                raise ConfigError(f"rating {value}: give a whole number from 1 to 5")
        with self._writing, self._db() as db:
            row = db.execute(
                "select rater, left_clip, left_arm, right_clip, right_arm from trials"
                " where trial_id = ?",
                (trial_id,),
            ).fetchone()
            if row is None:
                raise ConfigError(f"trial {trial_id!r}: no such trial")
            if row[0] != rater:
                raise NotYourTrial(f"trial {trial_id!r} was given to another rater")
            given = db.execute(
                "select side, motion, music from ratings where trial_id = ?", (trial_id,)
            ).fetchall()
            if given:
                if {side: (m, u) for side, m, u in given} == {"left": left, "right": right}:
                    return
                raise AlreadyRated(f"trial {trial_id!r} is rated already; ask for the next pair")
            for side, (clip, arm), (motion, music) in (
                ("left", row[1:3], left), ("right", row[3:5], right)
            ):  # fmt: skip
                db.execute(
                    "insert into ratings values (?, ?, ?, ?, ?, ?, ?, ?)",
                    (trial_id, rater, side, arm, clip, motion, music, time.time()),
                )

    def report(self) -> str:
        """Mean +- 95 % CI per arm and the paired difference A - B, per rating, as markdown."""
        with self._db() as db:
            rows = db.execute("select trial_id, rater, arm, motion, music from ratings").fetchall()
        lines = [
            "| rating | arm | n | mean ± 95 % CI |",
            "|---|---|---|---|",
        ]
        paired: dict[str, list[float]] = {"motion": [], "music": []}
        by_trial: dict[tuple[str, str], dict[str, tuple[int, int | None]]] = {}
        for trial, rater, arm, motion, music in rows:
            by_trial.setdefault((trial, rater), {})[arm] = (motion, music)
        for k, kind in enumerate(("motion", "music")):
            for arm in sorted({r[2] for r in rows}):
                values = [r[3 + k] for r in rows if r[2] == arm and r[3 + k] is not None]
                lines.append(f"| {kind} | {arm} | {len(values)} | {_mean_ci(values)} |")
            for arms in by_trial.values():
                first, second = (arms.get(x) for x in self.arms)
                if first and second and first[k] is not None and second[k] is not None:
                    paired[kind].append(float(first[k]) - float(second[k]))  # type: ignore[arg-type]
        name_a, name_b = self.arms
        for kind, diffs in paired.items():
            lines.append(
                f"| {kind} | {name_a} − {name_b} (paired) | {len(diffs)} | {_mean_ci(diffs)} |"
            )
        return "\n".join(lines)


def _mean_ci(values: list[float]) -> str:
    if not values:
        return "-"
    x = np.asarray(values, dtype=float)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return f"{x.mean():.2f} ± {half:.2f}"
