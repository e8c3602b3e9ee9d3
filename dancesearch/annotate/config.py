"""What decides an annotation run (AnnotateConfig) and what it reports (AnnotateReport)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class AnnotateConfig:
    """Everything that decides an annotation run."""

    seed: int = 0  # captions and split
    captions_per_clip: int = 6
    expert_files: tuple[Path, ...] = ()
    choreography: Path | None = None  # m2d_choreonet folder; found beside m2d when None
    rewriter: str | None = None  # "module:function" of an LLM caption rewriter; off by default
    taxonomy_path: Path | None = None
    # refit the tagger's thresholds on the train clips instead of reusing the stored ones; a
    # one-off request, never recorded (else every later run would refit)
    recalibrate: bool = False


@dataclass
class AnnotateReport:
    clips: int = 0  # clips annotated by this run (all of them when it was a full run)
    kept: int = 0  # clips whose stored annotations this run kept as they were
    run: str = ""  # full (and why) or new clips only
    tags: int = 0
    captions: int = 0
    expert_changes: int = 0
    calibration: str = ""  # fitted (on what, and why) or reused
    warnings: list[str] = field(default_factory=list)
    rejected_rewrites: int = 0
    split_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
