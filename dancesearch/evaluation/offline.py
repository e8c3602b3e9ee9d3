"""Evaluation in memory: a model embeds a split's clips and its captions, and the protocols
score the result beside the caption-matching reference. A checkpoint on disk is evaluated
with the text encoder `dancesearch query` uses (its ONNX export, when it has one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from dancesearch.dataset import ClipSet, Normaliser, load_clipset
from dancesearch.encoders.inference import (
    TextEncoder,
    embed_gallery,
    load_for,
    query_texts,
    similarity,
    torch_texts,
)
from dancesearch.encoders.model import DanceTextModel
from dancesearch.encoders.text import minilm_cache
from dancesearch.evaluation.protocols import Figures, Queries, caption_sets, protocols, queries_of
from dancesearch.evaluation.references import rule_tags
from dancesearch.storage.library import Library


@dataclass
class Report:
    """Evaluation of one model on one split: its protocols and the caption-matching reference."""

    model: Figures
    caption_matching: Figures
    split: str
    clips: int
    rule_tags: Figures = field(default_factory=dict)  # the rule-tag reference (no model)


def evaluate_model(
    model: DanceTextModel,
    data: ClipSet,
    norm: Normaliser,
    text_vectors: TextEncoder,
    q: Queries,
    seed: int = 0,
) -> Figures:
    """Every protocol and breakdown of a model on the clips of `data` (the full gallery)."""
    gallery = embed_gallery(model, data, norm)
    sim = similarity(model, torch.from_numpy(text_vectors(q.texts)), gallery)
    return protocols(sim, q, data, seed)


def evaluate_clips(
    model: DanceTextModel,
    norm: Normaliser,
    data: ClipSet,
    minilm: Callable[[list[str]], np.ndarray] | None = None,
    text_cache: Callable[[list[str]], np.ndarray] | None = None,
    split: str = "test",
    seed: int = 0,
    texts: TextEncoder | None = None,
) -> Report:
    """Evaluate on the clips of `data` whose split is `split` (the full gallery of that split).
    texts: the text side to evaluate (None: the torch model's, reading text_cache's backbone
    vectors by text for a frozen backbone, or encoding the texts when text_cache is None)."""
    minilm = minilm or minilm_cache()
    gallery = data.subset(np.flatnonzero(data.clips["split"] == split))
    if len(gallery) < 2:
        raise ValueError(f"the {split} split holds {len(gallery)} clips; need at least 2")
    q = queries_of(gallery, minilm)
    caption_sim = caption_sets(gallery, q)
    encode = texts or torch_texts(model, text_cache)
    figures = evaluate_model(model, gallery, norm, encode, q, seed)
    reference = protocols(caption_sim, q, gallery, seed)
    rule = rule_tags(q, gallery, seed) if gallery.tags else {}
    return Report(figures, reference, split, len(gallery), rule)


def evaluate_checkpoint(library: Library, path: str | Path, split: str = "test") -> Report:
    """Load a checkpoint and evaluate it on the library's own split, its queries encoded as
    `dancesearch query` encodes them; refuses a checkpoint trained on other features."""
    ckpt = load_for(library, path)
    data = load_clipset(library)
    texts = query_texts(ckpt, path)
    return evaluate_clips(ckpt.model(), ckpt.norm, data, split=split, texts=texts)
