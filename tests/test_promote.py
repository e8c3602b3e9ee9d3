"""Retrain promotes a new checkpoint only when it is not worse on validation, by the score
training selects with; retrain_and_decide trains only when the library changed, and keeps only
a model it promotes (run here with plain functions for its steps, no Prefect)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dancesearch.encoders.config import RunConfig
from dancesearch.evaluation.offline import Report
from dancesearch.freshness import mark_trained, trained_on, training_key
from dancesearch.metrics import selection_score
from dancesearch.promote import (
    RETRAINS,
    RetrainLedger,
    RetrainSteps,
    decide,
    retrain_and_decide,
    val_score,
)
from dancesearch.storage.library import Library


def report(r1: float, r5: float, r10: float, mnr: float = 5.0) -> Report:
    return Report({"full": {"R@1": r1, "R@5": r5, "R@10": r10, "MnR": mnr}}, {}, "val", 50)


def test_promotes_when_not_worse_and_keeps_the_current_model_otherwise():
    assert val_score(report(10, 40, 70)) == 120 - 0.005
    assert val_score(report(10, 40, 70)) == selection_score(report(10, 40, 70).model["full"])
    assert decide(report(10, 40, 70), None).promote
    assert decide(report(10, 40, 70), report(10, 40, 70)).promote  # equal is not worse
    better = decide(report(12, 41, 70), report(10, 40, 70))
    assert better.promote and "promoted: new 123.0 vs current 120.0" in better.reason
    worse = decide(report(9, 40, 70), report(10, 40, 70))
    assert not worse.promote and worse.reason.startswith("kept the current model")


def test_mnr_breaks_a_tie_in_recall():
    assert not decide(report(10, 40, 70, mnr=6.0), report(10, 40, 70, mnr=5.0)).promote
    assert decide(report(10, 40, 70, mnr=4.0), report(10, 40, 70, mnr=5.0)).promote


# ------------------------------------------------------------- retrain_and_decide, no Prefect


NOON = datetime(2026, 12, 6, 12, tzinfo=UTC)
OUT = f"models/{RunConfig().model.name}-20261206T120000"  # where a retrain at NOON trains


@dataclass
class Fake:
    """The steps as plain functions: training writes a checkpoint with a given fingerprint;
    the collection serves `current`; evaluation scores each folder as `scores` says."""

    library: Library
    fingerprint: str = "new"
    current: str | None = "models/current"
    scores: dict[str, float] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def train(self, library: Library, config: RunConfig, out: Path) -> dict[str, Any]:
        self.calls.append(("train", out))
        out.mkdir(parents=True)
        (out / "checkpoint.pt").write_bytes(b"weights")
        return {"fingerprint": self.fingerprint, "seconds": 1.0}

    def job(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, params))
        if name == "info":
            info = {"checkpoint": self.current, "fingerprint": "old"} if self.current else None
            return {"collection": info}
        return {"embedded": 3}

    def evaluate(self, library: Library, checkpoint: Path) -> Report:
        r1 = self.scores["current" if checkpoint.name == "current" else "new"]
        return report(r1, 40, 70)

    def steps(self) -> RetrainSteps:
        return RetrainSteps(
            train=self.train,
            job=self.job,
            evaluate=self.evaluate,
        )


@pytest.fixture
def lib(tmp_path) -> Library:
    lib = Library(tmp_path / "lib", create=True)
    lib.record("ingest", {"feature_key": "abc123def456"})
    lib.write_table("clips", pd.DataFrame({"clip_id": ["a"]}))
    current = lib.root / "models" / "current"
    current.mkdir(parents=True)
    (current / "checkpoint.pt").write_bytes(b"old weights")
    mark_trained(current, "an older library")
    return lib


def ledger(lib: Library) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (lib.root / RETRAINS).read_text().splitlines()]


def test_an_unchanged_library_trains_nothing(lib):
    mark_trained(lib.root / "models" / "current", training_key(lib, RunConfig()))
    fake = Fake(lib)
    record = retrain_and_decide(lib, RunConfig(), fake.steps(), NOON)
    assert record == {
        "trained": False,
        "promoted": False,
        "checkpoint": str(lib.root / "models/current"),
    }
    assert [name for name, _ in fake.calls] == ["info"]
    assert not (lib.root / RETRAINS).exists()


def test_the_same_model_again_is_removed_and_the_ledger_says_so(lib):
    fake = Fake(lib, fingerprint="old")  # the fingerprint the collection serves
    record = retrain_and_decide(lib, RunConfig(), fake.steps(), NOON)
    out = lib.root / OUT
    assert record["trained"] and not record["promoted"]
    assert record["checkpoint"] == OUT and not out.exists()
    key = training_key(lib, RunConfig())
    assert ledger(lib) == [{"time": "20261206T120000", "key": key, "checkpoint": OUT,
                            "fingerprint": "old", "promoted": False, "same": True}]  # fmt: skip
    assert "embed" not in [name for name, _ in fake.calls]
    again = Fake(lib, fingerprint="old")
    assert retrain_and_decide(lib, RunConfig(), again.steps(), NOON)["trained"] is False
    assert [name for name, _ in again.calls] == ["info"]


def test_a_worse_model_is_not_promoted_nor_kept_nor_trained_again(lib):
    fake = Fake(lib, scores={"new": 9.0, "current": 10.0})
    record = retrain_and_decide(lib, RunConfig(), fake.steps(), NOON)
    assert record["trained"] and not record["promoted"]
    assert (record["candidate"], record["current"]) == (119.0 - 0.005, 120.0 - 0.005)
    assert not (lib.root / record["checkpoint"]).exists()
    assert ledger(lib)[-1]["promoted"] is False and "embed" not in record
    assert RetrainLedger(lib).last_rejected() == training_key(lib, RunConfig())
    again = Fake(lib, scores={"new": 50.0, "current": 10.0})
    assert retrain_and_decide(lib, RunConfig(), again.steps(), NOON)["trained"] is False
    assert [name for name, _ in again.calls] == ["info"]


def test_a_better_model_is_promoted_through_the_embed_job(lib):
    fake = Fake(lib, scores={"new": 12.0, "current": 10.0})
    record = retrain_and_decide(lib, RunConfig(), fake.steps(), NOON)
    out = lib.root / OUT
    assert record["promoted"] and record["embed"] == {"embedded": 3}
    assert ("embed", {"checkpoint": str(out)}) in fake.calls
    assert trained_on(out) == training_key(lib, RunConfig())  # kept, with what it saw
    assert ledger(lib)[-1] == {**record, "embed": {"embedded": 3}}
    assert RetrainLedger(lib).last_rejected() is None


def test_without_a_collection_the_first_model_is_promoted(lib):
    fake = Fake(lib, current=None, scores={"new": 1.0})
    record = retrain_and_decide(lib, RunConfig(), fake.steps(), NOON)
    assert record["promoted"] and record["current"] is None
