"""The `embed` flow: one task, so a scheduled run retries and logs it; the work is in
dancesearch.indexing.embed, run through dancesearch.serving.jobs (so while `dancesearch serve`
holds the embedded collection, the server embeds). The task runs on threads or a Dask cluster
(dancesearch.flows.runner). The `evaluate-search` flow is in dancesearch.flows.deploy."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from dancesearch.flows.runner import on_runner


@task(name="embed", cache_policy=NO_CACHE)
def embed_task(library: str, checkpoint: str, qdrant: str | None, progress: bool) -> dict:
    from dancesearch.serving.jobs import run_job

    return run_job(library, qdrant, "embed", checkpoint=checkpoint, progress=progress)


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
