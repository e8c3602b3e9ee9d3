"""`dancesearch qdrant migrate`: the searchable library's Qdrant Edge collection copied to
qdrant-client's in-memory mode (which speaks the server's API), and to a real server when
$DANCESEARCH_QDRANT_URL names one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dancesearch.cli import main
from dancesearch.errors import ConfigError, LibraryError
from dancesearch.storage import migrate as migrate_module
from dancesearch.storage.bm25 import text_vector
from dancesearch.storage.filters import SearchFilter
from dancesearch.storage.library import Library
from dancesearch.storage.migrate import check_url, migrate, same_ranking
from dancesearch.storage.open import open_store
from dancesearch.storage.qdrant import RRF_K, CollectionInfo, content_hash, point_id
from dancesearch.storage.qdrant_server import ServerStore
from dancesearch.storage.store import Hit, Point, Row, Store

SERVER_ENV = "DANCESEARCH_QDRANT_URL"
SERVER = os.environ.get(SERVER_ENV)


@pytest.fixture
def edge(library_copy: Path) -> Iterator[Store]:
    with open_store(None, Library(library_copy)) as store:
        yield store


@pytest.fixture
def memory(library_copy: Path) -> Iterator[ServerStore]:
    store = ServerStore(":memory:", Library(library_copy).uid)
    yield store
    store.close()


def hit(clip_id: str, score: float) -> Hit:
    return Hit(clip_id, score, {})


def rrf(store: Store, name: str, vector, text: str, where=None, candidates: int = 100):
    """The top 10 of reciprocal rank fusion of the store's own dense and text rankings."""
    fused: dict[str, float] = {}
    for hits in (store.search(name, vector, candidates, where),
                 store.search_text(name, text, candidates, where)):  # fmt: skip
        for rank, h in enumerate(hits):
            fused[h.clip_id] = fused.get(h.clip_id, 0.0) + 1 / (rank + RRF_K)
    return [hit(c, score) for c, score in sorted(fused.items(), key=lambda kv: -kv[1])[:10]]


def test_same_ranking_allows_equal_scores_in_any_order_and_nothing_else():
    a = [hit("a", 0.9), hit("b", 0.5), hit("c", 0.5), hit("d", 0.1)]
    assert same_ranking(a, [a[0], a[2], a[1], a[3]])  # a tie swapped
    assert same_ranking(a, [*a[:3], hit("e", 0.1)])  # the limit cut a tie at the end
    assert not same_ranking(a, [a[1], a[0], *a[2:]])  # different scores at a rank
    assert not same_ranking(a, [a[0], hit("e", 0.5), a[2], a[3]])  # another clip in a tie
    assert not same_ranking(a, a[:3])


def test_a_migrated_collection_searches_like_the_embedded_one_in_every_mode(edge, memory):
    report = migrate(edge, memory, batch_size=16, sample=8)
    name = edge.current()
    assert name is not None
    n = edge.count(name)
    assert (report.collection, report.points, report.written, report.removed) == (name, n, n, 0)
    assert report.switched and memory.current() == name
    assert (
        report.verified >= 8
    )  # a dense search per sampled point, and a text one where it has text
    assert memory.count(name) == n
    assert memory.info(name) == edge.info(name)  # fingerprint, model, checkpoint, facets
    info = memory.info(name)
    assert isinstance(info, CollectionInfo) and info.facets["genre"] == ["cha-cha", "waltz"]
    assert memory.hashes(name, "input_hash") == edge.hashes(name, "input_hash")

    waltz = SearchFilter(genres=("waltz",))
    for p in edge.points(name):
        text = str(p.payload["human_text"])
        for where in (None, waltz):
            assert same_ranking(edge.search(name, p.vector, 10, where),
                                memory.search(name, p.vector, 10, where))  # fmt: skip
            assert same_ranking(edge.search_text(name, text, 10, where),
                                memory.search_text(name, text, 10, where))  # fmt: skip
            for fusion in ("dbsf", "sum"):  # by score: equal scores may come in any order
                assert same_ranking(
                    edge.hybrid(name, p.vector, text, 10, where, fusion=fusion),
                    memory.hybrid(name, p.vector, text, 10, where, fusion=fusion),
                ), (p.clip_id, fusion, where)
            # RRF fuses ranks, and each engine orders equal BM25 scores (windows of one take
            # share their text) its own way: each store's fusion must be that of its rankings
            for store in (edge, memory):
                fused = store.hybrid(name, p.vector, text, 10, where)
                assert same_ranking(fused, rrf(store, name, p.vector, text, where)), p.clip_id
        assert same_ranking(edge.more_like(name, p.clip_id), memory.more_like(name, p.clip_id))
    assert memory.search_text(name, "waltz", 5)  # text vectors were made on the target


def test_the_migrated_library_answers_queries_through_the_searcher(library_copy, edge, memory):
    from dancesearch.search.query import Searcher

    report = migrate(edge, memory, sample=0)
    lib, info = Library(library_copy), memory.info(report.collection)
    assert info is not None
    for text in ("a waltz with turns", "walk in a tired style"):
        want = Searcher(lib, edge, info, None).search(text, SearchFilter(), limit=5).results
        got = Searcher(lib, memory, info, None).search(text, SearchFilter(), limit=5).results
        assert want and same_ranking([hit(r.clip_id, r.score) for r in want],
                                     [hit(r.clip_id, r.score) for r in got])  # fmt: skip


