"""Retrain and decide: train on the library when it changed since the current model was
trained, and promote the new checkpoint only when it is not worse on the library's validation
split (never the test split), scored by the full protocol's selection_score (rsum, MnR
breaking ties) -- the number training selects its best step by. Each decision is a line of the
ledger models/retrain.jsonl.

The work itself (training, collection jobs) is handed in as callables, so the `retrain`
deployment runs it as Prefect steps with retries and a test runs it as plain functions.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dancesearch.encoders.config import RunConfig
from dancesearch.evaluation.offline import Report, evaluate_checkpoint
from dancesearch.freshness import mark_trained, trained_on, training_key
from dancesearch.metrics import selection_score
from dancesearch.storage.library import Library

SPLIT = "val"
RETRAINS = Path("models") / "retrain.jsonl"  # one line per retrain: its figures and decision


def val_score(report: Report) -> float:
    """selection_score of the full protocol: R@1 + R@5 + R@10 (%) - 0.001 MnR."""
    return selection_score(report.model["full"])


@dataclass(frozen=True)
class Decision:
    promote: bool
    candidate: float  # val score of the new checkpoint
    current: float | None  # val score of the one queries use now (None: there is none)

    @property
    def reason(self) -> str:
        if self.current is None:
            return f"no current model; the new one scores {self.candidate:.1f} on {SPLIT}"
        verb = "promoted" if self.promote else "kept the current model"
        return (f"{verb}: new {self.candidate:.1f} vs current {self.current:.1f} "
                f"(R@1+R@5+R@10, MnR breaking ties, on {SPLIT})")  # fmt: skip


def decide(candidate: Report, current: Report | None) -> Decision:
    """Promote the candidate unless it scores below the current model on validation."""
    new = val_score(candidate)
    if current is None:
        return Decision(True, new, None)
    old = val_score(current)
    return Decision(new >= old, new, old)


class RetrainLedger:
    """models/retrain.jsonl: one JSON line per retrain, appended (what was trained, its
    figures and the decision)."""

    def __init__(self, library: Library) -> None:
        self.path = library.root / RETRAINS

    def append(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record, default=str) + "\n")

    def last_rejected(self) -> str | None:
        """The training key of the last retrain, when its model was not promoted."""
        lines = self.path.read_text().splitlines() if self.path.is_file() else []
        last = json.loads(lines[-1]) if lines else {}
        return None if last.get("promoted", True) else last.get("key")


def evaluate_on_val(library: Library, checkpoint: Path) -> Report:
    """The checkpoint's figures on the library's validation split (every protocol)."""
    return evaluate_checkpoint(library, checkpoint, SPLIT)


@dataclass(frozen=True)
class RetrainSteps:
    """The work retrain_and_decide hands out: in the deployment, Prefect's `train` subflow and
    its retried collection-job task; in tests, plain functions."""

    # train(library, config, out) -> {"fingerprint": ..., ...}: writes out/checkpoint.pt
    train: Callable[[Library, RunConfig, Path], dict[str, Any]]
    # job(name, params) -> result of a collection job ("info", "embed") on the library
    job: Callable[[str, dict[str, Any]], dict[str, Any]]
    evaluate: Callable[[Library, Path], Report] = evaluate_on_val
    log: logging.Logger | logging.LoggerAdapter[Any] = field(
        default_factory=lambda: logging.getLogger(__name__)
    )


def retrain_and_decide(
    library: Library, config: RunConfig, steps: RetrainSteps, now: datetime | None = None
) -> dict[str, Any]:
    """Train config on the library when it changed since the current model (or the last
    rejected one) was trained, into models/<name>-<time>/; promote it (the `embed` job with
    the new checkpoint) only when it is not worse on validation. A model that is the same as
    the current one (same fingerprint: training is deterministic) or worse is removed; its
    figures stay in the ledger. Returns the ledger's record (or, when nothing was to do,
    {"trained": False, ...})."""
    log, ledger = steps.log, RetrainLedger(library)
    key = training_key(library, config)
    info = steps.job("info", {})["collection"]
    current = library.resolve_checkpoint(info["checkpoint"]) if info else None
    if current is not None and key in (trained_on(current), ledger.last_rejected()):
        log.info("the library is as the current (or the last rejected) model saw it: nothing to do")
        return {"trained": False, "promoted": False, "checkpoint": str(current)}
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    out = library.root / "models" / f"{config.model.name}-{stamp}"
    result = steps.train(library, config, out)
    mark_trained(out, key)
    record = {"time": stamp, "key": key, "checkpoint": str(out.relative_to(library.root)),
              "fingerprint": result["fingerprint"]}  # fmt: skip
    if info and result["fingerprint"] == info["fingerprint"]:  # training is deterministic
        log.info("retrain: the same model as the current one; nothing to promote")
        shutil.rmtree(out)
        ledger.append({**record, "promoted": False, "same": True})
        return {**record, "trained": True, "promoted": False}
    new = steps.evaluate(library, out)
    old = steps.evaluate(library, current) if current else None
    decision = decide(new, old)
    log.info("retrain: %s", decision.reason)
    record |= {"trained": True, "promoted": decision.promote, "candidate": decision.candidate,
               "current": decision.current}  # fmt: skip
    if decision.promote:
        record["embed"] = steps.job("embed", {"checkpoint": str(out)})
    else:
        shutil.rmtree(out)  # a worse model is not kept; its figures are in the record
    ledger.append(record)
    return record
