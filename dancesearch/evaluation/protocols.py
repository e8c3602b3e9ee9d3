"""Honest text -> dance evaluation in plain numpy: the protocols over a (queries x gallery)
similarity matrix, their breakdowns, dance -> text as a diagnostic, chance, and the reference
that reads no motion or music. Whoever computed the scores (in memory, or Qdrant) is no
concern of this module.

Protocols (every caption of a gallery clip is one query):
  full       the gallery is every clip of the split; the query's own clip is the one correct item
  threshold  also correct: every clip the query is true of -- one holding the very same
             caption (templates and labels repeat word for word), or, for a generated caption,
             one carrying every tag the caption claims. Relevance comes from tags, not from
             text similarity: MiniLM puts "a slow waltz" and "a fast waltz" at cosine 0.95, so
             a similarity threshold counted a fast waltz as a slow one. (The block keeps its
             old name, which the history and reports use.)
  batch32    the gallery cut into seeded batches of 32 clips, a query ranked within its batch
  one caption per clip  comparable with TMR and the motion-retrieval papers: each clip's first
             generated caption (else its first) is its one query, ties averaged
Every block carries its gallery size and chance level. The full block also gives the
duplicate-caption ceiling: the R@1 a perfect scorer reaches in expectation when a query's exact
text sits on k clips and nothing else tells them apart (the mean of 1 / k).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dancesearch.metrics import chance, ranks, ranks_averaged, summary

if TYPE_CHECKING:
    from dancesearch.dataset import ClipSet

BATCH = 32
PEOPLE_SOURCES = ("human", "label")  # captions people wrote, versus generated templates

# block ("full", "threshold", "batch32", "source: aistpp", ...) -> figure ("R@1", ...) -> value
Figures = dict[str, dict[str, float]]


@dataclass
class Queries:
    """Q queries over a gallery of G clips: the text, its clip (gallery position), whether
    people wrote it, and its MiniLM vector (unit length) for the protocol and the references."""

    texts: list[str]
    clip: np.ndarray  # (Q,) int
    human: np.ndarray  # (Q,) bool
    caption_pos: np.ndarray  # (Q,) int, the query's own caption among all captions below
    vectors: np.ndarray  # (Q, 384)
    claims: list[frozenset[str]] = field(default_factory=list)  # tags each query claims


def queries_of(data: ClipSet, minilm: Callable[[list[str]], np.ndarray]) -> Queries:
    """Every caption of every clip of `data` as a query; minilm: texts -> (Q, 384) vectors."""
    texts, clip, human = [], [], []
    for i, (caps, sources) in enumerate(zip(data.captions, data.caption_sources, strict=True)):
        texts += caps
        clip += [i] * len(caps)
        human += [s in PEOPLE_SOURCES for s in sources]
    claims = [c for per_clip in data.caption_claims for c in per_clip]
    v = minilm(texts)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    return Queries(texts, np.array(clip), np.array(human), np.arange(len(texts)), v, claims)


def true_of(q: Queries, data: ClipSet) -> np.ndarray:
    """(Q, G) bool: the clips each query is true of (see the threshold protocol): its own, any
    holding the same caption text, and, for a query that claims tags, any carrying them all."""
    out = np.zeros((len(q.texts), len(data)), dtype=bool)
    out[np.arange(len(q.texts)), q.clip] = True
    holders: dict[str, list[int]] = {}
    for g, caps in enumerate(data.captions):
        for text in set(caps):
            holders.setdefault(text, []).append(g)
    for i, text in enumerate(q.texts):
        out[i, holders.get(text, [])] = True
    if q.claims and data.tags:
        for i, claimed in enumerate(q.claims):
            if claimed and not q.human[i]:
                out[i] |= np.array([claimed <= tags for tags in data.tags])
    return out


def caption_sets(data: ClipSet, q: Queries) -> np.ndarray:
    """(Q, G) the highest MiniLM similarity between each query and each clip's captions,
    leaving out the query's own caption."""
    sim_cc = q.vectors @ q.vectors.T  # (Q, Q): queries are exactly the captions
    np.fill_diagonal(sim_cc, -np.inf)
    out = np.full((len(q.texts), len(data)), -np.inf)
    for g in range(len(data)):
        cols = q.clip == g
        out[:, g] = sim_cc[:, cols].max(axis=1)
    return out


