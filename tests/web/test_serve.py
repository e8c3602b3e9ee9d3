"""`dancesearch serve` as a process: while it holds the library's Qdrant Edge collection,
`dancesearch query` in another process is answered through it, and it cleans up at exit."""

from __future__ import annotations

import json

from tests.fixtures.searchable import run, serving


def test_serve_hands_queries_from_other_processes_through_and_cleans_up(searchable):
    with serving(searchable):
        assert (searchable / "serve.json").is_file()
        out = run("query", "a happy walk", "--library", searchable, "--json")
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["results"][0]["payload"]["source"] == "bandai"
        assert "valid: " in run("query", "x", "--genre", "tango", "--library", searchable).output
    assert not (searchable / "serve.json").exists()
