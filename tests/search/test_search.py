"""`dancesearch query` and `similar` on a real library: what people find, how filters and
modes behave, and one clear error for each kind of bad input with nothing written."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dancesearch.search.query import HYBRID_FUSION, HYBRID_WEIGHTS, Searcher
from dancesearch.storage.filters import SearchFilter
from dancesearch.storage.library import Library
from dancesearch.storage.open import open_store
from tests.fixtures.searchable import run

HYBRID = (HYBRID_WEIGHTS, 100, HYBRID_FUSION)  # what `dancesearch query` fuses with


def query_json(library: Path, *args: object) -> dict:
    result = run("query", *args, "--library", library, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def error_of(*args: object) -> str:
    """The one error line of a failed command (exit status 2)."""
    result = run(*args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def folder_state(library: Path) -> dict[str, str]:
    """Every file under <library>/qdrant with the hash of its content (Qdrant Edge rewrites
    some flag files with the same bytes when it closes)."""
    return {
        str(p): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted((library / "qdrant").rglob("*"))
        if p.is_file()
    }


# --- what people find -------------------------------------------------------------------------
def test_a_label_people_wrote_finds_its_clip_first(searchable):
    for mode in ("text", "hybrid"):
        out = query_json(searchable, "a run in a childish style", "--mode", mode, "--limit", 3)
        top = out["results"][0]
        assert top["clip_id"].startswith("bandai/dataset-1_run_childish"), (mode, top)
        assert set(top["matched"]) == {"run", "childish", "style"}


def test_the_table_shows_rank_score_metadata_matched_words_confidence_and_credits(searchable):
    result = run("query", "a slow waltz with wide turns", "--genre", "waltz", "--library",
                 searchable)  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split()[:7] == ["#", "score", "clip", "genre", "performer", "BPM", "tags"]
    rows = [line for line in lines[2:] if line[:1].isdigit()]
    assert 1 <= len(rows) <= 10 and all(" waltz " in row for row in rows)
    assert any(line.startswith("confidence: ") for line in lines)
    assert any("Tang, Jia, Mao" in line for line in lines)  # m2d's credit line


def test_dense_ranking_is_cosine_to_the_onnx_text_vector_over_every_stored_clip(searchable):
    text = "sharp arm isolations over a fast beat"
    out = query_json(searchable, text, "--mode", "dense", "--limit", 20)
    lib = Library(searchable)
    with Searcher.open(searchable) as searcher:
        query = searcher.encoder.encode([text])[0]
        points = list(searcher.store.points(searcher.info.name))
    scores = {p.clip_id: float(p.vector @ query / np.linalg.norm(p.vector)) for p in points}
    want = sorted(scores, key=lambda c: -scores[c])[:20]
    got = [r["clip_id"] for r in out["results"]]
    assert [round(scores[c], 4) for c in got] == [round(scores[c], 4) for c in want]
    for r in out["results"]:
        assert r["score"] == pytest.approx(scores[r["clip_id"]], abs=1e-4)
    assert out["candidates"] == len(lib.clips())


@pytest.mark.parametrize(
    ("args", "holds"),
    [
        (("--genre", "Waltz"), lambda p: p["genre"] == "waltz"),  # spelled as stored
        (("--genre", "waltz", "--genre", "cha-cha"), lambda p: p["genre"] in ("waltz", "cha-cha")),
        (("--source", "bandai"), lambda p: p["source"] == "bandai"),
        (("--no-music",), lambda p: p["has_music"] == "no"),
        (("--music", "--bpm", "100:"), lambda p: p["has_music"] == "yes" and p["bpm"] >= 100),
        (("--bpm", ":95"), lambda p: p["bpm"] is not None and p["bpm"] <= 95),
        (("--tag", "tempo.slow"), lambda p: "tempo.slow" in p["tags"]),
    ],
)
def test_every_result_passes_the_filters(searchable, args, holds):
    out = query_json(searchable, "a dance", *args, "--limit", 50)
    assert out["results"]
    assert all(holds(r["payload"]) for r in out["results"])


def test_a_tag_given_without_its_facet_is_found(searchable):
    with Searcher.open(searchable) as searcher:
        tags = searcher.info.facets["tags"]
        tag = next(t for t in tags if t.startswith("legs."))
        where = searcher.check(SearchFilter(tags=(tag.split(".", 1)[1],)))
    assert where.tags == (tag,)


def test_per_sequence_keeps_at_most_n_windows_of_one_recording(searchable):
    out = query_json(searchable, "waltz", "--per-sequence", 1, "--limit", 10)
    seqs = [r["payload"]["seq_id"] for r in out["results"]]
    assert len(seqs) == len(set(seqs)) >= 3


def test_similar_finds_other_clips_by_dance_vector(searchable):
    clip = "bandai/dataset-1_run_childish_001@000000"
    result = run("similar", clip, "--library", searchable, "--json", "--limit", 5)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    ids = [r["clip_id"] for r in out["results"]]
    assert len(ids) == 5 and clip not in ids
    assert out["query"] == f"like {clip}"
    scores = [r["score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True)


# --- bad input --------------------------------------------------------------------------------
def test_bad_queries_and_options_are_one_line_errors_and_write_nothing(searchable):
    before = folder_state(searchable)
    lib = ("--library", searchable)
    assert "the query is empty" in error_of("query", "   ", *lib)
    assert "tokens" in error_of("query", "waltz " * 300, *lib)  # 1800 characters
    assert "--limit 0" in error_of("query", "waltz", "--limit", 0, *lib)
    assert "--limit 100000" in error_of("query", "waltz", "--limit", 100000, *lib)
    assert "--bpm 'fast'" in error_of("query", "waltz", "--bpm", "fast", *lib)
    assert "minimum is above" in error_of("query", "waltz", "--bpm", "120:80", *lib)
    line = error_of("query", "waltz", "--genre", "tango", *lib)
    assert "genre 'tango'" in line and "valid: " in line and "waltz" in line
    line = error_of("query", "waltz", "--tag", "legs.moonwalk", *lib)
    assert "tag 'legs.moonwalk'" in line and "legs." in line.split("valid: ")[1]
    assert "no clip" in error_of("similar", "bandai/nope@000000", *lib)
    assert folder_state(searchable) == before


def test_a_library_without_a_collection_says_to_embed(tmp_path):
    Library(tmp_path / "empty", create=True)
    assert "dancesearch embed" in error_of("query", "waltz", "--library", tmp_path / "empty")


def test_a_retrained_checkpoint_is_refused_until_embedded_again(library_copy):
    meta = library_copy / "models" / "default" / "text" / "text.json"
    data = json.loads(meta.read_text())
    meta.write_text(json.dumps({**data, "fingerprint": "0123456789ab"}))
    line = error_of("query", "waltz", "--library", library_copy)
    assert "0123456789ab" in line and "embed again" in line


LOCKED = """
import sys
from dancesearch.storage.library import Library
from dancesearch.storage.open import open_store
with open_store(None, Library(sys.argv[1])) as store:
    store.count(store.current())
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_a_collection_held_by_another_process_is_a_clear_error(searchable):
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCKED, str(searchable)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        line = error_of("query", "waltz", "--library", searchable)
        assert "open in another process" in line
    finally:
        holder.communicate("\n", timeout=60)
    assert run("query", "waltz", "--library", searchable).exit_code == 0  # free again


