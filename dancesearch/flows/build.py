"""The main job as one flow: ingest -> annotate -> train -> embed, each step skipped when its
inputs are unchanged -- ingest by each file's hash, annotate by the catalogue it annotated,
train by the hash of its configuration, features and annotations, embed by each clip's input
hash. A rerun over the same data does nothing but check."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from prefect import flow

from dancesearch.encoders.config import RunConfig
from dancesearch.flows.annotate import annotate
from dancesearch.flows.embed import embed
from dancesearch.flows.ingest import ingest
from dancesearch.flows.train import train
from dancesearch.storage.library import Library

TRAINED = "inputs.json"  # beside checkpoint.pt: the key of what it was trained on


def training_key(library: Library, config: RunConfig) -> str:
    """Hash of what training reads: the configuration, the feature store and the catalogue,
    captions and split tables."""
    from dancesearch.ingest import recorded_feature_key

    h = hashlib.sha1(f"{config.key()}:{recorded_feature_key(library)}".encode())
    for path in ("clips.parquet", "annotations/captions.parquet", "annotations/splits.parquet"):
        file = library.root / path
        h.update(file.read_bytes() if file.is_file() else b"-")
    return h.hexdigest()[:16]


def trained_on(folder: Path) -> str | None:
    """The training key a checkpoint folder records, None when there is none."""
    meta = folder / TRAINED
    if not (folder / "checkpoint.pt").is_file() or not meta.is_file():
        return None
    return str(json.loads(meta.read_text()).get("key"))


@flow(name="build")
def build(
    paths: list[str],
    library: str = "library",
    config: RunConfig | None = None,
    qdrant: str | None = None,
    progress: bool = True,
    runner: str | None = None,
) -> dict[str, Any]:
    """Build a searchable library from dance data under `paths`; returns what each step did.

    runner: where ingest, annotate and embed run their tasks (dancesearch.flows.runner);
    training runs here.
    """
    from dancesearch.annotate.pipeline import annotations_current
    from dancesearch.encoders.registry import load_config

    config = config or load_config()
    steps: dict[str, Any] = {}
    summaries = [ingest(p, library=library, progress=progress, runner=runner) for p in paths]
    steps["ingest"] = {
        "items": sum(s.items for s in summaries),
        "unchanged": sum(s.unchanged for s in summaries),
        "new clips": sum(s.clips for s in summaries),
        "skipped": [f"{item}: {why}" for s in summaries for item, why in s.skipped],
    }
    lib = Library(library)
    if annotations_current(lib):
        steps["annotate"] = "unchanged"
    else:
        report = annotate(library, runner=runner)
        steps["annotate"] = (
            f"{report.clips} clips annotated; tagger thresholds {report.calibration}"
        )
    out = lib.root / "models" / config.model.name
    key = training_key(lib, config)
    if trained_on(out) == key:
        steps["train"] = f"unchanged ({out})"
    else:
        result = train(library, config, str(out), progress=progress)
        (out / TRAINED).write_text(json.dumps({"key": key}) + "\n")
        steps["train"] = f"{result['seconds']:.0f} s, fingerprint {result['fingerprint']}"
    steps["embed"] = embed(library, str(out), qdrant, progress=progress, runner=runner)
    return steps
