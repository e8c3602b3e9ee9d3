"""Evaluation through Qdrant: every caption of a split's clips queries the library's current
collection, filtered to that split (the full gallery), and the protocols run on the scores
Qdrant returned -- so the figures are those of the search people use, and equal the in-memory
evaluation (evaluation.offline) for dense ranking. Text (BM25) and hybrid (RRF) ranking are
scored the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dancesearch import checkpoint as ckpt_io
from dancesearch.dataset import ClipSet, load_clipset
from dancesearch.encoders.inference import query_texts
from dancesearch.encoders.text import minilm_cache
from dancesearch.errors import ConfigError, LibraryError
from dancesearch.evaluation.protocols import Figures, Queries, caption_sets, protocols, queries_of
from dancesearch.storage.filters import SearchFilter
from dancesearch.storage.library import Library
from dancesearch.storage.store import Hit, Store

MODES = ("dense", "text", "hybrid")


@dataclass
class Scores:
    """(Q, G) scores Qdrant gave each caption of a split's clips, per ranking mode."""

    queries: Queries
    gallery: ClipSet
    caption_sim: np.ndarray  # (Q, G) the caption-matching reference's scores
    by_mode: dict[str, np.ndarray]


def evaluate_collection(
    library: Library,
    store: Store,
    split: str = "test",
    modes: tuple[str, ...] = MODES,
    *,
    weights: tuple[float, float] | None,
    fusion: str,
    seed: int = 0,
) -> dict[str, Figures]:
    """mode -> the protocols' figures (as evaluation.protocols.protocols gives them) of ranking
    the `split` clips of the current collection by every caption of theirs. weights: the
    hybrid's (dense, text) weights and fusion ("sum", "rrf" or "dbsf"); the caller gives those
    `dancesearch query` uses (search.query.HYBRID_WEIGHTS, HYBRID_FUSION), as search sits above
    evaluation."""
    s = collection_scores(library, store, split, modes, weights=weights, fusion=fusion)
    return {mode: protocols(sim, s.queries, s.gallery, seed) for mode, sim in s.by_mode.items()}


def collection_scores(
    library: Library,
    store: Store,
    split: str = "test",
    modes: tuple[str, ...] = MODES,
    *,
    weights: tuple[float, float] | None,
    fusion: str,
) -> Scores:
    """Query the current collection, filtered to `split`, with every caption of its clips."""
    name = store.current()
    info = store.info(name) if name else None
    if info is None:
        raise LibraryError(f"{store.where}: no collection to evaluate; run `dancesearch embed`")
    store.require(info.fingerprint)
    folder = library.resolve_checkpoint(info.checkpoint)
    ckpt = ckpt_io.load(folder)
    if ckpt.fingerprint != info.fingerprint:
        raise ConfigError(f"{info.checkpoint}: not the checkpoint collection {info.name} holds")
    data = load_clipset(library)
    gallery = data.subset(np.flatnonzero(data.clips["split"] == split))
    where = SearchFilter(splits=(split,))
    if len(gallery) < 2:
        raise LibraryError(f"{library.root}: the {split} split holds {len(gallery)} clips; need 2")
    held = store.count(info.name, where)
    if held != len(gallery):
        raise LibraryError(
            f"{store.where}: collection {info.name} holds {held} {split} clips, the library "
            f"{len(gallery)}; run `dancesearch embed` first"
        )
    q = queries_of(gallery, minilm_cache())
    vectors = query_texts(ckpt, folder)(q.texts)  # (Q, E), as `dancesearch query` encodes
    by_mode = {}
    for mode in modes:

        def run(i: int, mode: str = mode) -> list[Hit]:
            n = len(gallery)
            if mode == "dense":
                return store.search(info.name, vectors[i], n, where)
            if mode == "text":
                return store.search_text(info.name, q.texts[i], n, where)
            return store.hybrid(info.name, vectors[i], q.texts[i], n, where, weights, n, fusion)

        by_mode[mode] = score_matrix(run, q, gallery)
    return Scores(q, gallery, caption_sets(gallery, q), by_mode)


def score_matrix(run: Callable[[int], list[Hit]], q: Queries, gallery: ClipSet) -> np.ndarray:
    """(Q, G) the scores Qdrant returned for query i (run(i)); -inf for a clip it left out."""
    position = {c: g for g, c in enumerate(gallery.clips["clip_id"])}
    sim = np.full((len(q.texts), len(gallery)), -np.inf)
    for i in range(len(q.texts)):
        for hit in run(i):
            sim[i, position[hit.clip_id]] = hit.score
    return sim
