"""Whether a retrained checkpoint replaces the one queries use: only when it is not worse on
the library's validation split (never the test split), scored by the full protocol's
selection_score (rsum, MnR breaking ties) -- the number training selects its best step by."""

from __future__ import annotations

from dataclasses import dataclass

from dancesearch.evaluation.offline import Report
from dancesearch.metrics import selection_score

SPLIT = "val"


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