def protocols(sim: np.ndarray, q: Queries, data: ClipSet, seed: int = 0) -> Figures:
    """The three protocols with chance levels, and the breakdowns of the full protocol.
    sim: (Q, G) scores of the queries over the clips of `data`."""
    n_gallery = sim.shape[1]
    own = np.zeros_like(sim, dtype=bool)
    own[np.arange(len(q.clip)), q.clip] = True
    out: Figures = {}
    full = ranks(sim, own)
    out["full"] = {
        **summary(full),
        "gallery": n_gallery,
        **_chance(chance(n_gallery, np.ones(len(full)))),
        "ceiling R@1": duplicate_ceiling(q, data),
    }
    one = one_caption_per_clip(q)
    out["one caption per clip"] = {
        **summary(ranks_averaged(sim[one], own[one])),
        "gallery": n_gallery,
        **_chance(chance(n_gallery, np.ones(len(one)))),
    }
    near = true_of(q, data)
    thr = ranks(sim, near)
    out["threshold"] = {
        **summary(thr),
        "gallery": n_gallery,
        **_chance(chance(n_gallery, near.sum(axis=1))),
    }
    order = np.random.default_rng(seed).permutation(n_gallery)
    batch_of = np.empty(n_gallery, int)
    batch_of[order] = np.arange(n_gallery) // BATCH
    in_batch = batch_of[None, :] == batch_of[q.clip][:, None]  # (Q, G)
    b_ranks = ranks(np.where(in_batch, sim, -np.inf), own)
    sizes = in_batch.sum(axis=1)
    out["batch32"] = {
        **summary(b_ranks),
        "gallery": BATCH,
        **_chance(chance(sizes, np.ones(len(sizes)))),
    }
    clips = data.clips
    groups: dict[str, np.ndarray] = {
        "queries: people": q.human,
        "queries: templates": ~q.human,
        "clips: with music": clips["has_music"].to_numpy(bool)[q.clip],
        "clips: silent": ~clips["has_music"].to_numpy(bool)[q.clip],
    }
    for column, label in (("source", "source"), ("genre_key", "genre")):
        values = clips[column].astype(str).to_numpy()[q.clip]
        groups.update({f"{label}: {v}": values == v for v in sorted(set(values))})
    for name, keep in groups.items():
        if keep.any():
            out[name] = {**summary(full[keep]), "gallery": n_gallery}
    d2t = ranks(sim.T, own.T)
    out["dance->text"] = {**summary(d2t), "gallery": float(len(q.texts))}
    return out


def duplicate_ceiling(q: Queries, data: ClipSet) -> float:
    """R@1 in % that a scorer reaches in expectation when it can tell apart only clips whose
    captions differ: per query 1 / (clips holding its exact text)."""
    holders: dict[str, int] = {}
    for caps in data.captions:
        for text in set(caps):
            holders[text] = holders.get(text, 0) + 1
    return float(100 * np.mean([1 / holders.get(t, 1) for t in q.texts]))


def one_caption_per_clip(q: Queries) -> np.ndarray:
    """Positions of one query per clip: its first generated caption, else its first caption."""
    chosen: dict[int, int] = {}
    for i, (clip, human) in enumerate(zip(q.clip.tolist(), q.human.tolist(), strict=True)):
        if clip not in chosen or (q.human[chosen[clip]] and not human):
            chosen[clip] = i
    return np.array(sorted(chosen.values()), dtype=np.int64)


def _chance(figures: dict[str, float]) -> dict[str, float]:
    return {f"chance {k}": v for k, v in figures.items() if k != "queries"}


def caption_matching(q: Queries, data: ClipSet, seed: int = 0) -> Figures:
    """The reference that reads no motion or music: rank clips by the MiniLM similarity between
    the query and the clip's other captions."""
    sim = caption_sets(data, q)
    return protocols(sim, q, data, seed)
