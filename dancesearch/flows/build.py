"""The main job as one flow: ingest -> annotate -> train -> embed, each step skipped when its
inputs are unchanged -- ingest by each file's hash, annotate by the catalogue it annotated,
train by the hash of its configuration, features and annotations, embed by each clip's input
hash. A rerun over the same data does nothing but check."""

from __future__ import annotations

from typing import Any

from prefect import flow

from dancesearch.encoders.config import RunConfig
from dancesearch.flows.annotate import annotate
from dancesearch.flows.embed import embed
from dancesearch.flows.ingest import ingest
from dancesearch.flows.train import train


@flow(name="build")
def build(
    paths: list[str],
    library: str = "library",
    config: RunConfig | None = None,
    qdrant: str | None = None,
    progress: bool = True,
    runner: str | None = None,
) -> dict[str, Any]:
    """Build a searchable library from dance data under `paths`; returns what each step did
    (the decisions are dancesearch.rebuild.build_library's).

    runner: where ingest, annotate and embed run their tasks (dancesearch.flows.runner);
    training runs here.
    """
    from dancesearch.encoders.registry import load_config
    from dancesearch.rebuild import BuildSteps, build_library

    steps = BuildSteps(
        ingest=lambda path: ingest(path, library=library, progress=progress, runner=runner),
        annotate=lambda: annotate(library, runner=runner),
        train=lambda _, config, out: train(library, config, str(out), progress=progress),
        embed=lambda out: embed(library, str(out), qdrant, progress=progress, runner=runner),
    )
    return build_library(paths, library, config or load_config(), steps)
