"""<library>/serve.json: how other processes find the running `dancesearch serve` that holds
the library's embedded collection -- its URL, pid and a random token for handing it jobs.
Written by the server (readable by its owner only), removed when it stops."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dancesearch.errors import CollectionHeld

HANDOFF = "serve.json"


def write_handoff(library: str | Path, url: str, token: str) -> Path:
    """Write serve.json for the server at url; returns its path."""
    path = Path(library) / HANDOFF
    _write_private(path, json.dumps({"url": url, "pid": os.getpid(), "token": token}))
    return path


def holder(library: str | Path, qdrant: str | None, error: Exception) -> dict[str, Any] | None:
    """The running server's serve.json (url, pid, token) when `error` is the embedded
    collection being held by another process (CollectionHeld) and a server wrote one; else
    None."""
    handoff = Path(library) / HANDOFF
    if qdrant is not None or not isinstance(error, CollectionHeld) or not handoff.is_file():
        return None
    return dict(json.loads(handoff.read_text()))


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds the job token)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)  # an older file keeps its mode through O_TRUNC
