"""The Qdrant store, the same suite over each backend: Qdrant Edge in a temporary folder,
qdrant-client's in-memory mode, and a real server when $DANCESEARCH_QDRANT_URL names one."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from dancesearch.errors import CollectionHeld, ConfigError, HeldElsewhere, LibraryError
from dancesearch.storage.filters import SearchFilter
from dancesearch.storage.library import Library
from dancesearch.storage.open import open_store
from dancesearch.storage.qdrant import (
    RRF_K,
    CollectionInfo,
    collection_name,
    content_hash,
    point_id,
)
from dancesearch.storage.schema import clip_payload
from dancesearch.storage.store import Point, Store

SERVER_ENV = "DANCESEARCH_QDRANT_URL"
SERVER = os.environ.get(SERVER_ENV)
BACKENDS = [
    "edge",
    "memory",
    pytest.param(
        "server",
        marks=pytest.mark.skipif(
            not SERVER, reason=f"no Qdrant server: set {SERVER_ENV}=http://host:6333 to test one"
        ),
    ),
]
DIM = 8
N = 36
GENRES = ("salsa", "waltz", "popping")
PERFORMERS = ("Ann", "Bo", None)


def clip(i: int) -> dict[str, Any]:
    """A clip record as schema.clip_record gives it."""
    bpm = None if i % 5 == 0 else 80.0 + 3 * i
    return {
        "clip_id": f"take{i // 3:02d}@{i % 3:06d}",
        "seq_id": f"take{i // 3:02d}",
        "source": ("finedance", "manifest")[i % 2],
        "genre": GENRES[i % 3],
        "performer": PERFORMERS[i % 3],
        "bpm": bpm,
        "has_music": i % 4 != 0,
        "labels": {"title": f"Take {i // 3}"},
        "start_s": 5.0 * (i % 3),
        "duration_s": 5.0,
        "licence": "CC BY 4.0",
        "credit": "Test Dancers",
    }


def payload(i: int) -> dict[str, Any]:
    record = clip(i)
    tags = [{"tag": f"genre.{record['genre']}", "source": "human"}]
    tags += [{"tag": "arms.wave", "source": "auto"}] if i % 2 else []
    tags += [{"tag": "legs.steps", "source": "expert"}] if i % 3 == 0 else []
    bpm = record["bpm"]
    tags += [{"tag": "tempo.fast", "source": "auto"}] if bpm and bpm >= 125 else []
    captions = [
        {"caption": f"a dance with marker{i}z", "source": "human"},  # a word only it has
        {"caption": "a generated template caption", "source": "template"},
    ]
    return clip_payload(record, tags, captions, ("train", "test")[i % 2])


@pytest.fixture(scope="module")
def points() -> list[Point]:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)  # random unit vectors
    return [Point(payload(i)["clip_id"], vectors[i], payload(i)) for i in range(N)]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    library = Library(tmp_path / "lib", create=True)
    qdrant = {"edge": None, "memory": ":memory:", "server": SERVER}[request.param]
    with open_store(qdrant, library) as s:
        yield s
        if request.param == "server":  # leave the server as we found it
            from dancesearch.storage.qdrant_server import ServerStore

            assert isinstance(s, ServerStore)
            s.client.delete_alias(s.alias)
            for name in s.names():
                s.client.delete_collection(name)


def info(store: Store, fingerprint: str = "abc123def456", size: int = DIM) -> CollectionInfo:
    return CollectionInfo(collection_name(store.uid, fingerprint), fingerprint, size, "test")


@pytest.fixture
def filled(store: Store, points: list[Point]) -> str:
    """The name of a collection holding every point."""
    meta = info(store)
    store.create(meta)
    assert store.upsert(meta.name, points, batch_size=10) == N
    return meta.name


def ids(hits: list[Any]) -> list[str]:
    return [h.clip_id for h in hits]


# --- names and payloads -----------------------------------------------------------------------
def test_point_ids_are_uuid5_of_the_clip_id():
    assert point_id("take00@000000") == point_id("take00@000000") != point_id("take00@000001")
    assert uuid.UUID(point_id("take00@000000")).version == 5


def test_collection_names_carry_library_and_checkpoint():
    assert collection_name("0123456789abcdef", "fp42") == "dancesearch-01234567-fp42"
    assert collection_name("0123456789abcdef", "fp42", "b") == "dancesearch-01234567-fp42-b"
    with pytest.raises(ConfigError):
        collection_name("0123456789abcdef", "../evil")


def test_a_clip_payload_holds_what_filters_and_results_need():
    p = payload(3)  # bpm 89, music, Ann, salsa, steps by an expert
    assert p["has_music"] == "yes" and payload(4)["has_music"] == "no"
    assert p["tags"] == ["arms.wave", "genre.salsa", "legs.steps"]
    assert p["annotations"] == ["auto", "expert", "human"]
    assert p["tempo"] is None and payload(17)["tempo"] == "fast"
    assert p["human_text"] == "a dance with marker3z. Take 1. salsa"  # no template caption
    assert p["captions"] == ["a dance with marker3z", "a generated template caption"]
    assert (p["title"], p["split"], p["licence"]) == ("Take 1", "test", "CC BY 4.0")


def test_an_unknown_qdrant_option_or_an_unreachable_server_is_a_clear_error(tmp_path):
    library = Library(tmp_path / "lib", create=True)
    with pytest.raises(ConfigError, match="qdrant"):
        open_store("localhost:6333", library)
    with pytest.raises(LibraryError, match=r"http://127\.0\.0\.1:9: cannot reach"):
        open_store("http://127.0.0.1:9", library)


# --- the suite, over each backend ------------------------------------------------------------
def test_upsert_counts_and_reupsert_is_idempotent(store, points, filled):
    assert store.count(filled) == N
    expected = {p.clip_id: content_hash(p.payload, p.vector) for p in points}
    assert store.hashes(filled) == expected
    moved = replace(points[0], vector=-points[0].vector)
    store.upsert(filled, [moved, *points[1:]])
    assert store.count(filled) == N  # same ids: replaced, not added
    changed = {k for k, v in store.hashes(filled).items() if v != expected[k]}
    assert changed == {points[0].clip_id}


@pytest.mark.parametrize(
    "where",
    [
        SearchFilter(genres=("waltz",)),
        SearchFilter(genres=("waltz", "popping")),
        SearchFilter(performers=("Ann",)),
        SearchFilter(sources=("manifest",)),
        SearchFilter(bpm_min=100, bpm_max=140),
        SearchFilter(bpm_min=150),
        SearchFilter(tags=("arms.wave",)),
        SearchFilter(tags=("arms.wave", "legs.steps")),
        SearchFilter(has_music=True),
        SearchFilter(has_music=False),
        SearchFilter(genres=("salsa",), has_music=True, bpm_max=120, splits=("train",)),
        SearchFilter(not_tags=("arms.wave",)),
        SearchFilter(genres=("salsa", "waltz"), not_genres=("waltz",), not_performers=("Bo",)),
        SearchFilter(not_sources=("manifest",), tags=("legs.steps",)),
    ],
)
def test_filters_return_exactly_the_matching_points(store, points, filled, where):
    def passes(p: dict[str, Any]) -> bool:
        bpm = p["bpm"]
        return (
            (not where.genres or p["genre"] in where.genres)
            and (not where.performers or p["performer"] in where.performers)
            and (not where.sources or p["source"] in where.sources)
            and (not where.splits or p["split"] in where.splits)
            and (where.bpm_min is None or (bpm is not None and bpm >= where.bpm_min))
            and (where.bpm_max is None or (bpm is not None and bpm <= where.bpm_max))
            and set(where.tags) <= set(p["tags"])
            and p["genre"] not in where.not_genres
            and p["performer"] not in where.not_performers
            and p["source"] not in where.not_sources
            and not set(where.not_tags) & set(p["tags"])
            and (where.has_music is None or p["has_music"] == ("yes" if where.has_music else "no"))
        )

    expected = {p.clip_id for p in points if passes(p.payload)}
    assert 0 < len(expected) < N  # the filter does something
    assert store.count(filled, where) == len(expected)
    hits = store.search(filled, points[0].vector, limit=N, where=where)
    assert set(ids(hits)) == expected
    assert set(ids(store.hybrid(filled, points[0].vector, "dance", N, where))) == expected


def brute_force(points: list[Point], query: np.ndarray) -> tuple[list[str], np.ndarray]:
    vectors = np.stack([p.vector for p in points])
    scores = vectors @ query / np.linalg.norm(query)  # the stored vectors are unit length
    order = np.argsort(-scores)
    return [points[i].clip_id for i in order], scores[order]


def test_dense_search_ranks_as_brute_force_cosine(store, points, filled):
    query = np.random.default_rng(1).normal(size=DIM).astype(np.float32) * 3.0  # not unit
    want_ids, want_scores = brute_force(points, query)
    hits = store.search(filled, query, limit=10)
    np.testing.assert_allclose([h.score for h in hits], want_scores[:10], atol=1e-5)
    for k, hit in enumerate(hits):  # the same clip at each rank, unless two tie
        tied = [c for c, s in zip(want_ids, want_scores, strict=True) if abs(s - hit.score) < 1e-5]
        assert hit.clip_id == want_ids[k] or want_ids[k] in tied
    assert hits[0].payload["clip_id"] == hits[0].clip_id


def test_more_like_this_is_dense_search_by_a_stored_vector_without_itself(store, points, filled):
    hits = store.more_like(filled, points[5].clip_id, limit=5)
    want_ids, _ = brute_force(points, points[5].vector)
    assert want_ids[0] == points[5].clip_id
    assert ids(hits) == want_ids[1:6]
    with pytest.raises(LibraryError, match="no clip"):
        store.more_like(filled, "nowhere@000000")


def test_text_search_finds_the_clip_whose_human_text_has_the_word(store, points, filled):
    hits = store.search_text(filled, "Marker17z", limit=3)
    assert ids(hits) == [points[17].clip_id]
    assert store.search_text(filled, "generated template") == []  # not human text
    waltz = store.search_text(filled, "a waltz", limit=N)
    assert {h.payload["genre"] for h in waltz} == {"waltz"} and len(waltz) == N // 3


def rrf(rankings: list[list[str]], weights: tuple[float, float] = (1.0, 1.0)) -> dict[str, float]:
    """Qdrant's (weighted) reciprocal rank fusion: rank r (from 0) of a list of weight w counts
    1 / ((r + 1) / w + k - 1), which is 1 / (k + r) at weight 1."""
    fused: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for r, clip_id in enumerate(ranking):
            fused[clip_id] = fused.get(clip_id, 0.0) + 1.0 / ((r + 1) / w + RRF_K - 1)
    return fused


@pytest.mark.parametrize("weights", [None, (1.0, 0.1), (0.1, 1.0)])
def test_hybrid_is_the_union_ranked_by_reciprocal_rank(store, points, filled, weights):
    query, text = points[2].vector, "waltz marker4z"
    dense = ids(store.search(filled, query, limit=8))
    sparse = ids(store.search_text(filled, text, limit=8))
    expected = rrf([dense, sparse], weights or (1.0, 1.0))
    hits = store.hybrid(filled, query, text, limit=N, weights=weights, candidates=8)
    assert set(ids(hits)) == set(dense) | set(sparse)
    np.testing.assert_allclose([h.score for h in hits], [expected[h.clip_id] for h in hits])
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hybrid_with_a_text_of_stopwords_ranks_by_dance_alone(store, points, filled):
    query = points[2].vector
    hits = store.hybrid(filled, query, "the", limit=5)
    assert ids(hits) == ids(store.search(filled, query, limit=5))
    assert store.search_text(filled, "the") == []


def test_delete_removes_points(store, points, filled):
    store.delete(filled, [points[0].clip_id, points[1].clip_id, "never@000000"])
    assert store.count(filled) == N - 2
    assert points[0].clip_id not in store.hashes(filled)
    assert points[0].clip_id not in ids(store.search(filled, points[0].vector, limit=N))


def test_another_checkpoint_is_refused(store, filled):
    with pytest.raises(LibraryError, match="no current collection"):
        store.require("abc123def456")
    store.switch(filled)
    assert store.require("abc123def456") == store.info(filled)
    with pytest.raises(ConfigError, match="checkpoint abc123def456, not 0ther0ther00"):
        store.require("0ther0ther00")
    with pytest.raises(ConfigError, match="holds"):  # same name, other vector size
        store.create(info(store, size=DIM + 1))
    with pytest.raises(ConfigError, match="vector shape"):
        store.upsert(filled, [Point("x", np.zeros(DIM + 1, np.float32), {})])


def test_a_new_collection_is_built_then_switched_to_then_the_old_one_dropped(store, points, filled):
    store.switch(filled)
    new = info(store, "fedcba987654")
    store.create(new)
    store.upsert(new.name, points[:5])
    assert store.current() == filled  # readers still see the complete one
    store.switch(new.name)
    assert store.current() == new.name and store.require("fedcba987654") == new
    with pytest.raises(LibraryError, match="current"):
        store.drop(new.name)
    store.drop(filled)
    assert store.names() == [new.name] and store.info(filled) is None
    assert store.count(new.name) == 5


# --- Qdrant Edge only -------------------------------------------------------------------------
OPEN_AGAIN = """
import sys
from dancesearch.errors import CollectionHeld
from dancesearch.storage.library import Library
from dancesearch.storage.open import open_store
try:
    with open_store(None, Library(sys.argv[1])) as store:
        store.count(sys.argv[2])
