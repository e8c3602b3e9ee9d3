"""The user study through the API (FastAPI's test client over the real app, on a copy of the
searchable library): a trial is rated only by the rater it was issued to, and only once; a rater
who keeps asking holds a bounded number of unrated trials; study.sqlite is its owner's only."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dancesearch.web.app import create_app
from dancesearch.web.study import FILE, MAX_OPEN_PER_RATER, Study


@pytest.fixture(scope="module")
def library(searchable: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("study") / "lib"
    shutil.copytree(searchable, copy, ignore=shutil.ignore_patterns(FILE))
    return copy


@pytest.fixture(scope="module")
def client(library: Path):
    with TestClient(create_app(library), base_url="http://127.0.0.1") as c:
        yield c


def rating(trial_id: str, rater: str, motion: int = 4) -> dict:
    return {"trial_id": trial_id, "rater": rater,
            "left": {"motion": motion}, "right": {"motion": 2}}  # fmt: skip


def rows(library: Path, sql: str, *args: str) -> list[tuple]:
    with sqlite3.connect(library / FILE) as db:
        return db.execute(sql, args).fetchall()


def test_a_trial_is_rated_by_its_rater_once(client, library):
    trial = client.get("/api/study/next", params={"rater": "ann"}).json()["trial_id"]
    other = client.post("/api/study/rate", json=rating(trial, "bob"))
    assert other.status_code == 403 and "another rater" in other.json()["detail"]
    assert client.post("/api/study/rate", json=rating(trial, "ann")).json() == {"ok": True}
    # the same rating sent again (a retry) changes nothing; a different one is refused
    assert client.post("/api/study/rate", json=rating(trial, "ann")).json() == {"ok": True}
    changed = client.post("/api/study/rate", json=rating(trial, "ann", motion=1))
    assert changed.status_code == 409 and "rated already" in changed.json()["detail"]
    stored = rows(library, "select rater, side, motion from ratings where trial_id = ?", trial)
    assert sorted(stored) == [("ann", "left", 4), ("ann", "right", 2)]


def test_a_rater_holds_a_bounded_number_of_unrated_trials(client, library):
    issued = [client.get("/api/study/next", params={"rater": "cy"}).json()["trial_id"]
              for _ in range(MAX_OPEN_PER_RATER + 4)]  # fmt: skip
    assert len(set(issued)) == MAX_OPEN_PER_RATER  # beyond the bound, the waiting ones again
    assert set(issued[MAX_OPEN_PER_RATER:]) <= set(issued[:MAX_OPEN_PER_RATER])
    held = rows(library, "select trial_id from trials where rater = ?", "cy")
    assert len(held) == MAX_OPEN_PER_RATER
    # rating one makes room: the next call brings a new trial, so the rater goes on
    assert client.post("/api/study/rate", json=rating(issued[-1], "cy")).json() == {"ok": True}
    new = client.get("/api/study/next", params={"rater": "cy"}).json()["trial_id"]
    assert new not in issued


def test_the_study_file_is_its_owners_only(client, library, tmp_path):
    client.get("/api/study/next", params={"rater": "dee"})
    assert stat.S_IMODE((library / FILE).stat().st_mode) == 0o600
    older = tmp_path / FILE  # made by an earlier version, readable by all
    older.touch(mode=0o644)
    older.chmod(0o644)
    Study(older)
    assert stat.S_IMODE(older.stat().st_mode) == 0o600
