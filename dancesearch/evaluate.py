"""Honest text -> dance evaluation: protocols over a (queries x gallery) similarity matrix, the
breakdowns, dance -> text as a diagnostic, and the non-learned references.

Protocols (every caption of a gallery clip is one query):
  full       the gallery is every clip of the split; the query's own clip is the one correct item
  threshold  also correct: clips with a caption whose MiniLM vector is >= THRESHOLD similar to
             the query (template captions repeat across clips)
  batch32    the gallery cut into seeded batches of 32 clips, a query ranked within its batch
Every block carries its gallery size and chance level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from dancesearch.dataset import HUMAN_SOURCES, Batch, ClipSet, Normaliser, make_batch
from dancesearch.encoders.model import DanceStates, DanceTextModel
from dancesearch.errors import ConfigError
from dancesearch.metrics import chance, ranks, summary
from dancesearch.storage.library import Library

if TYPE_CHECKING:
    from dancesearch.checkpoint import Checkpoint

THRESHOLD = 0.95
BATCH = 32


@dataclass
class Queries:
    """Q queries over a gallery of G clips: the text, its clip (gallery position), whether
    people wrote it, and its MiniLM vector (unit length) for the protocol and the references."""

    texts: list[str]
    clip: np.ndarray  # (Q,) int
    human: np.ndarray  # (Q,) bool
    caption_pos: np.ndarray  # (Q,) int, the query's own caption among all captions below
    vectors: np.ndarray  # (Q, 384)


def queries_of(data: ClipSet, minilm: Callable[[list[str]], np.ndarray]) -> Queries:
    texts, clip, human = [], [], []
    for i, (caps, sources) in enumerate(zip(data.captions, data.caption_sources, strict=True)):
        texts += caps
        clip += [i] * len(caps)
        human += [s in HUMAN_SOURCES for s in sources]
    v = minilm(texts)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    return Queries(texts, np.array(clip), np.array(human), np.arange(len(texts)), v)


@torch.no_grad()
def embed_gallery(
    model: DanceTextModel, data: ClipSet, norm: Normaliser, batch: int = 64, device: str = "cpu"
) -> DanceStates:
    """Dance states of every clip, in order; tokens (xpool) padded to the longest clip."""
    model.eval()
    longest = int(data.clips["n_frames"].max())
    parts = []
    for i in range(0, len(data), batch):
        b: Batch = make_batch(data, np.arange(i, min(i + batch, len(data))), norm, pad_to=longest)
        b = b.to(device)
        parts.append(model.dance_states(b.music, b.motion, b.mask, b.has_music))
    vectors = torch.cat([p.vectors for p in parts])
    if parts[0].tokens is None:
        return DanceStates(vectors)
    return DanceStates(
        vectors,
        torch.cat([p.tokens for p in parts if p.tokens is not None]),
        torch.cat([p.mask for p in parts if p.mask is not None]),
    )


@torch.no_grad()
def similarity(
    model: DanceTextModel, text_vectors: torch.Tensor, gallery: DanceStates
) -> np.ndarray:
    """text_vectors: (Q, E) encoded queries -> (Q, G) scores."""
    return model.score(text_vectors, gallery).cpu().numpy()


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


def protocols(
    sim: np.ndarray, q: Queries, data: ClipSet, caption_sim: np.ndarray, seed: int = 0
) -> dict[str, dict[str, float]]:
    """The three protocols with chance levels, and the breakdowns of the full protocol."""
    n_gallery = sim.shape[1]
    own = np.zeros_like(sim, dtype=bool)
    own[np.arange(len(q.clip)), q.clip] = True
    out: dict[str, dict[str, float]] = {}
    full = ranks(sim, own)
    out["full"] = {
        **summary(full),
        "gallery": n_gallery,
        **_chance(chance(n_gallery, np.ones(len(full)))),
    }
    near = own | (caption_sim >= THRESHOLD)
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


def _chance(figures: dict[str, float]) -> dict[str, float]:
    return {f"chance {k}": v for k, v in figures.items() if k != "queries"}


def caption_matching(q: Queries, data: ClipSet, seed: int = 0) -> dict[str, dict[str, float]]:
    """The reference that reads no motion or music: rank clips by the MiniLM similarity between
    the query and the clip's other captions."""
    sim = caption_sets(data, q)
    return protocols(sim, q, data, sim, seed)


