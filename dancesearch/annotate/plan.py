"""Which clips an annotation run must annotate: all of them when anything that decides the
annotations changed (the inputs of `annotation_inputs`, a calibration that must be refitted,
`recalibrate`), else only the clips that are new or whose source file changed -- the others keep
their stored descriptors, tags, captions, units and split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dancesearch.annotate import tagger
from dancesearch.annotate.config import AnnotateConfig
from dancesearch.annotate.labels import label_words_key
from dancesearch.annotate.recorded import recorded_config
from dancesearch.annotate.taxonomy import Taxonomy, load_taxonomy
from dancesearch.storage.library import Library

if TYPE_CHECKING:
    import pandas as pd

# the tables a run keeps rows of, per clip; splits are per sequence (splits.extend_splits)
PER_CLIP = ("descriptors", "tags", "captions", "choreography")


def _file_key(path: Path) -> str:
    """sha1 of a file's bytes (16 hex digits), "missing" when it cannot be read."""
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def taxonomy_of(config: AnnotateConfig) -> Taxonomy:
    return load_taxonomy(config.taxonomy_path) if config.taxonomy_path else load_taxonomy()


def annotation_inputs(library: Library, config: AnnotateConfig, taxonomy: Taxonomy) -> dict:
    """Everything besides the clips themselves that decides what annotate writes for a clip:
    when any of it differs from what the last run recorded, every clip is annotated again."""
    return {
        "taxonomy_version": taxonomy.version,
        "taxonomy_file": _file_key(config.taxonomy_path) if config.taxonomy_path else None,
        "label_words": label_words_key(),
        "seed": config.seed,
        "captions_per_clip": config.captions_per_clip,
        "rewriter": config.rewriter,
        "expert_files": [[str(Path(f).resolve()), _file_key(f)] for f in config.expert_files],
        "choreography": str(Path(config.choreography).resolve()) if config.choreography else None,
        "feature_key": library.recorded("ingest").get("feature_key"),
    }


def source_hashes(library: Library) -> dict[str, str]:
    """seq_id -> the input hash and ingest configuration key of the item it was read from:
    changes when the source file (or how it was read) changed, so its clips are redone."""
    seqs, items = library.table("sequences"), library.table("items")
    if seqs.empty or items.empty:
        return {}
    merged = seqs[["seq_id", "item"]].merge(
        items[["item", "input_hash", "config_key"]], on="item", how="left"
    )
    rows = zip(merged["seq_id"], merged["input_hash"], merged["config_key"], strict=True)
    return {str(s): f"{h}:{k}" for s, h, k in rows}


def catalogue_fingerprint(clips: pd.DataFrame) -> str:
    """Identifies a clip set, so stale annotations (from before a re-ingest) are noticed."""
    text = "\n".join(sorted(clips["clip_id"])) if len(clips) else ""
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AnnotatePlan:
    """What an annotation run does (decided under the library's lock)."""

    full: bool  # every clip annotated afresh, the split made anew
    why: str  # why it is a full run, or what it adds
    todo: list[str]  # clip ids to measure, tag and caption, in catalogue order
    kept: frozenset[str] = field(default_factory=frozenset)  # clip ids whose rows stay
    removed: int = 0  # annotated clips no longer in the library

    @property
    def nothing(self) -> bool:
        """Whether the stored annotations are already those of the library as it is."""
        return not self.full and not self.todo and not self.removed


def full_reason(library: Library, config: AnnotateConfig, taxonomy: Taxonomy) -> str | None:
    """Why every clip must be annotated afresh; None when the stored annotations can be kept
    for the clips they already cover."""
    if config.recalibrate:
        return "recalibrate asked for"
    meta = library.read_json("annotation")
    if not meta:
        return "nothing annotated yet"
    stored = meta.get("inputs")
    if stored is None or "sources" not in meta:
        return "the stored annotations do not record what they were made from"
    now = annotation_inputs(library, config, taxonomy)
    changed = [k for k in now if stored.get(k) != now[k]]
    if changed:
        return "; ".join(f"{k} {stored.get(k)} -> {now[k]}" for k in changed)
    refit = tagger.refit_reason(meta, taxonomy)
    if refit is not None:
        return f"the tagger's thresholds must be refitted ({refit})"
    return None


def plan_annotation(
    library: Library, config: AnnotateConfig, taxonomy: Taxonomy | None = None
) -> AnnotatePlan:
    """The clips a run annotates: all of them for a full run (see `full_reason`), else those
    not annotated yet and those whose source changed (`source_hashes`); clips that left the
    library are dropped from the tables either way."""
    taxonomy = taxonomy or taxonomy_of(config)
    clips = library.clips()
    ids = [str(c) for c in clips["clip_id"]] if len(clips) else []
    why = full_reason(library, config, taxonomy)
    annotated = set(library.table("descriptors").get("clip_id", [])) if why is None else set()
    if why is None and len(ids) and not all(len(library.table(t)) for t in ("captions", "splits")):
        why = "stored annotation tables are missing"
    if why is not None:
        return AnnotatePlan(True, f"full run: {why}", ids)
    stored = library.read_json("annotation").get("sources", {})
    changed = {s for s, h in source_hashes(library).items() if stored.get(s) != h}
    seqs = [str(s) for s in clips["seq_id"]] if len(clips) else []
    pairs = zip(ids, seqs, strict=True)
    kept = frozenset(c for c, s in pairs if c in annotated and s not in changed)
    todo = [c for c in ids if c not in kept]
    removed = len(annotated - set(ids))
    return AnnotatePlan(
        False, f"new clips only: {len(todo)} new or changed, {removed} gone", todo, kept, removed
    )


def annotation_record(
    library: Library, config: AnnotateConfig, taxonomy: Taxonomy, clips: pd.DataFrame
) -> dict[str, Any]:
    """What annotation.json records besides the calibration: the clip set, and what the
    annotations were made from (compared by the next run's plan)."""
    return {
        "taxonomy_version": taxonomy.version,
        "catalogue": catalogue_fingerprint(clips),
        "label_words": label_words_key(),
        "seed": config.seed,
        "inputs": annotation_inputs(library, config, taxonomy),
        "sources": source_hashes(library),
    }


def annotations_current(library: Library) -> bool:
    """Whether the stored annotations are of the library's clips as they are now, made as the
    recorded configuration makes them (with the label words of this install)."""
    meta = library.read_json("annotation")
    if not meta:
        return False
    if (
        meta.get("catalogue") != catalogue_fingerprint(library.clips())
        or meta.get("label_words") != label_words_key()
    ):
        return False
    if "inputs" not in meta:  # recorded before runs kept what they could: the check it had
        return True
    config = recorded_config(library)
    return meta["inputs"] == annotation_inputs(library, config, taxonomy_of(config)) and meta.get(
        "sources"
    ) == source_hashes(library)