except CollectionHeld as e:  # by its type: a broken shard is another LibraryError
    print(e)
    sys.exit(2)
"""


def test_a_second_process_opening_an_edge_collection_gets_a_clear_error(tmp_path, points):
    library = Library(tmp_path / "lib", create=True)
    with open_store(None, library) as store:
        meta = info(store)
        store.create(meta)
        store.upsert(meta.name, points[:3])
        run = [sys.executable, "-c", OPEN_AGAIN, str(library.root), meta.name]
        held = subprocess.run(run, capture_output=True, text=True, timeout=120)
        assert held.returncode == 2, held.stderr
        assert f"{library.root / 'qdrant' / meta.name}: " in held.stdout
        assert "open in another process" in held.stdout
    free = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert free.returncode == 0, free.stdout + free.stderr  # closed: the next process may open it


def test_a_held_collection_is_told_apart_by_type_from_a_broken_one(tmp_path, points):
    library = Library(tmp_path / "lib", create=True)
    with open_store(None, library) as store:
        meta = info(store)
        store.create(meta)
        store.upsert(meta.name, points[:3])
        with open_store(None, library) as second, pytest.raises(CollectionHeld):
            second.count(meta.name)  # a second store, even in this process, waits its turn
    shard = library.root / "qdrant" / meta.name
    (shard / "edge_config.json").write_text("{ broken")
    with open_store(None, library) as store, pytest.raises(LibraryError) as broken:
        store.count(meta.name)
    assert not isinstance(broken.value, HeldElsewhere)
    assert "cannot open the Qdrant Edge collection" in str(broken.value)


def test_an_edge_store_reopens_with_its_points_and_current_collection(tmp_path, points):
    library = Library(tmp_path / "lib", create=True)
    with open_store(None, library) as store:
        meta = info(store)
        store.create(meta)
        store.upsert(meta.name, points)
        store.switch(meta.name)
    with open_store(None, library) as store:
        assert store.require(meta.fingerprint) == meta
        assert store.count(meta.name, SearchFilter(genres=("waltz",))) == N // 3