def evaluate_model(
    model: DanceTextModel,
    data: ClipSet,
    norm: Normaliser,
    text_vectors: Callable[[list[str]], torch.Tensor],
    q: Queries,
    caption_sim: np.ndarray,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Every protocol and breakdown of a model on the clips of `data` (the full gallery)."""
    gallery = embed_gallery(model, data, norm)
    sim = similarity(model, text_vectors(q.texts), gallery)
    return protocols(sim, q, data, caption_sim, seed)


def minilm_cache() -> Callable[[list[str]], np.ndarray]:
    """MiniLM vectors by text (cached on disk): the fixed space of the threshold protocol and
    of the caption-matching reference, whatever text model is being evaluated."""
    from dancesearch.encoders.config import TextConfig
    from dancesearch.encoders.text import backbone_cache

    return backbone_cache(TextConfig())


@dataclass
class Report:
    """Evaluation of one model on one split: its protocols and the caption-matching reference."""

    model: dict[str, dict[str, float]]
    caption_matching: dict[str, dict[str, float]]
    split: str
    clips: int


def evaluate_clips(
    model: DanceTextModel,
    norm: Normaliser,
    data: ClipSet,
    minilm: Callable[[list[str]], np.ndarray] | None = None,
    text_cache: Callable[[list[str]], np.ndarray] | None = None,
    split: str = "test",
    seed: int = 0,
) -> Report:
    """Evaluate on the clips of `data` whose split is `split` (the full gallery of that split).
    text_cache: backbone vectors by text for a frozen backbone (None: encode the texts)."""
    minilm = minilm or minilm_cache()
    gallery = data.subset(np.flatnonzero(data.clips["split"] == split))
    if len(gallery) < 2:
        raise ValueError(f"the {split} split holds {len(gallery)} clips; need at least 2")
    q = queries_of(gallery, minilm)
    caption_sim = caption_sets(gallery, q)

    def encode(texts: list[str]) -> torch.Tensor:
        return encode_texts(model, texts, text_cache)

    figures = evaluate_model(model, gallery, norm, encode, q, caption_sim, seed)
    reference = protocols(caption_sim, q, gallery, caption_sim, seed)
    return Report(figures, reference, split, len(gallery))


COLUMNS = ("R@1", "R@5", "R@10", "MedR", "MnR")


def report_markdown(report: Report, name: str = "model") -> str:
    """The protocols and breakdowns as a markdown table, chance and the reference beside."""
    lines = [
        f"Text -> dance on the {report.split} split: {report.clips} clips, "
        f"{int(report.model['full']['queries'])} queries; ties ranked pessimistically.",
        "",
        "| protocol | who | gallery | " + " | ".join(COLUMNS) + " |",
        "|---|---|---|" + "---|" * len(COLUMNS),
    ]
    for block, figures in report.model.items():
        rows = [(name, figures)]
        if block in ("full", "threshold", "batch32"):
            rows.append(("chance", {k: figures[f"chance {k}"] for k in COLUMNS}))
        if block in report.caption_matching and block != "dance->text":
            rows.append(("caption matching", report.caption_matching[block]))
        for who, f in rows:
            cells = " | ".join(_cell(k, f[k]) for k in COLUMNS)
            lines.append(f"| {block} | {who} | {int(figures['gallery'])} | {cells} |")
    return "\n".join(lines)


def _cell(key: str, value: float) -> str:
    return f"{value:.1f}"


def evaluate_checkpoint(library: Library, path: str | Path, split: str = "test") -> Report:
    """Load a checkpoint and evaluate it on the library's own split; refuses a checkpoint
    trained on other features."""
    from dancesearch.dataset import load_clipset
    from dancesearch.train import text_cache

    ckpt = load_for(library, path)
    data = load_clipset(library)
    cache = None if ckpt.config.model.text.finetune else text_cache(ckpt.config)
    return evaluate_clips(ckpt.model(), ckpt.norm, data, text_cache=cache, split=split)


def load_for(library: Library, path: str | Path) -> Checkpoint:
    """A checkpoint, refused when it was trained on other features than the library's."""
    from dancesearch import checkpoint as ckpt_io
    from dancesearch.ingest import recorded_feature_key

    ckpt = ckpt_io.load(path)
    key = recorded_feature_key(library)
    if ckpt.feature_key != key:
        raise ConfigError(
            f"{path}: trained on features {ckpt.feature_key}, the library has {key}; "
            "train on this library first"
        )
    return ckpt


@torch.no_grad()
def encode_texts(
    model: DanceTextModel,
    texts: list[str],
    text_cache: Callable[[list[str]], np.ndarray] | None = None,
) -> torch.Tensor:
    """(Q, E) text vectors; text_cache: backbone vectors by text for a frozen backbone."""
    model.eval()
    if text_cache is not None and model.text_backbone is None:
        return model.encode_text_vectors(torch.from_numpy(text_cache(texts)))
    return torch.cat([model.encode_text(texts[i : i + 256]) for i in range(0, len(texts), 256)])
