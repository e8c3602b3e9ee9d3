"""Bringing a library and its collection up to date, redoing only what changed: `build_library`
(ingest -> annotate -> train -> embed, the `build` flow) and `refresh_library` (watched
folders -> ingest -> annotate -> embed, the scheduled `refresh`). They decide what to skip --
by the content keys of dancesearch.freshness and annotations_current -- and hand the work to
the steps they are given: Prefect subflows and retried tasks in dancesearch.flows, plain
functions in tests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dancesearch.annotate.pipeline import annotations_current
from dancesearch.errors import LibraryError
from dancesearch.freshness import (
    catalogue_key,
    embedded_on,
    mark_embedded,
    mark_trained,
    trained_on,
    training_key,
)
from dancesearch.storage.library import Library

if TYPE_CHECKING:  # ingest loads librosa: only its summary's type is needed here
    from dancesearch.annotate.pipeline import AnnotateReport
    from dancesearch.encoders.config import RunConfig
    from dancesearch.ingest import Summary

Logger = logging.Logger | logging.LoggerAdapter[Any]
# job(name, params) -> the result of a collection job ("info", "embed") on the library
Job = Callable[[str, dict[str, Any]], dict[str, Any]]


def _logger() -> Logger:
    return logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildSteps:
    """The work build_library hands out."""

    ingest: Callable[[str], Summary]  # ingest(path): every item under path into the library
    annotate: Callable[[], AnnotateReport]  # annotate the whole library
    # train(library, config, out) -> {"seconds": ..., "fingerprint": ...}: out/checkpoint.pt
    train: Callable[[Library, RunConfig, Path], dict[str, Any]]
    embed: Callable[[Path], Any]  # embed(checkpoint folder): the collection caught up with it


def ingest_totals(summaries: list[Summary]) -> dict[str, Any]:
    """What the ingest of several paths did, added up."""
    return {
        "items": sum(s.items for s in summaries),
        "unchanged": sum(s.unchanged for s in summaries),
        "new clips": sum(s.clips for s in summaries),
        "skipped": [f"{item}: {why}" for s in summaries for item, why in s.skipped],
    }


def build_library(
    paths: list[str], library: str | Path, config: RunConfig, steps: BuildSteps
) -> dict[str, Any]:
    """Ingest `paths`, annotate, train `config` into <library>/models/<name> and embed it;
    annotate is skipped when the annotations are current, training when the checkpoint there
    was trained on the same inputs (training_key). Returns what each step did."""
    done: dict[str, Any] = {"ingest": ingest_totals([steps.ingest(p) for p in paths])}
    lib = Library(library)
    if annotations_current(lib):
        done["annotate"] = "unchanged"
    else:
        report = steps.annotate()
        done["annotate"] = f"{report.clips} clips annotated; tagger thresholds {report.calibration}"
    out = lib.root / "models" / config.model.name
    key = training_key(lib, config)
    if trained_on(out) == key:
        done["train"] = f"unchanged ({out})"
    else:
        result = steps.train(lib, config, out)
        mark_trained(out, key)
        done["train"] = f"{result['seconds']:.0f} s, fingerprint {result['fingerprint']}"
    done["embed"] = steps.embed(out)
    return done


@dataclass(frozen=True)
class RefreshSteps:
    """The work refresh_library hands out."""

    ingest: Callable[[str], Summary]  # ingest(folder): its settled items into the library
    annotate: Callable[[], AnnotateReport]  # annotate the whole library
    job: Job
    log: Logger = field(default_factory=_logger)


def refresh_library(watch: list[str], library: str | Path, steps: RefreshSteps) -> dict[str, Any]:
    """Make new or changed dance files in the watched folders searchable: ingest each folder
    (a missing one is reported and, after the others, raised as a LibraryError; an empty one
    is passed over), annotate unless the annotations are current, and embed unless the
    collection caught up with the catalogue (catch_up). Returns the run's report."""
    log = steps.log
    report: dict[str, Any] = {"new_clips": 0, "waiting": [], "skipped": [], "missing": []}
    for folder in watch:
        path = Path(folder)
        if not path.is_dir():
            log.error("watched folder %s does not exist (any more); skipping it", folder)
            report["missing"].append(folder)
            continue
        if not any(path.iterdir()):
            continue  # nothing dropped there yet
        s = steps.ingest(folder)
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
            report["annotated_clips"] = steps.annotate().clips
        report["embed"] = catch_up(lib, steps.job)
    if report["missing"]:
        raise LibraryError(f"watched folder(s) missing: {', '.join(report['missing'])}")
    log.info("refresh: %s", json.dumps(report, default=str))
    return report


def catch_up(library: Library, job: Job) -> Any:
    """Embed the library (the `embed` job with the collection's own checkpoint) unless the
    collection already caught up with its catalogue; never the first embedding, which needs a
    trained model."""
    key = catalogue_key(library)
    if embedded_on(library) == key:
        return "unchanged"
    info = job("info", {})["collection"]
    if info is None:
        return "no collection yet: run `dancesearch build` once to train and embed"
    result = job("embed", {})
    mark_embedded(library, key)
    return result
