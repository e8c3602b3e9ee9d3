"""The annotation configuration a library records (library.json, "annotate"), and reading it
back, so `refresh`, `schedule` and a plain `annotate` re-annotate as the last run did."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from dancesearch.annotate.config import AnnotateConfig
from dancesearch.annotate.taxonomy import load_taxonomy
from dancesearch.storage.library import Library


def _path(path: Path | None) -> str | None:
    # absolute: a scheduled run starts in another working directory
    return str(Path(path).resolve()) if path is not None else None


def config_record(config: AnnotateConfig) -> dict[str, Any]:
    """What library.json keeps of an annotation run's configuration."""
    taxonomy = load_taxonomy(config.taxonomy_path) if config.taxonomy_path else load_taxonomy()
    return {
        "seed": config.seed,
        "captions_per_clip": config.captions_per_clip,
        "expert_files": [_path(f) for f in config.expert_files],
        "choreography": _path(config.choreography),
        "rewriter": config.rewriter,
        "taxonomy_path": _path(config.taxonomy_path),
        "taxonomy_version": taxonomy.version,  # for the reader; the file decides on reuse
    }


def recorded_config(library: Library) -> AnnotateConfig:
    """The configuration of the library's last annotation; the defaults before the first."""
    data = library.recorded("annotate")
    default = AnnotateConfig()

    def path(key: str) -> Path | None:
        return Path(data[key]) if data.get(key) else None

    return AnnotateConfig(
        seed=int(data.get("seed", default.seed)),
        captions_per_clip=int(data.get("captions_per_clip", default.captions_per_clip)),
        expert_files=tuple(Path(f) for f in data.get("expert_files", ())),
        choreography=path("choreography"),
        rewriter=data.get("rewriter") or None,
        taxonomy_path=path("taxonomy_path"),
    )


def record_config(library: Library, config: AnnotateConfig) -> None:
    """Record config in library.json (call under the library's lock)."""
    library.record("annotate", config_record(config))


def with_options(
    recorded: AnnotateConfig,
    seed: int | None = None,
    expert_files: tuple[Path, ...] | None = None,
    choreography: Path | None = None,
    rewriter: str | None = None,
    recalibrate: bool = False,
) -> AnnotateConfig:
    """The recorded configuration with the options a user gave (None: keep the recorded value;
    expert_files=() annotates without experts). recalibrate is never recorded: it asks this run
    to refit the tagger's thresholds."""
    return replace(
        recorded,
        seed=recorded.seed if seed is None else seed,
        expert_files=recorded.expert_files if expert_files is None else expert_files,
        choreography=choreography or recorded.choreography,
        rewriter=rewriter or recorded.rewriter,
        recalibrate=recalibrate,
    )
