"""Qdrant Edge, Qdrant's engine in-process: the default store, one shard folder per collection.

Layout of <library>/qdrant/:
    <name>/          the collection's shard (Qdrant Edge's own files)
    <name>.json      what the collection records (CollectionInfo), written once it is complete
    current.json     {"collection": name}: the collection readers use, replaced atomically
    <name>.lock      flock held while this process has the shard open
A shard is open in one process at a time; a second open fails with CollectionHeld. The lock is
our own, taken before the engine opens the shard, so that a held shard is told apart by its
type, not by the engine's message.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from dancesearch.errors import CollectionHeld, LibraryError
from dancesearch.storage.filters import Condition, Match
from dancesearch.storage.library import _atomic_write
from dancesearch.storage.qdrant import (
    DENSE,
    FLOAT_FIELDS,
    KEYWORD_FIELDS,
    RRF_K,
    SPARSE,
    CollectionInfo,
    Payload,
)
from dancesearch.storage.store import Hit, Row, Store

POINTER = "current.json"
EXACT = qe.SearchParams(exact=True)  # brute force: exact rankings at library sizes


class EdgeStore(Store):
    def __init__(self, folder: Path, uid: str) -> None:
        super().__init__(uid, str(folder))
        self.folder = folder
        self._shards: dict[str, qe.EdgeShard] = {}
        self._locks: dict[str, int] = {}  # name -> the fd holding <name>.lock

    # collections
    def info(self, name: str) -> CollectionInfo | None:
        meta = self.folder / f"{name}.json"
        return CollectionInfo.from_dict(json.loads(meta.read_text())) if meta.is_file() else None

    def current(self) -> str | None:
        pointer = self.folder / POINTER
        return str(json.loads(pointer.read_text())["collection"]) if pointer.is_file() else None

    def switch(self, name: str) -> None:
        self._known(name)
        text = json.dumps({"collection": name})
        _atomic_write(self.folder / POINTER, lambda p: p.write_text(text))

    def close(self) -> None:
        for shard in self._shards.values():
            shard.flush()
            shard.close()
        self._shards.clear()
        for name in list(self._locks):
            self._unlock(name)

    def settle(self, name: str) -> None:
        self._close(name)  # flushed and closed, then opened once: that open does the rewrite
        self._shard(name)

    def _create(self, info: CollectionInfo) -> None:
        path = self.folder / info.name
        if path.exists():  # left by a create that was interrupted before its .json
            try:
                self._shard(info.name)
            except CollectionHeld:  # in use elsewhere: keep it
                raise
            except LibraryError:  # broken: remove it
                pass
            self._close(info.name)
            shutil.rmtree(path)
        config = qe.EdgeConfig(
            vectors={
                DENSE: qe.EdgeVectorParams(size=info.vector_size, distance=qe.Distance.Cosine)
            },
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        shard = self._shards[info.name] = self._open(
            path, lambda: qe.EdgeShard.create(str(path), config)
        )
        for field in KEYWORD_FIELDS:
            shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
        for field in FLOAT_FIELDS:
            shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Float))
        shard.flush()
        text = json.dumps(asdict(info), indent=2)
        _atomic_write(self.folder / f"{info.name}.json", lambda p: p.write_text(text))

    def _names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return [p.stem for p in self.folder.glob("*.json") if p.name != POINTER]

    def _drop(self, name: str) -> None:
        self._shard(name)  # fails if another process has it open
        self._close(name)
        (self.folder / f"{name}.json").unlink(missing_ok=True)
        shutil.rmtree(self.folder / name, ignore_errors=True)
        (self.folder / f"{name}.lock").unlink(missing_ok=True)

    # points
    def _upsert(self, name: str, rows: list[Row]) -> None:
        points = []
        for r in rows:
            vector: dict[str, qe.NamedVector] = {DENSE: r.dense}
            if r.sparse[0]:  # a point without human text has no text vector
                vector[SPARSE] = qe.SparseVector(*r.sparse)
            points.append(qe.Point(r.id, vector, r.payload))
        self._shard(name).update(qe.UpdateOperation.upsert_points(points))

    def _delete(self, name: str, ids: list[str]) -> None:
        self._shard(name).update(qe.UpdateOperation.delete_points(list(ids)))

    def _scroll(
        self, name: str, fields: tuple[str, ...] | None, vectors: bool = False
    ) -> Iterator[tuple[Payload, list[float] | None]]:
        shard, offset = self._shard(name), None
        payload: Any = qe.PayloadSelector.Include(list(fields)) if fields else True
        while True:
            request = qe.ScrollRequest(
                offset=offset, limit=512, with_payload=payload,
                with_vector=[DENSE] if vectors else False,
            )  # fmt: skip
            records, offset = shard.scroll(request)
            for r in records:
                dense = r.vector.get(DENSE) if vectors and isinstance(r.vector, dict) else None
                yield r.payload or {}, list(dense) if dense is not None else None  # type: ignore[arg-type]
            if offset is None:
                return

    def _count(self, name: str, conditions: list[Condition]) -> int:
        return self._shard(name).count(qe.CountRequest(exact=True, filter=_filter(conditions)))

    def _vector(self, name: str, pid: str) -> list[float] | None:
        records = self._shard(name).retrieve([pid], False, [DENSE])  # both are required here
        vectors = records[0].vector if records else None
        return list(vectors[DENSE]) if isinstance(vectors, dict) else None  # type: ignore[arg-type]

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
        legs = [qe.Query.Nearest(dense, using=DENSE)] if dense is not None else []
        if sparse and sparse[0]:
            legs.append(qe.Query.Nearest(qe.SparseVector(*sparse), using=SPARSE))
        if not legs:
            return []
        query: Any = legs[0]
        prefetches = None
        if dense is not None and sparse is not None:  # the stubs miss that Fusion.Rrf is a query
            if fusion == "dbsf":
                query = qe.Fusion.Dbsf()
            elif fusion == "sum":  # w_dense * cosine + w_text * BM25, 0 where a leg missed
                wd, wt = weights or (1.0, 1.0)
                e = qe.Expression
                query = qe.Formula(
                    e.Sum([e.Mult([e.Constant(wd), e.Variable("$score[0]")]),
                           e.Mult([e.Constant(wt), e.Variable("$score[1]")])]),
                    defaults={"$score[0]": 0.0, "$score[1]": 0.0},
                )  # fmt: skip
            else:
                query = qe.Fusion.Rrf(RRF_K, list(weights)[: len(legs)] if weights else None)
            prefetches = [qe.Prefetch(limit=candidates, query=q, params=EXACT) for q in legs]
        request = qe.QueryRequest(
            limit=limit,
            query=query,
            prefetches=prefetches,
            filter=_filter(conditions, exclude),
            params=EXACT,
            with_payload=True,
        )
        points = self._shard(name).query(request)
        return [Hit(str((p.payload or {})["clip_id"]), p.score, p.payload or {}) for p in points]

    # shards
    def _shard(self, name: str) -> qe.EdgeShard:
        if name not in self._shards:
            path = self.folder / name
            self._shards[name] = self._open(path, lambda: qe.EdgeShard.load(str(path)))
        return self._shards[name]

    def _open(self, path: Path, open_: Callable[[], qe.EdgeShard]) -> qe.EdgeShard:
        self._lock(path)
        try:
            return open_()
        except Exception as e:  # Qdrant Edge raises a bare Exception
            self._unlock(path.name)
            raise LibraryError(f"{path}: cannot open the Qdrant Edge collection ({e})") from None

    def _lock(self, path: Path) -> None:
        """Hold <name>.lock for as long as the shard is open here; CollectionHeld when another
        process (or another store in this one) holds it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CollectionHeld(
                f"{path}: the Qdrant Edge collection is open in another process; close that "
                "one first, or share a Qdrant server (--qdrant URL)"
            ) from None
        self._locks[path.name] = fd

    def _unlock(self, name: str) -> None:
        fd = self._locks.pop(name, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock

    def _close(self, name: str) -> None:
        shard = self._shards.pop(name, None)
        if shard is not None:
            shard.close()
        self._unlock(name)


def _filter(conditions: list[Condition], exclude: str | None = None) -> qe.Filter | None:
    must: list[qe.ConditionType] = []
    must_not: list[qe.ConditionType] = [qe.HasIdCondition({exclude})] if exclude else []
    for c in conditions:
        if isinstance(c, Match):
            match = (
                qe.MatchValue(c.values[0]) if len(c.values) == 1 else qe.MatchAny(list(c.values))
            )
            (must_not if c.negate else must).append(qe.FieldCondition(c.key, match=match))
        else:
            must.append(qe.FieldCondition(c.key, range=qe.RangeFloat(gte=c.gte, lte=c.lte)))
    return qe.Filter(must=must or None, must_not=must_not or None) if must or must_not else None
