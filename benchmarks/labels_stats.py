"""Statistics of the label benchmark: means with 95 % intervals by a bootstrap over clusters
(the recordings a query is about: its content x style cell), and paired per-query differences
with their standard error clustered the same way."""

from __future__ import annotations

import numpy as np


def summarise(
    values: np.ndarray, clusters: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): the mean of per-query values and its 95 % bootstrap interval,
    resampling whole clusters."""
    values, clusters = np.asarray(values, float), np.asarray(clusters)
    ids, inverse = np.unique(clusters, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(ids))
    counts = np.bincount(inverse, minlength=len(ids))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(ids), size=(n_boot, len(ids)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(values.mean()), float(low), float(high)


def paired(a: np.ndarray, b: np.ndarray, clusters: np.ndarray) -> tuple[float, float]:
    """(mean of a - b, its cluster-robust standard error) over paired per-query values."""
    d = np.asarray(a, float) - np.asarray(b, float)
    clusters = np.asarray(clusters)
    ids, inverse = np.unique(clusters, return_inverse=True)
    resid = np.bincount(inverse, weights=d - d.mean(), minlength=len(ids))
    g = len(ids)
    correction = g / (g - 1) if g > 1 else 1.0
    return float(d.mean()), float(np.sqrt(correction * (resid**2).sum()) / len(d))
