"""The `annotate` flow: descriptors of the clips the run annotates (new or changed ones, or all:
dancesearch.annotate.plan) in parallel batches (one per source), then tagging, captions and the
split in one task that writes the annotations. It reads the features ingest
recorded, and records its own configuration in library.json for the next run. The batches run
on threads or a Dask cluster (dancesearch.flows.runner)."""

from __future__ import annotations

import time

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from dancesearch.annotate.pipeline import (
    AnnotateConfig,
    AnnotateReport,
    annotate_library,
    descriptor_batches,
    join_descriptors,
    source_descriptors,
)
from dancesearch.annotate.plan import AnnotatePlan, plan_annotation
from dancesearch.annotate.recorded import record_config, recorded_config
from dancesearch.flows.runner import on_runner
from dancesearch.storage.library import Library


@task(name="descriptors", retries=1, task_run_name="descriptors {source}", cache_policy=NO_CACHE)
def descriptors_batch(
    library_root: str, source: str, feature_key: str, clip_ids: list[str] | None
) -> pd.DataFrame:
    return source_descriptors(Library(library_root), source, feature_key, clip_ids)


@task(name="tag-caption-split", cache_policy=NO_CACHE)
def finish(
    library_root: str, descriptors: pd.DataFrame, config: AnnotateConfig, plan: AnnotatePlan
) -> AnnotateReport:
    return annotate_library(Library(library_root), config, descriptors, plan)


@flow(name="annotate")
def annotate(
    library: str = "library", config: AnnotateConfig | None = None, runner: str | None = None
) -> AnnotateReport:
    """Tag, caption and split the clips of the library at `library` that are new or changed
    since the last run (every clip when something that decides the annotations changed: see
    dancesearch.annotate.plan); the others keep their stored annotations.

    config: None for the configuration the library recorded at its last annotation (the
    defaults before the first). The tagger's thresholds stored by the last run are reused
    (same taxonomy version) unless config.recalibrate asks for a refit on the train clips,
    which annotates every clip again.
    runner: where the descriptor batches run: threads (default), dask, dask://HOST:PORT (see
    dancesearch.flows.runner).
    """
    return on_runner(annotate_clips, runner)(library, config)


@flow(name="annotate-clips")
def annotate_clips(library: str, config: AnnotateConfig | None) -> AnnotateReport:
    """`annotate`, its descriptor batches on the task runner this flow is given; the writing
    task runs here, in the process that holds the library's lock."""
    started = time.perf_counter()
    lib = Library(library)
    with lib.lock():  # the catalogue must not change between measuring and writing
        config = config or recorded_config(lib)
        plan = plan_annotation(lib, config)
        only = None if plan.full else plan.todo
        batches = [
            descriptors_batch.submit(str(lib.root), source, feature_key, only)
            for source, feature_key in descriptor_batches(lib, only)
        ]
        descriptors = join_descriptors([b.result() for b in batches])
        report = finish(str(lib.root), descriptors, config, plan)  # called, not submitted
        record_config(lib, config)
    report.seconds = time.perf_counter() - started
    return report
