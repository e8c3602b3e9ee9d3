"""Evaluation through Qdrant equals the in-memory evaluation, both querying with the text
encoder `dancesearch query` uses; `evaluate --search` prints the table and keeps the run in
the library's history."""

from __future__ import annotations

from dancesearch.evaluation.collection import evaluate_collection
from dancesearch.evaluation.offline import evaluate_checkpoint
from dancesearch.search.query import HYBRID_FUSION, HYBRID_WEIGHTS
from dancesearch.storage.library import Library
from dancesearch.storage.open import open_store
from tests.fixtures.searchable import run


def test_evaluation_through_qdrant_equals_the_in_memory_evaluation(searchable):
    lib = Library(searchable)
    want = evaluate_checkpoint(lib, searchable / "models" / "default", "train")
    with open_store(None, lib) as store:
        got = evaluate_collection(
            lib, store, "train", weights=HYBRID_WEIGHTS, fusion=HYBRID_FUSION
        )  # the largest gallery of this library
    assert got["dense"] == want.model  # every protocol and breakdown, exactly
    assert set(got) == {"dense", "text", "hybrid"}
    assert got["hybrid"]["full"]["queries"] == want.model["full"]["queries"]


def test_evaluate_search_from_the_command_line(library_copy):
    result = run("evaluate", "--search", "--library", library_copy, "--split", "val")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for mode in ("chance", "dense", "text", "hybrid"):
        assert any(line.startswith(f"| {mode} |") for line in lines), result.output
    assert not (library_copy / "evaluation").exists()  # it reads: the deployment keeps history
