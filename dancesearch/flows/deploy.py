"""The scheduled deployments of `dancesearch deploy`: `refresh`, `evaluate-search`, `retrain`.

- refresh: new or changed files in the watched folders -> ingest -> annotate -> embed, each
  step incremental; a file changed in the last `settle_s` seconds is left for the next run.
- evaluate-search: every test caption queries the collection; the metrics table goes to a
  Prefect markdown artifact and to <library>/evaluation/history.jsonl.
- retrain: trains the default configuration when the library changed since the current model
  was trained, and promotes the new checkpoint (re-embedding, then switching queries to it)
  only when it is not worse on validation.

Collection writes go through dancesearch.serving.jobs: on the embedded default they are handed
to the process serving the page when one holds the collection. Every step is idempotent, so a
killed run is finished by the next one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from dancesearch.errors import DancesearchError, HeldElsewhere, ServerUnreachable
from dancesearch.flows.schedule import EVALUATE_CRON, RETRAIN_CRON, SETTLE_S
from dancesearch.storage.library import Library

REFRESH_S = 15 * 60
ARTIFACT = "dancesearch-evaluation"


def _transient(task: Task[Any, Any], run: TaskRun, state: State[Any]) -> bool:
    """Retry a job that failed for a passing reason (a server not answering, a folder held
    for a moment), not a user mistake."""
    try:
        state.result()
    except (HeldElsewhere, ServerUnreachable):
        return True
    except DancesearchError:
        return False
    except Exception:  # a crash: worth one more try
        return True
    return False


@task(name="collection-job", retries=2, retry_delay_seconds=10, retry_condition_fn=_transient,
      cache_policy=NO_CACHE, task_run_name="{job}")  # fmt: skip
def collection_job(library: str, qdrant: str | None, job: str, params: dict[str, Any]) -> dict:
    from dancesearch.serving.jobs import run_job

    return run_job(library, qdrant, job, **params)


def _job(library: str, qdrant: str | None) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """Collection jobs on the library, each run as the retried `collection-job` task."""
    return lambda job, params: collection_job(library, qdrant, job, params)


@flow(name="refresh")
def refresh(
    watch: list[str],
    library: str = "library",
    qdrant: str | None = None,
    runner: str | None = None,
    settle_s: float = SETTLE_S,
) -> dict[str, Any]:
    """Make new or changed dance files in the watched folders searchable: ingest, annotate,
    embed -- each skipped when nothing it reads changed (dancesearch.rebuild.refresh_library)."""
    from dancesearch.flows.annotate import annotate
    from dancesearch.flows.ingest import ingest
    from dancesearch.rebuild import RefreshSteps, refresh_library

    steps = RefreshSteps(
        ingest=lambda folder: ingest(
            folder, library=library, progress=False, runner=runner, min_age_s=settle_s
        ),
        annotate=lambda: annotate(library, runner=runner),
        job=_job(library, qdrant),
        log=get_run_logger(),
    )
    return refresh_library(watch, library, steps)


@flow(name="evaluate-search")
def evaluate_search(
    library: str = "library", qdrant: str | None = None, split: str = "test"
) -> dict[str, Any]:
    """Evaluate the search people use: every caption of the split queries the current
    collection (dense, text and hybrid) over the split's full gallery. The table is published
    as the artifact `dancesearch-evaluation` and appended to the library's history."""
    from dancesearch.evaluation import history

    result = collection_job(library, qdrant, "evaluate", {"split": split})
    lib = Library(library)
    history.append(lib, history.entry(result))
    text, warnings = history.page(lib.root.name, result, split, history.read(lib))
    for w in warnings:
        get_run_logger().warning("%s", w)
    create_markdown_artifact(markdown=text, key=ARTIFACT, description="R@K, MedR, MnR")
    return result


@flow(name="retrain")
def retrain(
    library: str = "library", qdrant: str | None = None, config_path: str | None = None
) -> dict[str, Any]:
    """Train the default (or given) configuration on the library when it changed since the
    current model was trained; promote the new checkpoint only when it is not worse on
    validation (dancesearch.promote.retrain_and_decide). The old collection serves queries
    until the switch and is removed after."""
    from dancesearch.encoders.registry import load_config
    from dancesearch.flows.train import train
    from dancesearch.promote import RetrainSteps, retrain_and_decide

    steps = RetrainSteps(
        train=lambda _, config, out: train(library, config, str(out)),
        job=_job(library, qdrant),
        log=get_run_logger(),
    )
    return retrain_and_decide(Library(library), load_config(config_path), steps)


def deployment_name(library: str | Path) -> str:
    """The library folder's name, as Prefect names deployments (so two libraries served to one
    Prefect server stay apart): refresh/<name>, evaluate-search/<name>, retrain/<name>."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", Path(library).resolve().name).strip("-") or "library"


def deployments(
    library: str,
    watch: list[str],
    qdrant: str | None = None,
    runner: str | None = None,
    refresh_s: float = REFRESH_S,
    evaluate_cron: str = EVALUATE_CRON,
    retrain_cron: str = RETRAIN_CRON,
    settle_s: float = SETTLE_S,
) -> list[Any]:
    """The three deployments with their schedules (cron in UTC)."""
    name = deployment_name(library)
    common = {"library": library, "qdrant": qdrant}
    out = []
    if watch:
        out.append(refresh.to_deployment(
            name=name, interval=refresh_s, tags=["dancesearch"],
            parameters={**common, "watch": watch, "runner": runner, "settle_s": settle_s},
            description=f"Make new files in {', '.join(watch)} searchable in {library}.",
        ))  # fmt: skip
    out.append(evaluate_search.to_deployment(
        name=name, cron=evaluate_cron, tags=["dancesearch"], parameters=common,
        description=f"Evaluate the search of {library}; metrics as an artifact and history.",
    ))  # fmt: skip
    out.append(retrain.to_deployment(
        name=name, cron=retrain_cron, tags=["dancesearch"], parameters=common,
        description=f"Retrain on {library}; promote only when not worse on validation.",
    ))  # fmt: skip
    return out
