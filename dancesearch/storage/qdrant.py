"""What dancesearch keeps in Qdrant: collection naming, the point payload and text vector, the
filter spec, and the small `Store` interface both backends implement -- Qdrant Edge in-process
in <library>/qdrant/ (qdrant_edge.py, the default) and a Qdrant server (qdrant_server.py).

A point is one clip: id a UUID5 of its clip id, a dense vector "dance" (cosine) and a sparse
vector "text" (BM25 term frequencies of its human text; Qdrant applies the IDF).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from dancesearch.errors import ConfigError, LibraryError
from dancesearch.storage import schema

if TYPE_CHECKING:
    from dancesearch.storage.library import Library

DENSE = "dance"  # vector names inside a point
SPARSE = "text"
RRF_K = 60  # the k of reciprocal rank fusion, 1 / (k + rank)
NAMESPACE = uuid.UUID("5b0e3a4c-7d1f-5c8e-9a2b-3f6d4e8c1a70")  # of point ids; never change it
KEYWORD_FIELDS = ("clip_id", "genre", "performer", "source", "tags", "has_music", "tempo", "split")
FLOAT_FIELDS = ("bpm",)
HUMAN_SOURCES = ("human", "label", "expert")  # captions a person (or the source) wrote
ANNOTATION_SOURCES = ("auto", "expert", "human", "label")
TEXT_AVG_TOKENS = 16.0  # BM25 average document length: human text is a few short phrases
TEXT_MODEL = f"qdrant-edge Bm25 0.9.0 k=1.2 b=0.75 avg_len={TEXT_AVG_TOKENS:g} english"

Payload = dict[str, Any]


# --- names ------------------------------------------------------------------------------------
def point_id(clip_id: str) -> str:
    """The point id of a clip: a UUID5 of its clip id, the same in every collection."""
    return str(uuid.uuid5(NAMESPACE, clip_id))


def collection_prefix(uid: str) -> str:
    """The start of every collection name of the library with this uid."""
    return f"dancesearch-{uid[:8]}-"


def collection_name(uid: str, fingerprint: str, suffix: str = "") -> str:
    """`dancesearch-<uid[:8]>-<fingerprint>[-<suffix>]`: a library's collection for one checkpoint.

    suffix: set it to rebuild a checkpoint's collection beside the current one, then `switch`.
    """
    name = collection_prefix(uid) + fingerprint + (f"-{suffix}" if suffix else "")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", fingerprint + suffix):
        raise ConfigError(f"collection name {name!r}: use letters, digits, '-' and '_' only")
    return name


@dataclass(frozen=True)
class CollectionInfo:
    """What a collection records about how its vectors were made."""

    name: str
    fingerprint: str  # of the checkpoint whose dense vectors it holds
    vector_size: int
    model: str  # the checkpoint's model name, for people reading the collection list
    text_model: str = TEXT_MODEL  # how the sparse text vectors were made

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionInfo:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


# --- payloads ---------------------------------------------------------------------------------
def clip_payload(
    clip: Payload, tags: list[Payload], captions: list[Payload], split: str | None
) -> Payload:
    """The payload of one clip: its catalogue record (schema.clip_record), tag and caption
    records (schema.tag_record, schema.caption_record) and the split of its sequence.

    has_music is "yes"/"no" (Qdrant Edge does not match a bool payload); bpm, start_s and
    duration_s are in beats per minute and seconds; human_text feeds the sparse text vector.
    """
    labels = clip["labels"] or {}
    tag_names = sorted({str(t["tag"]) for t in tags})
    tempo = next((t.split(".", 1)[1] for t in tag_names if t.startswith("tempo.")), None)
    title = labels.get("title")
    human = [c["caption"] for c in captions if c["source"] in HUMAN_SOURCES]
    sources = {t["source"] for t in tags} | {c["source"] for c in captions}
    return {
        "clip_id": clip["clip_id"],
        "seq_id": clip["seq_id"],
        "source": clip["source"],
        "genre": clip["genre"],
        "performer": clip["performer"],
        "bpm": clip["bpm"],
        "tempo": tempo,
        "tags": tag_names,
        "has_music": "yes" if clip["has_music"] else "no",
        "start_s": clip["start_s"],
        "duration_s": clip["duration_s"],
        "annotations": [s for s in ANNOTATION_SOURCES if s in sources],
        "captions": [c["caption"] for c in captions],
        "human_text": human_text([*human, title, clip["genre"]]),
        "title": title,
        "labels": labels,
        "licence": clip["licence"],
        "credit": clip["credit"],
        "split": split,
    }


def payloads(library: Library) -> list[Payload]:
    """The payload of every clip of a library, in catalogue order."""
    tags: dict[str, list[Payload]] = defaultdict(list)
    for t in schema.records(library.table("tags"), schema.tag_record):
        tags[t["clip_id"]].append(t)
    captions: dict[str, list[Payload]] = defaultdict(list)
    for c in schema.records(library.table("captions"), schema.caption_record):
        captions[c["clip_id"]].append(c)
    splits = {s["seq_id"]: s["split"] for s in schema.records(library.table("splits"))}
    return [
        clip_payload(c, tags[c["clip_id"]], captions[c["clip_id"]], splits.get(c["seq_id"]))
        for c in schema.records(library.clips(), schema.clip_record)
    ]


def human_text(texts: Iterable[str | None]) -> str:
    """Texts joined by ". ", each once (case aside), blanks left out."""
    seen: dict[str, str] = {}
    for text in texts:
        if text and text.strip():
            seen.setdefault(text.strip().lower(), text.strip())
    return ". ".join(seen.values())


def content_hash(payload: Payload, vector: np.ndarray) -> str:
    """Hash of a point's payload (its content_hash aside) and dense vector (D,) as float32, so
    an incremental embed can skip points that have not changed."""
    body = {k: v for k, v in payload.items() if k != "content_hash"}
    h = hashlib.sha1(json.dumps(body, sort_keys=True).encode())
    h.update(np.ascontiguousarray(vector, dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


@cache
def _bm25() -> Any:
    import qdrant_edge  # its BM25 tokeniser (English stemming and stopwords) serves both backends

    return qdrant_edge.Bm25(qdrant_edge.Bm25Config(k=1.2, b=0.75, avg_len=TEXT_AVG_TOKENS))


def text_vector(text: str, query: bool = False) -> tuple[list[int], list[float]]:
    """Sparse (term ids, weights) of a text: BM25 term-frequency weights for a document, weight
    1 per distinct term for a query. Qdrant multiplies in the IDF at search time."""
    vec = _bm25().embed_query(text) if query else _bm25().embed_document(text)
    return list(vec.indices), list(vec.values)


# --- search -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """Payload field `key` equals one of `values` (for a list field: contains one of them)."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    """Payload field `key` lies in [gte, lte]; None leaves a side open."""

    key: str
    gte: float | None
    lte: float | None


Condition = Match | Range


@dataclass(frozen=True)
class SearchFilter:
    """Which clips a search may return; empty fields do not filter. A clip passes when it has
    one of the genres, performers, sources and splits given, bpm in [bpm_min, bpm_max] (beats
    per minute), every one of the tags, and music or not as has_music says."""

    genres: tuple[str, ...] = ()
    performers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    bpm_min: float | None = None
    bpm_max: float | None = None
    tags: tuple[str, ...] = ()
    has_music: bool | None = None
    splits: tuple[str, ...] = ()

    def conditions(self) -> list[Condition]:
        """The filter as conditions that must all hold."""
        any_of = (("genre", self.genres), ("performer", self.performers),
                  ("source", self.sources), ("split", self.splits))  # fmt: skip
        out: list[Condition] = [Match(key, tuple(v)) for key, v in any_of if v]
        out += [Match("tags", (tag,)) for tag in self.tags]  # all of them
        if self.has_music is not None:
            out.append(Match("has_music", ("yes" if self.has_music else "no",)))
        if self.bpm_min is not None or self.bpm_max is not None:
            out.append(Range("bpm", self.bpm_min, self.bpm_max))
        return out


@dataclass(frozen=True)
class Hit:
    """One search result: the clip, its score (higher is better) and its payload."""

    clip_id: str
    score: float
    payload: Payload


@dataclass(frozen=True)
class Point:
    """A clip to store: its dense vector (D,) float and its payload (clip_payload)."""

    clip_id: str
    vector: np.ndarray
    payload: Payload


@dataclass(frozen=True)
class Row:
    """A point as a backend writes it."""

    id: str
    dense: list[float]
    sparse: tuple[list[int], list[float]]
    payload: Payload


# --- the interface ----------------------------------------------------------------------------
class Store(ABC):
    """One library's collections in one Qdrant backend, and the current-collection pointer that
    readers follow: build a collection under a new name, `switch` to it, `drop` the old one."""

    def __init__(self, uid: str, where: str) -> None:
        self.uid = uid
        self.where = where  # the folder or URL, for messages
        self._infos: dict[str, CollectionInfo] = {}  # collections known to exist

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # collections
    def create(self, info: CollectionInfo) -> None:
        """Create a collection with its vectors and payload indexes; nothing to do when it
        exists recording the same info, ConfigError when it records another."""
        old = self.info(info.name)
        if old is None:
            self._create(info)
        elif old != info:
            raise ConfigError(f"{self.where}: collection {info.name} holds {old}, not {info}")

    def require(self, fingerprint: str) -> CollectionInfo:
        """The current collection, refusing one made with another checkpoint or text model."""
        name = self.current()
        info = self.info(name) if name else None
        if info is None:
            raise LibraryError(f"{self.where}: no current collection; run `dancesearch embed`")
        if info.fingerprint != fingerprint:
            raise ConfigError(
                f"{self.where}: collection {info.name} holds vectors of checkpoint "
                f"{info.fingerprint}, not {fingerprint}; embed with this checkpoint first"
            )
        if info.text_model != TEXT_MODEL:
            raise ConfigError(
                f"{self.where}: collection {info.name} has text vectors of {info.text_model}, "
                f"this install makes {TEXT_MODEL}; embed again"
            )
        return info

    def names(self) -> list[str]:
        """This library's collections, sorted."""
        return sorted(n for n in self._names() if n.startswith(collection_prefix(self.uid)))

    def drop(self, name: str) -> None:
        """Delete a collection; the current one is refused (switch away first)."""
        if name == self.current():
            raise LibraryError(f"{self.where}: {name} is the current collection; switch first")
        self._infos.pop(name, None)
        self._drop(name)

    # points
    def upsert(self, name: str, points: Iterable[Point], batch_size: int = 256) -> int:
        """Write points in batches (an existing point with the same clip id is replaced), each
        with its content_hash and text vector; returns how many were written."""
        size, batch, n = self._known(name).vector_size, list[Row](), 0
        for p in points:
            if p.vector.shape != (size,):
                raise ConfigError(f"{p.clip_id}: vector shape {p.vector.shape}, need ({size},)")
            payload = {**p.payload, "content_hash": content_hash(p.payload, p.vector)}
            sparse = text_vector(str(p.payload.get("human_text") or ""))
            batch.append(Row(point_id(p.clip_id), p.vector.tolist(), sparse, payload))
            if len(batch) == batch_size:
                self._upsert(name, batch)
                n, batch = n + len(batch), []
        if batch:
            self._upsert(name, batch)
        return n + len(batch)

    def delete(self, name: str, clip_ids: Iterable[str]) -> None:
        """Remove the points of these clips (absent ones are ignored)."""
        self._delete(self._known(name).name, [point_id(c) for c in clip_ids])

    def hashes(self, name: str) -> dict[str, str]:
        """clip id -> content_hash of every point."""
        rows = self._scroll(self._known(name).name, ("clip_id", "content_hash"))
        return {str(p["clip_id"]): str(p.get("content_hash", "")) for p in rows}

    def count(self, name: str, where: SearchFilter | None = None) -> int:
        """How many points pass the filter."""
        return self._count(self._known(name).name, _conditions(where))

    def search(
        self, name: str, vector: np.ndarray, limit: int = 10, where: SearchFilter | None = None
    ) -> list[Hit]:
        """Exact nearest points by cosine similarity to vector (D,)."""
        dense = np.asarray(vector, dtype=np.float32).tolist()
        return self._query(self._known(name).name, limit, _conditions(where), dense=dense)

    def search_text(
        self, name: str, text: str, limit: int = 10, where: SearchFilter | None = None
    ) -> list[Hit]:
        """Points ranked by BM25 of text against their human text; [] when no term is known."""
        sparse = text_vector(text, query=True)
        return self._query(self._known(name).name, limit, _conditions(where), sparse=sparse)

    def hybrid(
        self,
        name: str,
        vector: np.ndarray,
        text: str,
        limit: int = 10,
        where: SearchFilter | None = None,
        weights: tuple[float, float] | None = None,
        candidates: int = 100,
    ) -> list[Hit]:
        """The `candidates` best of dense and of text search, fused by reciprocal rank in one
        query: rank r (from 0) in a list of weight w scores 1 / ((r + 1) / w + RRF_K - 1).
        weights (dense, text): None weighs both 1; a gentle lever, as a weight only stretches
        the ranks of its list (a weight below 1 does most)."""
        dense, sparse = np.asarray(vector, dtype=np.float32).tolist(), text_vector(text, True)
        return self._query(self._known(name).name, limit, _conditions(where), dense, sparse,
                           candidates, weights)  # fmt: skip

    def more_like(
        self, name: str, clip_id: str, limit: int = 10, where: SearchFilter | None = None
    ) -> list[Hit]:
        """Nearest points to a stored clip's dense vector, the clip itself left out."""
        pid = point_id(clip_id)
        vector = self._vector(self._known(name).name, pid)
        if vector is None:
            raise LibraryError(f"{self.where}: no clip {clip_id!r} in collection {name}")
        return self._query(name, limit, _conditions(where), dense=vector, exclude=pid)

    def _known(self, name: str) -> CollectionInfo:
        if name not in self._infos:
            info = self.info(name)
            if info is None:
                raise LibraryError(f"{self.where}: no collection {name}; run `dancesearch embed`")
            self._infos[name] = info
        return self._infos[name]

    # what a backend implements
    @abstractmethod
    def info(self, name: str) -> CollectionInfo | None:
        """What a collection records, None when there is no such collection."""

    @abstractmethod
    def current(self) -> str | None:
        """The name of the current collection, None before the first switch."""

    @abstractmethod
    def switch(self, name: str) -> None:
        """Make name the current collection, atomically for readers."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _create(self, info: CollectionInfo) -> None: ...

    @abstractmethod
    def _names(self) -> list[str]: ...

    @abstractmethod
    def _drop(self, name: str) -> None: ...

    @abstractmethod
    def _upsert(self, name: str, rows: list[Row]) -> None: ...

    @abstractmethod
    def _delete(self, name: str, ids: list[str]) -> None: ...

    @abstractmethod
    def _scroll(self, name: str, fields: tuple[str, ...]) -> Iterator[Payload]: ...

    @abstractmethod
    def _count(self, name: str, conditions: list[Condition]) -> int: ...

    @abstractmethod
    def _vector(self, name: str, pid: str) -> list[float] | None: ...

    @abstractmethod
    def _query(
        self,
        name: str,
        limit: int,
        conditions: list[Condition],
        dense: list[float] | None = None,
        sparse: tuple[list[int], list[float]] | None = None,
        candidates: int = 0,
        weights: tuple[float, float] | None = None,
        exclude: str | None = None,
    ) -> list[Hit]:
        """The nearest points to the dense (D,) or the sparse (term ids, weights) vector; given
        both, the `candidates` nearest to each as prefetches fused by RRF (k = RRF_K). A sparse
        vector without terms finds nothing."""


def _conditions(where: SearchFilter | None) -> list[Condition]:
    return where.conditions() if where else []


def open_store(qdrant: str | None, library: Library) -> Store:
    """The store of a library's collections. qdrant: None for Qdrant Edge in <library>/qdrant/,
    "http(s)://host:6333" for a server (API key from $DANCESEARCH_QDRANT_API_KEY), ":memory:"
    for qdrant-client's in-memory mode, which speaks the server's API."""
    if qdrant is None:
        from dancesearch.storage.qdrant_edge import EdgeStore

        return EdgeStore(library.root / "qdrant", library.uid)
    if qdrant == ":memory:" or re.match(r"https?://", qdrant):
        from dancesearch.storage.qdrant_server import ServerStore

        return ServerStore(qdrant, library.uid)
    raise ConfigError(f"--qdrant {qdrant!r}: give http(s)://host:port or :memory:, or leave it out")
