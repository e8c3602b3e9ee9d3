"""The small interface both Qdrant backends implement over one library's collections --
Qdrant Edge in-process in <library>/qdrant/ (qdrant_edge.py, the default) and a Qdrant server
through qdrant-client (qdrant_server.py). `open_store` (open.py) picks one; the backends import
this base, never each other.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from dancesearch.errors import ConfigError, LibraryError
from dancesearch.storage.bm25 import TEXT_MODEL, text_vector
from dancesearch.storage.filters import Condition, SearchFilter
from dancesearch.storage.qdrant import (
    CollectionInfo,
    Payload,
    collection_prefix,
    content_hash,
    point_id,
)

FUSIONS = ("rrf", "dbsf", "sum")


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

    def settle(self, name: str) -> None:
        """Finish a collection's writes so that opening it later writes nothing (Qdrant Edge
        rewrites its journals on the first open after writes; a server has finished when it
        answers)."""
        self._known(name)

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

    def hashes(self, name: str, key: str = "content_hash") -> dict[str, str]:
        """clip id -> the payload field `key` of every point (its content_hash by default)."""
        rows = self._scroll(self._known(name).name, ("clip_id", key))
        return {str(p["clip_id"]): str(p.get(key, "")) for p, _ in rows}

    def points(self, name: str) -> Iterator[Point]:
        """Every point with its dense vector and payload (content_hash aside), to copy it."""
        for payload, vector in self._scroll(self._known(name).name, None, vectors=True):
            body = {k: v for k, v in payload.items() if k != "content_hash"}
            yield Point(str(body["clip_id"]), np.asarray(vector, np.float32), body)

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
        fusion: str = "rrf",
    ) -> list[Hit]:
        """The `candidates` best of dense and of text search, fused in one query. fusion "rrf":
        by reciprocal rank, rank r (from 0) in a list of weight w scoring
        1 / ((r + 1) / w + RRF_K - 1); weights (dense, text): None weighs both 1, a gentle
        lever, as a weight only stretches the ranks of its list. "dbsf": by score, each list's
        scores normalised by their mean +- 3 standard deviations, then summed. "sum":
        weights[0] * cosine + weights[1] * BM25 score, 0 for a list that missed the point."""
        if fusion not in FUSIONS:
            raise ConfigError(f"fusion {fusion!r}: choose one of {', '.join(FUSIONS)}")
        dense, sparse = np.asarray(vector, dtype=np.float32).tolist(), text_vector(text, True)
        return self._query(self._known(name).name, limit, _conditions(where), dense, sparse,
                           candidates, weights, fusion=fusion)  # fmt: skip

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
    def _scroll(
        self, name: str, fields: tuple[str, ...] | None, vectors: bool = False
    ) -> Iterator[tuple[Payload, list[float] | None]]:
        """Every point's payload (only `fields`, or all with None) and dense vector (None
        unless asked for)."""

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
        fusion: str = "rrf",
    ) -> list[Hit]:
        """The nearest points to the dense (D,) or the sparse (term ids, weights) vector; given
        both, the `candidates` nearest to each as prefetches fused by RRF (k = RRF_K, weights)
        or DBSF. A sparse vector without terms finds nothing."""


def _conditions(where: SearchFilter | None) -> list[Condition]:
    return where.conditions() if where else []
