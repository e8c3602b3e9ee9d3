"""Work that writes or reads a whole collection -- embed, evaluate, describe -- run where the
collection can be opened.

Qdrant Edge lets one process open a collection. While `dancesearch serve` (or `deploy`, which
serves the page too) holds the library's embedded collection, a job from another process -- a
scheduled refresh, say -- is handed to that server: it runs there, on the store it already
holds, and the server switches its readers to the new collection without a restart. With a
Qdrant server (--qdrant URL) or nobody holding the folder, the job runs in the calling process.

The handoff is authenticated by a random token the server writes, with its URL, to
<library>/serve.json (readable by its owner only).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dancesearch.errors import CollectionHeld, ConfigError, LibraryError, ServerUnreachable
from dancesearch.serving.handoff import holder
from dancesearch.storage.library import Library
from dancesearch.storage.open import open_store
from dancesearch.storage.store import Store

JOBS = ("embed", "evaluate", "info")
TIMEOUT_S = 3600  # an embed of a large library through the server may take long


def run_job(library: str | Path, qdrant: str | None, job: str, **params: Any) -> dict[str, Any]:
    """Run `job` (see JOBS) on the library's collection here or in the server holding it."""
    if job not in JOBS:
        raise ConfigError(f"job {job!r}: expected one of {', '.join(JOBS)}")
    lib = Library(library)
    store = open_store(qdrant, lib)
    try:
        if qdrant is None:
            _hold(store)
        return do_job(lib, store, job, params)
    except CollectionHeld as e:
        server = holder(lib.root, qdrant, e)
        if server is None:
            raise
        return post_job(server, job, params)
    finally:
        store.close()


def do_job(
    library: Library,
    store: Store,
    job: str,
    params: dict[str, Any],
    on_switch: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run a job on a store this process holds. on_switch(name): called by embed right after
    readers were switched to the new collection, before the old one is dropped."""
    name = store.current()
    info = store.info(name) if name else None
    if job == "info":
        return {"collection": info.__dict__ if info else None}
    if job == "embed":
        from dancesearch.indexing.embed import embed_library

        checkpoint = params.get("checkpoint")
        if not checkpoint:
            if info is None:
                raise LibraryError(
                    f"{store.where}: no collection yet, so no checkpoint to embed with; run "
                    "`dancesearch build` (or `dancesearch train` and `dancesearch embed`)"
                )
            checkpoint = str(library.resolve_checkpoint(info.checkpoint))
        progress = bool(params.get("progress", False))
        summary = embed_library(library, checkpoint, store, progress=progress, on_switch=on_switch)
        return summary.as_dict()
    from dancesearch.evaluation.collection import evaluate_collection
    from dancesearch.search.query import HYBRID_FUSION, HYBRID_WEIGHTS

    split = str(params.get("split", "test"))
    figures = evaluate_collection(
        library, store, split, weights=HYBRID_WEIGHTS, fusion=HYBRID_FUSION
    )
    assert info is not None  # evaluate_collection refuses a store without a collection
    return {"collection": info.name, "fingerprint": info.fingerprint, "split": split,
            "figures": figures}  # fmt: skip


def post_job(handoff: dict[str, Any], job: str, params: dict[str, Any]) -> dict[str, Any]:
    """Ask the server described by serve.json to run the job; its errors come back as ours."""
    url = f"{str(handoff['url']).rstrip('/')}/api/jobs/{job}"
    request = urllib.request.Request(
        url,
        data=json.dumps(params).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {handoff.get('token', '')}",
        },  # fmt: skip
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as e:
        detail = json.loads(e.read() or b"{}").get("detail", e.reason)
        raise LibraryError(f"{url}: {detail}") from None
    except (urllib.error.URLError, OSError) as e:
        raise ServerUnreachable(
            f"the collection is held by the server at {handoff['url']}, which does not answer "
            f"({e}); the job is left for the next run"
        ) from None


def _hold(store: Store) -> None:
    """Open the current collection now, so a folder held by another process fails here."""
    name = store.current()
    if name is not None:
        store.count(name)
