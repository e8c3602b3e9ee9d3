"""Retrieval metrics in plain numpy over a (queries x gallery) similarity matrix.

Tie policy: pessimistic. A query's rank is 1 + the number of wrong gallery items scoring at
least as high as its best correct item, so a model that scores everything alike ranks last,
never first. With several correct items (the threshold protocol) the rank is that of the first
correct item in the list.
"""

from __future__ import annotations

from math import comb

import numpy as np

KS = (1, 5, 10)


def ranks(sim: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """sim: (Q, G) scores, higher is better; correct: (Q, G) bool, at least one True per row
    -> (Q,) int ranks, 1 = first."""
    sim, correct = np.asarray(sim, dtype=np.float64), np.asarray(correct, dtype=bool)
    if sim.shape != correct.shape or sim.ndim != 2:
        raise ValueError(f"sim {sim.shape} and correct {correct.shape} must be the same (Q, G)")
    if not correct.any(axis=1).all():
        raise ValueError("every query needs at least one correct gallery item")
    best = np.where(correct, sim, -np.inf).max(axis=1)  # (Q,)
    wrong_above = (~correct & (sim >= best[:, None])).sum(axis=1)
    return (1 + wrong_above).astype(np.int64)


def summary(rank: np.ndarray, ks: tuple[int, ...] = KS) -> dict[str, float]:
    """R@K in %, MedR and MnR of an array of ranks."""
    rank = np.asarray(rank)
    out = {f"R@{k}": float(100 * np.mean(rank <= k)) for k in ks}
    out["MedR"] = float(np.median(rank))
    out["MnR"] = float(np.mean(rank))
    out["queries"] = float(len(rank))
    return out


def chance(
    gallery: int | np.ndarray, n_correct: np.ndarray, ks: tuple[int, ...] = KS
) -> dict[str, float]:
    """The same figures for a random ordering: per query a gallery of gallery[i] items (or one
    size for all) holding n_correct[i] correct ones. Exact expectations; MedR is the median of
    the expected ranks."""
    n = np.asarray(n_correct, dtype=np.int64)
    g = np.broadcast_to(np.asarray(gallery, dtype=np.int64), n.shape)
    out = {}
    for k in ks:
        miss = [
            comb(gi - c, k) / comb(gi, k) if k <= gi else 0.0 for gi, c in zip(g, n, strict=True)
        ]
        out[f"R@{k}"] = float(100 * (1 - np.mean(miss)))
    expected = (g + 1) / (n + 1)  # the first of c correct among G in random order
    out["MedR"] = float(np.median(expected))
    out["MnR"] = float(np.mean(expected))
    out["queries"] = float(len(n))
    return out


def graded(
    sim: np.ndarray,
    relevance: np.ndarray,
    ks: tuple[int, ...] = KS,
    ndcg_at: int = 10,
    draws: int = 20,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Per-query figures for graded relevance, in %: R@K (an item of the top grade in the first
    K), nDCG@ndcg_at (gain = grade) and AP (items of the top grade are the relevant ones).

    sim: (Q, G) scores; relevance: (Q, G) int grades, 0 = not relevant, each row holding at
    least one item of grade relevance.max(). Ties are broken at random and the figures
    averaged over `draws` orderings: the expected value under a random order of tied items
    (a constant scorer gets chance, neither last nor first place).
    """
    sim, rel = np.asarray(sim, dtype=np.float64), np.asarray(relevance, dtype=np.int64)
    if sim.shape != rel.shape or sim.ndim != 2:
        raise ValueError(f"sim {sim.shape} and relevance {rel.shape} must be the same (Q, G)")
    top = rel.max()
    target = rel == top  # (Q, G)
    if not target.any(axis=1).all():
        raise ValueError(f"every query needs an item of grade {top}")
    q, g = sim.shape
    n = min(ndcg_at, g)
    discount = 1.0 / np.log2(np.arange(2, n + 2))  # (n,)
    ideal = (np.sort(rel, axis=1)[:, ::-1][:, :n] * discount).sum(axis=1)  # (Q,)
    rng = np.random.default_rng(seed)
    out = {f"R@{k}": np.zeros(q) for k in ks} | {f"nDCG@{ndcg_at}": np.zeros(q), "AP": np.zeros(q)}
    rows = np.arange(q)[:, None]
    for _ in range(draws):
        order = np.lexsort((rng.random((q, g)), -sim), axis=1)  # (Q, G) best first
        hit = target[rows, order]  # (Q, G) in ranked order
        first = hit.argmax(axis=1)  # 0-based rank of the first top-grade item
        for k in ks:
            out[f"R@{k}"] += first < k
        out[f"nDCG@{ndcg_at}"] += (rel[rows, order[:, :n]] * discount).sum(axis=1) / ideal
        precision = np.cumsum(hit, axis=1) / np.arange(1, g + 1)
        out["AP"] += (precision * hit).sum(axis=1) / hit.sum(axis=1)
    return {k: 100 * v / draws for k, v in out.items()}


def selection_score(full: dict[str, float]) -> float:
    """The one number models are chosen by -- training's best step on val and retrain's
    promotion alike: rsum, R@1 + R@5 + R@10 (%), with MnR breaking ties (0.001 per rank).
    full: the figures of summary(), as the full protocol gives them."""
    return full["R@1"] + full["R@5"] + full["R@10"] - 1e-3 * full["MnR"]


def ranks_averaged(sim: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """(Q,) float ranks with ties averaged, as TMR and most motion-retrieval papers count them:
    1 + the wrong items scoring above the best correct one + half of those tied with it.
    Shapes as `ranks`."""
    sim, correct = np.asarray(sim, dtype=np.float64), np.asarray(correct, dtype=bool)
    if sim.shape != correct.shape or sim.ndim != 2 or not correct.any(axis=1).all():
        raise ValueError("sim and correct must be the same (Q, G), a correct item in every row")
    best = np.where(correct, sim, -np.inf).max(axis=1)[:, None]
    above = (~correct & (sim > best)).sum(axis=1)
    tied = (~correct & (sim == best)).sum(axis=1)
    return 1.0 + above + 0.5 * tied
