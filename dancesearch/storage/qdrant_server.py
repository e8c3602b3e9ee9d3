"""A Qdrant server through qdrant-client (or its in-memory mode, which speaks the same API).

A collection records its CollectionInfo in the collection's metadata; the current collection
is the alias `dancesearch-<uid[:8]>`, switched in one atomic alias update.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from dancesearch.errors import LibraryError
from dancesearch.storage.filters import Condition, Match
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

API_KEY_ENV = "DANCESEARCH_QDRANT_API_KEY"
EXACT = models.SearchParams(exact=True)  # brute force: exact rankings at library sizes
META = "dancesearch"  # the key of CollectionInfo in a collection's metadata


class ServerStore(Store):
    def __init__(self, url: str, uid: str, timeout_s: int = 10) -> None:
        super().__init__(uid, url)
        self.alias = f"dancesearch-{uid[:8]}"
        self.local = url == ":memory:"
        self._exact = None if self.local else EXACT  # local mode is exact, and warns if asked
        if self.local:
            self.client = QdrantClient(location=":memory:")
            return
        key = os.environ.get(
            API_KEY_ENV
        )  # (the version check would only warn before the probe says why)
        self.client = QdrantClient(
            url=url, api_key=key, timeout=timeout_s, check_compatibility=False
        )
        try:
            self.client.get_collections()
        except UnexpectedResponse as e:
            if e.status_code in (401, 403):
                raise LibraryError(
                    f"{url}: the Qdrant server refused the API key (set {API_KEY_ENV})"
                ) from None
            raise LibraryError(f"{url}: the Qdrant server answered {e.status_code}") from None
        except Exception as e:  # connection refused, DNS, timeout: qdrant-client wraps them
            raise LibraryError(f"{url}: cannot reach the Qdrant server ({e})") from None

    # collections
    def info(self, name: str) -> CollectionInfo | None:
        if not self.client.collection_exists(name):
            return None
        meta = (self.client.get_collection(name).config.metadata or {}).get(META)
        if meta is None:
            raise LibraryError(f"{self.where}: collection {name} was not made by dancesearch")
        return CollectionInfo.from_dict(meta)

    def current(self) -> str | None:
        aliases = self.client.get_aliases().aliases
        return next((a.collection_name for a in aliases if a.alias_name == self.alias), None)

    def switch(self, name: str) -> None:
        self._known(name)
        ops: list[Any] = []
        if self.current() is not None:
            ops.append(
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias))
            )
        ops.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=name, alias_name=self.alias)
            )
        )
        self.client.update_collection_aliases(ops)  # one request: readers never miss the alias

    def close(self) -> None:
        self.client.close()

    def _create(self, info: CollectionInfo) -> None:
        self.client.create_collection(
            info.name,
            vectors_config={
                DENSE: models.VectorParams(size=info.vector_size, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            metadata={META: asdict(info)},
        )
        if self.local:
            return  # the in-memory mode has no payload indexes (and warns when asked for one)
        for field in KEYWORD_FIELDS:
            self.client.create_payload_index(info.name, field, models.PayloadSchemaType.KEYWORD)
        for field in FLOAT_FIELDS:
            self.client.create_payload_index(info.name, field, models.PayloadSchemaType.FLOAT)

    def _names(self) -> list[str]:
        return [c.name for c in self.client.get_collections().collections]

    def _drop(self, name: str) -> None:
        self.client.delete_collection(name)

    # points
    def _upsert(self, name: str, rows: list[Row]) -> None:
        points = []
        for r in rows:
            vector: dict[str, Any] = {DENSE: r.dense}
            if r.sparse[0]:  # a point without human text has no text vector
                vector[SPARSE] = models.SparseVector(indices=r.sparse[0], values=r.sparse[1])
            points.append(models.PointStruct(id=r.id, vector=vector, payload=r.payload))
        self.client.upsert(name, points=points, wait=True)

    def _delete(self, name: str, ids: list[str]) -> None:
        self.client.delete(name, points_selector=models.PointIdsList(points=list(ids)), wait=True)

    def _scroll(
        self, name: str, fields: tuple[str, ...] | None, vectors: bool = False
    ) -> Iterator[tuple[Payload, list[float] | None]]:
        offset = None
        while True:
            records, offset = self.client.scroll(
                name, limit=512, offset=offset, with_payload=list(fields) if fields else True,
                with_vectors=[DENSE] if vectors else False,
            )  # fmt: skip
            for r in records:
                dense = r.vector.get(DENSE) if vectors and isinstance(r.vector, dict) else None
                yield r.payload or {}, list(dense) if dense is not None else None  # type: ignore[arg-type]
            if offset is None:
                return

    def _count(self, name: str, conditions: list[Condition]) -> int:
        return self.client.count(name, count_filter=_filter(conditions), exact=True).count

    def _vector(self, name: str, pid: str) -> list[float] | None:
        records = self.client.retrieve(name, [pid], with_payload=False, with_vectors=[DENSE])
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
        legs: list[tuple[str, Any]] = [(DENSE, dense)] if dense is not None else []
        if sparse and sparse[0]:
            legs.append((SPARSE, models.SparseVector(indices=sparse[0], values=sparse[1])))
        if not legs:
            return []
        using: str | None = legs[0][0]
        query: Any = legs[0][1]
        prefetch = None
        if dense is not None and sparse is not None:
            rrf = models.Rrf(k=RRF_K, weights=list(weights)[: len(legs)] if weights else None)
            using, query = None, models.RrfQuery(rrf=rrf)
            if fusion == "dbsf":
                query = models.FusionQuery(fusion=models.Fusion.DBSF)
            elif fusion == "sum":  # w_dense * cosine + w_text * BM25, 0 where a leg missed
                wd, wt = weights or (1.0, 1.0)
                query = models.FormulaQuery(
                    formula=models.SumExpression(sum=[
                        models.MultExpression(mult=[wd, "$score[0]"]),
                        models.MultExpression(mult=[wt, "$score[1]"]),
                    ]),
                    defaults={"$score[0]": 0.0, "$score[1]": 0.0},
                )  # fmt: skip
            prefetch = [
                models.Prefetch(query=q, using=u, limit=candidates, params=self._exact)
                for u, q in legs
            ]
        points = self.client.query_points(
            name,
            query=query,
            using=using,
            prefetch=prefetch,
            query_filter=_filter(conditions, exclude),
            search_params=self._exact,
            limit=limit,
            with_payload=True,
        ).points
        return [Hit(str((p.payload or {})["clip_id"]), p.score, p.payload or {}) for p in points]


def _filter(conditions: list[Condition], exclude: str | None = None) -> models.Filter | None:
    must: list[Any] = []
    must_not: list[Any] = [models.HasIdCondition(has_id=[exclude])] if exclude else []
    for c in conditions:
        if isinstance(c, Match):
            match: Any = (
                models.MatchValue(value=c.values[0])
                if len(c.values) == 1
                else models.MatchAny(any=list(c.values))
            )
            (must_not if c.negate else must).append(models.FieldCondition(key=c.key, match=match))
        else:
            must.append(models.FieldCondition(key=c.key, range=models.Range(gte=c.gte, lte=c.lte)))
    if not must and not must_not:
        return None
    return models.Filter(must=must or None, must_not=must_not or None)
