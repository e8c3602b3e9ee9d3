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

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from dancesearch.errors import DancesearchError, HeldElsewhere, LibraryError, ServerUnreachable
from dancesearch.flows.schedule import EVALUATE_CRON, RETRAIN_CRON, SETTLE_S
from dancesearch.storage.library import Library

REFRESH_S = 15 * 60
EMBEDDED = "refresh"  # annotations/refresh.json: the catalogue the collection last caught up to
ARTIFACT = "dancesearch-evaluation"
RETRAINS = Path("models") / "retrain.jsonl"  # one line per retrain: its figures and decision


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


def catalogue_key(library: Library) -> str:
    """Hash of what the collection is made from, besides the checkpoint: the catalogue, the
    items' hashes and the annotations."""
    import hashlib

    h = hashlib.sha1()
    for name in ("clips.parquet", "items.parquet", "annotations/captions.parquet",
                 "annotations/splits.parquet", "annotations/tags.parquet"):  # fmt: skip
        file = library.root / name
        h.update(name.encode() + (file.read_bytes() if file.is_file() else b"-"))
    return h.hexdigest()[:16]


@flow(name="refresh")
def refresh(
    watch: list[str],
    library: str = "library",
    qdrant: str | None = None,
    runner: str | None = None,
    settle_s: float = SETTLE_S,
) -> dict[str, Any]:
    """Make new or changed dance files in the watched folders searchable: ingest, annotate,
    embed -- each skipped when nothing it reads changed."""
    from dancesearch.annotate.pipeline import annotations_current
    from dancesearch.flows.annotate import annotate
    from dancesearch.flows.ingest import ingest

    log = get_run_logger()
    report: dict[str, Any] = {"new_clips": 0, "waiting": [], "skipped": [], "missing": []}
    for folder in watch:
        path = Path(folder)
        if not path.is_dir():
            log.error("watched folder %s does not exist (any more); skipping it", folder)
            report["missing"].append(folder)
            continue
        if not any(path.iterdir()):
            continue  # nothing dropped there yet
        s = ingest(folder, library=library, progress=False, runner=runner, min_age_s=settle_s)
        skipped = [f"{item}: {why}" for item, why in s.skipped]
        report["new_clips"] += s.clips
        report["waiting"] += s.waiting
        report["skipped"] += skipped
        for item in s.waiting:
            log.info("%s is still being written; left for the next run", item)
        for line in skipped:
            log.warning("skipped %s", line)
    lib = Library(library)
    if lib.clips().empty:
        report["embed"] = "nothing to embed yet"
    else:
        if not annotations_current(lib):
            report["annotated_clips"] = annotate(library, runner=runner).clips
        report["embed"] = _catch_up(lib, qdrant)
    if report["missing"]:
        raise LibraryError(f"watched folder(s) missing: {', '.join(report['missing'])}")
    log.info("refresh: %s", json.dumps(report, default=str))
    return report


def _catch_up(lib: Library, qdrant: str | None) -> Any:
    """Embed the library unless the collection already caught up with its catalogue."""
    key = catalogue_key(lib)
    if lib.read_json(EMBEDDED).get("catalogue") == key:
        return "unchanged"
    info = collection_job(str(lib.root), qdrant, "info", {})["collection"]
    if info is None:
        return "no collection yet: run `dancesearch build` once to train and embed"
    result = collection_job(str(lib.root), qdrant, "embed", {})
    lib.write_json(EMBEDDED, {"catalogue": key})
    return result


@flow(name="evaluate-search")
def evaluate_search(
    library: str = "library", qdrant: str | None = None, split: str = "test"
) -> dict[str, Any]:
    """Evaluate the search people use: every caption of the split queries the current
    collection (dense, text and hybrid) over the split's full gallery. The table is published
    as the artifact `dancesearch-evaluation` and appended to the library's history."""
    from dancesearch.evaluation import history
    from dancesearch.evaluation.report import markdown

    result = collection_job(library, qdrant, "evaluate", {"split": split})
    lib = Library(library)
    history.append(lib, history.entry(result))
    lines = history.read(lib)
    warnings = history.drops(lines)
    for w in warnings:
        get_run_logger().warning("%s", w)
    text = "\n\n".join([
        f"# Evaluation of {lib.root.name} (model {result['fingerprint']})",
        markdown(result["figures"], split, blocks=("full",), via="Qdrant"),
        *[f"**Warning:** {w}" for w in warnings],
        "## History", history.markdown(lines),
    ])  # fmt: skip
    create_markdown_artifact(markdown=text, key=ARTIFACT, description="R@K, MedR, MnR")
    return result


@flow(name="retrain")
def retrain(
    library: str = "library", qdrant: str | None = None, config_path: str | None = None
) -> dict[str, Any]:
    """Train the default (or given) configuration on the library when it changed since the
    current model was trained; promote the new checkpoint only when it is not worse on
    validation. The old collection serves queries until the switch and is removed after."""
    from dancesearch.encoders.registry import load_config
    from dancesearch.evaluation.offline import evaluate_checkpoint
    from dancesearch.flows.build import TRAINED, trained_on, training_key
    from dancesearch.flows.train import train
    from dancesearch.promote import SPLIT, decide

    log = get_run_logger()
    lib = Library(library)
    config = load_config(config_path)
    key = training_key(lib, config)
    info = collection_job(library, qdrant, "info", {})["collection"]
    current = lib.resolve_checkpoint(info["checkpoint"]) if info else None
    if current is not None and key in (trained_on(current), _last_rejected(lib)):
        log.info("the library is as the current (or the last rejected) model saw it: nothing to do")
        return {"trained": False, "promoted": False, "checkpoint": str(current)}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out = lib.root / "models" / f"{config.model.name}-{stamp}"
    result = train(library, config, str(out))
    (out / TRAINED).write_text(json.dumps({"key": key}) + "\n")
    record = {"time": stamp, "key": key, "checkpoint": str(out.relative_to(lib.root)),
              "fingerprint": result["fingerprint"]}  # fmt: skip
    if info and result["fingerprint"] == info["fingerprint"]:  # training is deterministic
        log.info("retrain: the same model as the current one; nothing to promote")
        shutil.rmtree(out)
        _log_retrain(lib, {**record, "promoted": False, "same": True})
        return {**record, "trained": True, "promoted": False}
    new = evaluate_checkpoint(lib, out, SPLIT)
    old = evaluate_checkpoint(lib, current, SPLIT) if current else None
    decision = decide(new, old)
    log.info("retrain: %s", decision.reason)
    record |= {"trained": True, "promoted": decision.promote, "candidate": decision.candidate,
               "current": decision.current}  # fmt: skip
    if decision.promote:
        record["embed"] = collection_job(library, qdrant, "embed", {"checkpoint": str(out)})
    else:
        shutil.rmtree(out)  # a worse model is not kept; its figures are in the record
    _log_retrain(lib, record)
    return record


def _log_retrain(lib: Library, record: dict[str, Any]) -> None:
    with (lib.root / RETRAINS).open("a") as f:
        f.write(json.dumps(record, default=str) + "\n")


def _last_rejected(lib: Library) -> str | None:
    """The training key of the last retrain, when its model was not promoted."""
    path = lib.root / RETRAINS
    lines = path.read_text().splitlines() if path.is_file() else []
    last = json.loads(lines[-1]) if lines else {}
    return None if last.get("promoted", True) else last.get("key")


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
