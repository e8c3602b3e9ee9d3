"""The protocols on a hand-made gallery: a perfect scorer, the threshold protocol's near
duplicates, caption matching leaving out the query's own caption; and the module stays
torch-free."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from dancesearch.dataset import ClipSet
from dancesearch.evaluation.protocols import (
    caption_matching,
    duplicate_ceiling,
    one_caption_per_clip,
    protocols,
    queries_of,
    true_of,
)


def gallery() -> ClipSet:
    """Three clips: two share a template caption, the third has a people's caption."""
    clips = pd.DataFrame({
        "clip_id": ["a", "b", "c"], "has_music": [True, False, True],
        "source": ["m2d", "bandai", "m2d"], "genre_key": ["waltz", "walk", "waltz"],
    })  # fmt: skip
    captions = [["a waltz", "slow turns"], ["a waltz"], ["someone walks happily"]]
    sources = [["template", "human"], ["template"], ["human"]]
    return ClipSet(clips, captions, sources, {})


def minilm(texts: list[str]) -> np.ndarray:
    """A stand-in text space: equal texts get equal vectors, different texts orthogonal ones."""
    distinct = sorted(set(texts))
    return np.eye(len(distinct))[[distinct.index(t) for t in texts]]


def test_a_perfect_scorer_and_the_near_duplicates_of_the_threshold_protocol():
    data = gallery()
    q = queries_of(data, minilm)
    assert q.texts == ["a waltz", "slow turns", "a waltz", "someone walks happily"]
    assert q.clip.tolist() == [0, 0, 1, 2] and q.human.tolist() == [False, True, False, True]
    own = np.eye(3)[q.clip]  # (Q, G): each query scores its own clip highest
    reference = caption_matching(q, data)
    figures = protocols(own, q, data)
    assert figures["full"]["R@1"] == 100 and figures["full"]["gallery"] == 3
    assert figures["full"]["chance MnR"] == 2.0  # (G + 1) / 2
    # "a waltz" of clip a has its twin in clip b: both clips count, so chance ranks it better
    assert figures["threshold"]["chance MnR"] == np.mean([4 / 3, 2, 4 / 3, 2])
    assert figures["queries: people"]["queries"] == 2 and figures["clips: silent"]["queries"] == 1
    assert set(figures) >= {"source: m2d", "genre: walk", "dance->text", "batch32"}
    # caption matching ranks by the other captions only: "a waltz" of clip a matches clip b
    # best, and the one caption of clip c matches nothing
    assert reference["full"]["R@1"] == 0 and reference["full"]["MnR"] == 3


def test_the_protocols_import_no_torch():
    code = "import sys, dancesearch.evaluation.protocols; print('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[2]  # this checkout's package, not an installed one
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"


def test_a_slow_waltz_query_is_true_of_slow_waltzes_only():
    """Relevance comes from the tags a caption claims, not from how alike two texts read."""
    clips = pd.DataFrame({
        "clip_id": ["slow", "fast", "slow2"], "has_music": [True] * 3,
        "source": ["m2d"] * 3, "genre_key": ["waltz"] * 3,
    })  # fmt: skip
    waltz, slow, fast = "genre.waltz", "tempo.slow", "tempo.fast"
    data = ClipSet(
        clips,
        [["a slow waltz"], ["a fast waltz"], ["a gentle waltz", "a waltz"]],
        [["template"], ["template"], ["template", "label"]],
        {},
        [[frozenset({waltz, slow})], [frozenset({waltz, fast})], [frozenset({waltz}), frozenset()]],
        [frozenset({waltz, slow}), frozenset({waltz, fast}), frozenset({waltz, slow})],
    )
    q = queries_of(data, minilm)
    relevant = true_of(q, data)
    assert relevant.tolist() == [
        [True, False, True],  # "a slow waltz": the other slow waltz too, never the fast one
        [False, True, False],
        [True, True, True],  # "a gentle waltz" claims only the genre
        [False, False, True],  # a label claims no tag: its own clip (and exact twins) only
    ]


def test_one_caption_per_clip_and_the_duplicate_ceiling():
    data = gallery()
    q = queries_of(data, minilm)
    # clip a: its template "a waltz" (not the human "slow turns"); b: "a waltz"; c: its only one
    assert one_caption_per_clip(q).tolist() == [0, 2, 3]
    # "a waltz" sits on two clips (1/2 each), the other two captions on one
    assert duplicate_ceiling(q, data) == 100 * np.mean([0.5, 1, 0.5, 1])
    figures = protocols(np.zeros((4, 3)), q, data)  # a constant scorer, ties averaged: rank 2
    assert figures["one caption per clip"]["MnR"] == 2.0


def test_the_rule_tag_reference_ranks_by_the_tags_a_query_names():
    from dancesearch.evaluation.references import rule_tag_scores

    tags = [frozenset({"genre.waltz", "tempo.slow"}), frozenset({"genre.waltz"}), frozenset()]
    scores = rule_tag_scores(["a slow waltz", "a waltz", "someone walks"], tags)
    assert scores[0, 0] > scores[0, 1] > scores[0, 2] == 0  # slow is the rarer, extra tag
    assert scores[1, 0] == scores[1, 1] > 0 and not scores[2].any()
