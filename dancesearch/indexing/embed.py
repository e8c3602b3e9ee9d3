"""Embedding a library into its Qdrant collection: incremental, idempotent and atomic for readers.

A run computes each clip's input hash (its payload, its source file's hash, the checkpoint and
the features), compares it with the current collection and, when anything differs, builds the
next collection under a name derived from the whole state: unchanged points are copied, only new
or changed clips go through the model, then readers are switched to it and the old one dropped.
A run over an unchanged library writes nothing; a crashed run resumes into the same name.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dancesearch.catalogue import payloads
from dancesearch.errors import ConfigError, LibraryError
from dancesearch.storage.bm25 import TEXT_MODEL
from dancesearch.storage.library import Library
from dancesearch.storage.qdrant import CollectionInfo, Payload, collection_name
from dancesearch.storage.store import Point, Store

INPUT_KEY = "input_hash"  # the payload field an incremental embed compares
FACET_FIELDS = ("genre", "performer", "source", "tempo", "split")


@dataclass
class EmbedSummary:
    """What an embed run did."""

    collection: str
    fingerprint: str
    clips: int  # points in the collection now
    embedded: int = 0  # clips the model encoded
    copied: int = 0  # unchanged points carried over from the previous collection
    removed: int = 0  # points of clips that left the library
    skipped: list[str] = field(default_factory=list)  # clip ids without captions (not annotated)
    dropped: list[str] = field(default_factory=list)  # old collections removed
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.embedded or self.copied or self.removed)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "changed": self.changed}


def input_hashes(
    library: Library, points: list[Payload], fingerprint: str, feature_key: str
) -> dict[str, str]:
    """clip id -> hash of everything its point is made from: the payload, the hash of the
    source file its motion came from, the checkpoint and the feature store."""
    seqs = library.table("sequences")[["seq_id", "item"]]
    items = library.table("items")[["item", "input_hash"]]
    merged = seqs.merge(items, on="item", how="left").fillna("")
    source_hash: dict[str, str] = dict(merged[["seq_id", "input_hash"]].itertuples(index=False))
    out: dict[str, str] = {}
    for p in points:
        h = hashlib.sha1(
            f"{fingerprint}:{feature_key}:{source_hash.get(p['seq_id'], '')}:".encode()
        )
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
        out[str(p["clip_id"])] = h.hexdigest()[:16]
    return out


def facets(points: list[Payload]) -> dict[str, Any]:
    """The filter values the points hold (for errors that list the valid ones) and their BPM
    range."""
    out: dict[str, Any] = {}
    for key in FACET_FIELDS:
        out[key] = sorted({str(p[key]) for p in points if p.get(key) not in (None, "")})
    out["tags"] = sorted({t for p in points for t in p.get("tags") or []})
    bpm = [float(p["bpm"]) for p in points if p.get("bpm") is not None]
    out["bpm"] = [min(bpm), max(bpm)] if bpm else []
    return out


def embed_library(
    library: Library,
    checkpoint: str | Path,
    store: Store,
    batch_size: int = 256,
    progress: bool = False,
    on_switch: Callable[[str], None] | None = None,
) -> EmbedSummary:
    """Bring the store's current collection up to date with the library for this checkpoint
    (a folder holding checkpoint.pt); see the module docstring. on_switch(name): called right
    after readers were switched to the new collection, before the old ones are dropped (a
    server moves its searches over there)."""
    from dancesearch.encoders.export import ensure_text_export
    from dancesearch.encoders.inference import load_for

    start = time.perf_counter()
    folder = Path(checkpoint)
    folder = folder.parent if folder.is_file() else folder
    ckpt = load_for(library, folder)
    key = ckpt.feature_key
    if ckpt.config.model.pooling == "xpool":
        raise ConfigError(
            f"{folder}: an X-Pool model scores a dance against each query, so it has no dance "
            "vector to index; embed a model with pooling = 'mean'"
        )
    ensure_text_export(folder)  # what `query` encodes with, without torch

    annotated = set(library.table("captions")["clip_id"])
    every = payloads(library)
    points = [p for p in every if p["clip_id"] in annotated]
    skipped = [str(p["clip_id"]) for p in every if p["clip_id"] not in annotated]
    if not points:
        raise LibraryError(f"{library.root}: no annotated clips; run ingest, then annotate")
    want = input_hashes(library, points, ckpt.fingerprint, key)
    for p in points:
        p[INPUT_KEY] = want[p["clip_id"]]

    current = store.current()
    old_info = store.info(current) if current else None
    reusable = old_info is not None and old_info.fingerprint == ckpt.fingerprint
    old = store.hashes(current, INPUT_KEY) if current and reusable else {}
    name = collection_name(library.uid, ckpt.fingerprint, _state_key(want))
    summary = EmbedSummary(name, ckpt.fingerprint, len(want), skipped=skipped)
    if current == name and old == want:
        summary.seconds = time.perf_counter() - start
        return summary  # nothing changed: nothing is written

    info = CollectionInfo(
        name, ckpt.fingerprint, ckpt.config.model.embed_dim, ckpt.config.model.name,
        text_model=TEXT_MODEL, checkpoint=library.checkpoint_ref(folder), facets=facets(points),
    )  # fmt: skip
    store.create(info)
    done = {c for c, h in store.hashes(name, INPUT_KEY).items() if want.get(c) == h}  # resumed
    by_id = {str(p["clip_id"]): p for p in points}
    if current and current != name and reusable:
        keep = {c for c, h in old.items() if want.get(c) == h} - done
        copies = (p for p in store.points(current) if p.clip_id in keep)
        summary.copied = store.upsert(name, copies, batch_size)
        done |= keep
    todo = [c for c in want if c not in done]
    summary.embedded = store.upsert(
        name, _encode(library, ckpt, [by_id[c] for c in todo], batch_size, progress), batch_size
    )
    summary.removed = len(set(old) - set(want))
    if store.hashes(name, INPUT_KEY) != want:
        raise LibraryError(f"{store.where}: collection {name} does not hold the library's clips")
    store.settle(name)
    store.switch(name)
    if on_switch is not None:
        on_switch(name)
    for other in store.names():
        if other != name:
            try:
                store.drop(other)
                summary.dropped.append(other)
            except LibraryError:  # open in another process: a later run removes it
                pass
    summary.seconds = time.perf_counter() - start
    return summary


def _state_key(want: dict[str, str]) -> str:
    """Names the collection of this state: the clips' input hashes and the text model, so a new
    text model builds a new collection (unchanged points are copied, and copying makes their
    text vectors again) instead of finding the old one up to date."""
    state = json.dumps([TEXT_MODEL, sorted(want.items())])
    return hashlib.sha1(state.encode()).hexdigest()[:8]


def _encode(
    library: Library, ckpt: Any, points: list[Payload], batch_size: int, progress: bool
) -> Iterator[Point]:
    """The dance vectors (E,) of these clips, as points, batch by batch; only their features
    are read."""
    if not points:
        return
    from tqdm import tqdm

    from dancesearch.dataset import load_clipset
    from dancesearch.encoders.inference import embed_gallery

    data = load_clipset(library, clip_ids=[str(p["clip_id"]) for p in points])
    position = {c: i for i, c in enumerate(data.clips["clip_id"])}
    model = ckpt.model()
    bar = tqdm(total=len(points), desc="embed", unit="clip", disable=not progress)
    for i in range(0, len(points), batch_size):
        chunk = points[i : i + batch_size]
        rows = np.array([position[str(p["clip_id"])] for p in chunk])
        vectors = embed_gallery(model, data.subset(rows), ckpt.norm).vectors.numpy()  # (B, E)
        yield from (Point(str(p["clip_id"]), v, p) for p, v in zip(chunk, vectors, strict=True))
        bar.update(len(chunk))
    bar.close()
