"""`dancesearch serve` as a process: while it holds the library's Qdrant Edge collection,
`dancesearch query` in another process is answered through it, and it cleans up at exit."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.search.conftest import run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_hands_queries_from_other_processes_through_and_cleans_up(searchable):
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dancesearch"), "serve", "--library",
         str(searchable), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/facets", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        assert (searchable / "serve.json").is_file()
        out = run("query", "a happy walk", "--library", searchable, "--json")
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["results"][0]["payload"]["source"] == "bandai"
        assert "valid: " in run("query", "x", "--genre", "tango", "--library", searchable).output
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert not (searchable / "serve.json").exists()
