"""The rule-tag retriever: a reference that reads no motion, no music and no model. The query
is parsed into tags with the caption lexicon (the words the caption writer uses for each tag),
and clips are ranked by the tags they carry among those, each weighted by its rarity."""

from __future__ import annotations

import numpy as np

from dancesearch.annotate.captions import named_tags
from dancesearch.annotate.taxonomy import load_taxonomy
from dancesearch.dataset import ClipSet
from dancesearch.evaluation.protocols import Figures, Queries, protocols


def rule_tag_scores(texts: list[str], clip_tags: list[frozenset[str]]) -> np.ndarray:
    """(Q, G): the idf-weighted count of the tags a query names that each clip carries."""
    taxonomy = load_taxonomy()
    n = len(clip_tags)
    df: dict[str, int] = {}
    for tags in clip_tags:
        for t in tags:
            df[t] = df.get(t, 0) + 1
    out = np.zeros((len(texts), n))
    for i, text in enumerate(texts):
        for t in named_tags(text, taxonomy):
            carries = np.array([t in tags for tags in clip_tags])
            out[i] += np.log((n + 1) / (df.get(t, 0) + 0.5)) * carries
    return out


def rule_tags(q: Queries, data: ClipSet, seed: int = 0) -> Figures:
    """Every protocol, ranked by rule_tag_scores (ties pessimistic, as for every ranker)."""
    return protocols(rule_tag_scores(q.texts, data.tags), q, data, seed)