def test_a_rerun_writes_nothing_and_completes_an_interrupted_copy(edge, memory):
    first = migrate(edge, memory)
    name = first.collection
    again = migrate(edge, memory)
    assert (again.written, again.removed, again.switched) == (0, 0, False)
    assert again.verified == first.verified

    ids = sorted(edge.hashes(name))
    memory.delete(name, ids[:5])  # as if the first run had stopped early
    p = next(iter(edge.points(name)))
    memory.upsert(name, [Point("ghost@000000", p.vector, {**p.payload, "clip_id": "ghost@000000"})])
    resumed = migrate(edge, memory)
    assert (resumed.written, resumed.removed) == (5, 1)
    assert sorted(memory.hashes(name)) == ids  # the stray point is gone
    assert memory.count(name) == edge.count(name)


def test_a_target_that_searches_differently_is_not_switched(edge, memory):
    """The target holds every point under the right hash but with another point's vector:
    nothing is rewritten, the count agrees, and the sampled dense searches catch it."""
    name = edge.current()
    assert name is not None
    info = edge.info(name)
    assert info is not None
    points = sorted(edge.points(name), key=lambda p: p.clip_id)
    memory.create(info)
    rows = [
        Row(point_id(p.clip_id), q.vector.tolist(), text_vector(str(p.payload["human_text"])),
            {**p.payload, "content_hash": content_hash(p.payload, p.vector)})
        for p, q in zip(points, points[1:] + points[:1], strict=True)
    ]  # fmt: skip
    memory._upsert(name, rows)
    with pytest.raises(LibraryError, match="does not search like the source.*not switched"):
        migrate(edge, memory)
    assert memory.current() is None


def test_a_count_that_differs_is_not_switched(edge, memory, monkeypatch):
    monkeypatch.setattr(memory, "count", lambda name, where=None: 1)
    with pytest.raises(LibraryError, match="holds 1 points.*not switched"):
        migrate(edge, memory)
    assert memory.current() is None


def test_refusals(tmp_path, edge, memory):
    empty = Library(tmp_path / "empty", create=True)
    nothing, target = open_store(None, empty), ServerStore(":memory:", empty.uid)
    with pytest.raises(LibraryError, match="no collection to migrate"):
        migrate(nothing, target)
    nothing.close()
    target.close()
    with ServerStore(":memory:", empty.uid) as other, pytest.raises(ConfigError, match="library"):
        migrate(edge, other)  # another library's store
    name = edge.current()
    info = edge.info(name) if name else None
    assert info is not None
    memory.create(CollectionInfo(info.name, "otherprint", info.vector_size, info.model))
    with pytest.raises(ConfigError, match="holds"):
        migrate(edge, memory)  # the name is taken by vectors of another checkpoint
    for url in ("localhost:6333", ":memory:", "ftp://host", "http://", "http://host/path x"):
        with pytest.raises(ConfigError, match="http"):
            check_url(url)
    assert check_url("https://qdrant.example:6333/") == "https://qdrant.example:6333"


def test_the_command_refuses_a_bad_url_an_unreachable_server_and_no_collection(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["qdrant", "migrate", "--to", "qdrant:6333",
                                  "--library", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2 and "http(s)://host:port" in result.output
    lib = Library(tmp_path / "lib", create=True)
    result = runner.invoke(main, ["qdrant", "migrate", "--to", "http://127.0.0.1:9",
                                  "--library", str(lib.root)])  # fmt: skip
    assert result.exit_code == 2 and "cannot reach the Qdrant server" in result.output


def test_the_command_prints_progress_and_a_summary(library_copy, monkeypatch):
    monkeypatch.setattr(migrate_module, "check_url", lambda url: url)  # let :memory: through
    args = ["qdrant", "migrate", "--to", ":memory:", "--library", str(library_copy),
            "--batch-size", "32"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "written 32 points" in result.output
    assert "verified searches" in result.output and "switched to it" in result.output


@pytest.mark.skipif(not SERVER, reason=f"no Qdrant server: set {SERVER_ENV}=http://host:6333")
def test_migrating_to_a_real_server(library_copy):
    assert SERVER is not None
    lib = Library(library_copy)
    result = CliRunner().invoke(main, ["qdrant", "migrate", "--to", SERVER,
                                       "--library", str(library_copy)])  # fmt: skip
    try:
        assert result.exit_code == 0, result.output
        with open_store(None, lib) as edge, open_store(SERVER, lib) as server:
            name = edge.current()
            assert name is not None and server.current() == name
            assert server.info(name) == edge.info(name)
            for p in list(edge.points(name))[:10]:
                text = str(p.payload["human_text"])
                assert same_ranking(edge.search(name, p.vector), server.search(name, p.vector))
                assert same_ranking(edge.search_text(name, text),
                                    server.search_text(name, text))  # fmt: skip
                assert same_ranking(edge.hybrid(name, p.vector, text),
                                    server.hybrid(name, p.vector, text))  # fmt: skip
            again = migrate(edge, server)
            assert (again.written, again.switched) == (0, False)
    finally:
        with ServerStore(SERVER, lib.uid) as server:  # leave the server as we found it
            if server.current():
                server.client.delete_alias(server.alias)
            for name in server.names():
                server.client.delete_collection(name)