def test_an_unreachable_server_is_a_clear_error(searchable):
    line = error_of("query", "waltz", "--library", searchable, "--qdrant", "http://127.0.0.1:9")
    assert "cannot reach the Qdrant server" in line


# --- the fast path ----------------------------------------------------------------------------
def test_a_query_process_imports_no_torch_transformers_pandas_or_prefect(searchable):
    code = (
        "import sys\n"
        "from dancesearch.cli import main\n"
        f"sys.argv = ['dancesearch', 'query', 'a slow waltz', '--library', {str(searchable)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = {'torch', 'transformers', 'sentence_transformers', 'pandas', 'prefect'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_server_api_gives_the_same_results_as_qdrant_edge(searchable):
    """qdrant-client's in-memory mode speaks the server's API: embed there, search the same."""
    from dancesearch.indexing.embed import embed_library

    lib = Library(searchable)
    with Searcher.open(searchable) as edge:
        vector = edge.encoder.encode(["a happy walk"])[0]
        want = edge.store.hybrid(edge.info.name, vector, "a happy walk", 10, None, *HYBRID)
        want_filtered = edge.store.search(
            edge.info.name, vector, 5, SearchFilter(genres=("waltz",))
        )
    with open_store(":memory:", lib) as server:
        summary = embed_library(lib, searchable / "models" / "default", server)
        assert summary.clips == len(lib.clips()) and server.current() == summary.collection
        got = server.hybrid(summary.collection, vector, "a happy walk", 10, None, *HYBRID)
        got_filtered = server.search(summary.collection, vector, 5, SearchFilter(genres=("waltz",)))
    assert [h.clip_id for h in got_filtered] == [h.clip_id for h in want_filtered]
    assert [h.clip_id for h in got] == [h.clip_id for h in want]
    np.testing.assert_allclose([h.score for h in got], [h.score for h in want], atol=1e-4)


def test_counts_are_remembered_per_filter_and_asked_again_after_a_switch(searchable):
    with Searcher.open(searchable) as searcher:
        asked: list[SearchFilter | None] = []
        real = searcher.store.count

        def count(name: str, where: SearchFilter | None = None) -> int:
            asked.append(where)
            return real(name, where)

        searcher.store.count = count  # type: ignore[method-assign]
        a = searcher.search("a slow waltz", limit=3)
        b = searcher.search("spinning with arms raised", limit=3)
        waltz = searcher.search("a slow waltz", SearchFilter(genres=("waltz",)), limit=3)
        assert a.candidates == b.candidates == real(searcher.info.name)
        assert waltz.candidates == real(searcher.info.name, SearchFilter(genres=("waltz",)))
        assert len(asked) == 2  # once per filter
        searcher.switched(searcher.info).search("a slow waltz", limit=3)
        assert len(asked) == 3  # a collection switched to is counted afresh
