"""Retrain promotes a new checkpoint only when it is not worse on validation."""

from dancesearch.evaluate import Report
from dancesearch.promote import decide, val_score


def report(r1: float, r5: float, r10: float) -> Report:
    return Report({"full": {"R@1": r1, "R@5": r5, "R@10": r10}}, {}, "val", 50)


def test_promotes_when_not_worse_and_keeps_the_current_model_otherwise():
    assert val_score(report(10, 40, 70)) == 40
    assert decide(report(10, 40, 70), None).promote
    assert decide(report(10, 40, 70), report(10, 40, 70)).promote  # equal is not worse
    better = decide(report(12, 41, 70), report(10, 40, 70))
    assert better.promote and "promoted: new 41.0 vs current 40.0" in better.reason
    worse = decide(report(9, 40, 70), report(10, 40, 70))
    assert not worse.promote and worse.reason.startswith("kept the current model")
