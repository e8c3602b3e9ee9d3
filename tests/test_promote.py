"""Retrain promotes a new checkpoint only when it is not worse on validation, by the score
training selects with."""

from dancesearch.evaluation.offline import Report
from dancesearch.metrics import selection_score
from dancesearch.promote import decide, val_score


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
