"""The `ingest` flow: one task per input item, cached by the item's content hash (not even
read again while its files keep the size and mtime recorded with that hash).

A task's result is cached under the library's uid, the item's content hash and the
configuration, so a crashed run resumes where it stopped; a cached result whose arrays have
gone from the library is recomputed. Items already committed unchanged are not even submitted.
Without a configuration the library's recorded one is used; a different one re-cuts the whole
library (see `ingest.recut_items`). The items run on threads or a Dask cluster
(dancesearch.flows.runner).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.futures import as_completed
from tqdm import tqdm

from dancesearch.flows.runner import on_runner
from dancesearch.ingest import (
    IngestConfig,
    ItemResult,
    Summary,
    arrays_gone,
    commit_run,
    internal_error,
    plan_run,
    process_item,
    scan,
)
from dancesearch.storage.library import Library, is_library


def _cache_key(_: Any, params: dict[str, Any]) -> str:
    config: IngestConfig = params["config"]
    return f"ingest-{params['library_uid']}-{params['item_hash']}-{config.key()}"


@task(
    name="ingest-item",
    retries=2,
    retry_delay_seconds=1,
    cache_key_fn=_cache_key,
    persist_result=True,
    task_run_name="ingest {item}",
)
def ingest_item(
    item: str, fmt: str, library_root: str, config: IngestConfig, item_hash: str, library_uid: str
) -> ItemResult:
    return process_item(Path(item), fmt, Path(library_root), config, item_hash)


@flow(name="ingest")
def ingest(
    path: str,
    fmt: str = "auto",
    library: str = "library",
    config: IngestConfig | None = None,
    progress: bool = True,
    min_age_s: float = 0.0,
    runner: str | None = None,
) -> Summary:
    """Ingest every readable item under `path` into the library at `library`.

    config: None for the library's recorded configuration (the defaults for a new library).
    min_age_s: leave items with a file modified more recently than this for a later run
    (still being written or copied); they are listed in the summary's `waiting`.
    runner: where the items are processed: threads (default), dask, dask://HOST:PORT (see
    dancesearch.flows.runner: under Dask the library must be on a file system the workers
    share).
    """
    return on_runner(ingest_items, runner)(path, fmt, library, config, progress, min_age_s)


@flow(name="ingest-items")
def ingest_items(
    path: str,
    fmt: str,
    library: str,
    config: IngestConfig | None,
    progress: bool,
    min_age_s: float,
) -> Summary:
    """`ingest`, its item tasks on the task runner this flow is given: the run is planned and
    committed by dancesearch.ingest (plan_run, commit_run) under the library's lock."""
    started = time.perf_counter()
    # files the library recorded with the same size and mtime are not read again
    known = Library(library) if is_library(library) else None
    found = scan(Path(path).resolve(), fmt, min_age_s, known)
    lib = Library(library, create=True)
    with lib.lock():
        run = plan_run(lib, found, config)
        root, config = str(lib.root), run.config
        futures = {
            ingest_item.submit(item, f, root, config, run.hashes[item], lib.uid): (item, f)
            for item, f in run.todo
        }
        results: list[ItemResult] = []
        for future in tqdm(
            as_completed(list(futures)),
            total=len(futures),
            desc="ingest",
            unit="item",
            disable=not progress,
        ):
            item, f = futures[future]
            try:
                result = future.result()
                if arrays_gone(lib, result, config):
                    result = ingest_item.with_options(refresh_cache=True)(
                        item, f, root, config, run.hashes[item], lib.uid
                    )
            except Exception as e:  # a bug in one item must not lose the others
                result = internal_error(item, f, run.hashes[item], e)
            results.append(result)
        summary = commit_run(lib, run, results)
    summary.seconds = time.perf_counter() - started
    return summary
