"""The `embed` and `evaluate-search` flows: one task each, so a scheduled run retries and logs
them; the work is in dancesearch.search.embed and dancesearch.search.evaluate. The embedding
task runs on threads or a Dask cluster (dancesearch.flows.runner)."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from dancesearch.flows.runner import on_runner
from dancesearch.storage.library import Library


@task(name="embed", cache_policy=NO_CACHE)
def embed_task(library: str, checkpoint: str, qdrant: str | None, progress: bool) -> dict:
    from dancesearch.search.embed import embed_library
    from dancesearch.storage.store import open_store

    lib = Library(library)
    with open_store(qdrant, lib) as store:
        return embed_library(lib, checkpoint, store, progress=progress).as_dict()


@flow(name="embed")
def embed(
    library: str = "library",
    checkpoint: str = "",
    qdrant: str | None = None,
    progress: bool = False,
    runner: str | None = None,
) -> dict:
    """Embed the library's clips into its current Qdrant collection for this checkpoint
    (default <library>/models/default): only new or changed clips, switched to atomically.

    runner: where the embedding task runs: threads (default), dask, dask://HOST:PORT (see
    dancesearch.flows.runner; a Qdrant URL must then be one the workers reach).
    """
    checkpoint = checkpoint or f"{library}/models/default"
    return on_runner(embed_clips, runner)(library, checkpoint, qdrant, progress)


@flow(name="embed-clips")
def embed_clips(library: str, checkpoint: str, qdrant: str | None, progress: bool) -> dict:
    """`embed`, its task on the task runner this flow is given."""
    return embed_task.submit(library, checkpoint, qdrant, progress).result()


@task(name="evaluate-search", cache_policy=NO_CACHE)
def evaluate_search_task(library: str, qdrant: str | None, split: str) -> dict:
    from dancesearch.search.evaluate import evaluate_collection
    from dancesearch.storage.store import open_store

    lib = Library(library)
    with open_store(qdrant, lib) as store:
        return evaluate_collection(lib, store, split)


@flow(name="evaluate-search")
def evaluate_search(
    library: str = "library", qdrant: str | None = None, split: str = "test"
) -> dict:
    """Evaluate the search people use: every caption of the split queries the library's current
    collection (dense, text and hybrid ranking) over the split's full gallery."""
    return evaluate_search_task(library, qdrant, split)
