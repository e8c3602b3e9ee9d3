"""The `train` and `evaluate` flows: one task each, so a scheduled run retries and logs them;
the work is in dancesearch.train and dancesearch.evaluation.offline."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from dancesearch.encoders.config import RunConfig
from dancesearch.evaluation.offline import Report
from dancesearch.storage.library import Library


@task(name="train", cache_policy=NO_CACHE)
def train_task(library: str, config: RunConfig, out: str, progress: bool) -> dict[str, object]:
    from dancesearch.train import train as train_model

    result = train_model(Library(library), config, Path(out), progress=progress)
    return {
        "checkpoint": str(result.path),
        "fingerprint": result.checkpoint.fingerprint,
        "seconds": result.seconds,
        "best_step": result.best_step,
        "val": [h for h in result.checkpoint.history if "val R@1" in h][-1:],
    }


@flow(name="train")
def train(
    library: str = "library",
    config: RunConfig | None = None,
    out: str | None = None,
    progress: bool = False,
) -> dict[str, object]:
    """Train `config` (the default preset when None) on the library; write out/checkpoint.pt
    (out defaults to <library>/models/<config name>)."""
    from dancesearch.encoders.registry import load_config

    config = config or load_config()
    out = out or str(Path(library) / "models" / config.model.name)
    return train_task(library, config, out, progress)


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate_task(library: str, checkpoint: str, split: str) -> Report:
    from dancesearch.evaluation.offline import evaluate_checkpoint

    return evaluate_checkpoint(Library(library), checkpoint, split)


@flow(name="evaluate")
def evaluate(library: str = "library", checkpoint: str = "", split: str = "test") -> Report:
    """Every protocol of the checkpoint on the library's `split` (full gallery)."""
    return evaluate_task(library, checkpoint, split)
