"""Retrieval metrics equal a naive sort-and-look implementation, ties included."""

from __future__ import annotations

import itertools
from math import isclose

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dancesearch.metrics import chance, graded, ranks, ranks_averaged, selection_score, summary


def naive_rank(scores: np.ndarray, correct: np.ndarray) -> int:
    """Sort the gallery best first, wrong items before correct ones on ties; first correct."""
    order = sorted(range(len(scores)), key=lambda g: (-scores[g], bool(correct[g])))
    return 1 + next(i for i, g in enumerate(order) if correct[g])


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 9),
    st.integers(0, 2**31 - 1),
    st.booleans(),
)
def test_ranks_equal_the_naive_implementation(q: int, g: int, seed: int, tied: bool) -> None:
    rng = np.random.default_rng(seed)
    sim = rng.integers(0, 3, (q, g)).astype(float) if tied else rng.normal(size=(q, g))
    correct = rng.random((q, g)) < 0.3
    correct[np.arange(q), rng.integers(0, g, q)] = True
    expected = [naive_rank(sim[i], correct[i]) for i in range(q)]
    assert ranks(sim, correct).tolist() == expected


def test_a_constant_scorer_ranks_last_not_first() -> None:
    sim = np.zeros((3, 10))
    own = np.eye(3, 10, dtype=bool)
    assert ranks(sim, own).tolist() == [10, 10, 10]


def test_summary_of_known_ranks() -> None:
    s = summary(np.array([1, 2, 6, 11]))
    assert (s["R@1"], s["R@5"], s["R@10"], s["MedR"], s["MnR"]) == (25.0, 50.0, 75.0, 4.0, 5.0)


@pytest.mark.parametrize(("gallery", "n_correct"), [(5, 1), (6, 2), (7, 3)])
def test_chance_equals_the_average_over_every_ordering(gallery: int, n_correct: int) -> None:
    correct = np.zeros(gallery, bool)
    correct[:n_correct] = True
    all_ranks = [
        naive_rank(np.array(perm, float), correct)
        for perm in itertools.permutations(range(gallery))
    ]
    c = chance(gallery, np.array([n_correct]), ks=(1, 2))
    assert isclose(c["MnR"], np.mean(all_ranks))
    assert isclose(c["R@1"], 100 * np.mean(np.array(all_ranks) <= 1))
    assert isclose(c["R@2"], 100 * np.mean(np.array(all_ranks) <= 2))


def test_ranks_reject_a_query_without_a_correct_item() -> None:
    with pytest.raises(ValueError, match="at least one correct"):
        ranks(np.zeros((2, 3)), np.array([[True, False, False], [False] * 3]))


def _graded_naive(order: np.ndarray, rel: np.ndarray, k_ndcg: int = 10) -> dict[str, float]:
    """One ranked list (gallery positions best first) scored by the textbook formulas."""
    ranked = rel[order]
    top = rel.max()
    first = int(np.flatnonzero(ranked == top)[0]) + 1
    dcg = sum(ranked[i] / np.log2(i + 2) for i in range(min(k_ndcg, len(rel))))
    ideal = sorted(rel, reverse=True)
    idcg = sum(ideal[i] / np.log2(i + 2) for i in range(min(k_ndcg, len(rel))))
    hits = np.flatnonzero(ranked == top)
    ap = np.mean([(j + 1) / (h + 1) for j, h in enumerate(hits)])
    return {"R@1": 100.0 * (first <= 1), "R@5": 100.0 * (first <= 5),
            "nDCG@10": 100 * dcg / idcg, "AP": 100 * ap}  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_graded_metrics_equal_the_textbook_formulas_without_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rel = rng.integers(0, 3, size=(4, 30))
    rel[:, 0] = 2
    sim = rng.random((4, 30))
    got = graded(sim, rel, draws=3)
    for i in range(4):
        want = _graded_naive(np.argsort(-sim[i]), rel[i])
        for key, value in want.items():
            assert got[key][i] == pytest.approx(value)


def test_graded_ties_give_chance_not_last_place() -> None:
    rel = np.zeros((1, 20), int)
    rel[0, 3] = 2
    got = graded(np.zeros((1, 20)), rel, draws=4000, seed=1)
    assert got["R@1"][0] == pytest.approx(100 / 20, abs=1.5)
    assert got["R@10"][0] == pytest.approx(50, abs=3)


def test_selection_score_is_rsum_with_mnr_breaking_ties() -> None:
    s = summary(np.array([1, 2, 6, 11]))  # R@1 25, R@5 50, R@10 75, MnR 5
    assert selection_score(s) == pytest.approx(150 - 0.005)
    worse_mnr = summary(np.array([1, 2, 6, 19]))  # the same recalls, MnR 7
    assert selection_score(worse_mnr) < selection_score(s)


def test_averaged_ties_split_the_difference() -> None:
    sim = np.array([[0.5, 0.5, 0.5, 0.1], [0.9, 0.5, 0.5, 0.5]])
    correct = np.array([[True, False, False, False], [False, True, False, False]])
    # query 0 ties with two wrong items: rank 1 + 0 + 2 / 2; query 1: one above, two tied
    assert ranks_averaged(sim, correct).tolist() == [2.0, 2.5 + 0.5]
    assert ranks(sim, correct).tolist() == [3, 4]  # the pessimistic count for contrast
