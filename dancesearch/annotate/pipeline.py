"""Annotate a library: descriptors -> split -> calibration -> tags (auto, labels, experts) ->
captions.

Plain functions the `annotate` flow wires together; `annotate_library` runs them all. Results
are stored beside the clips (see `storage.library`), stamped with the taxonomy version. The
tagger's thresholds are fitted on the train split's clips only, so no held-out clip sets its
own thresholds, and are reused by later runs until the taxonomy changes or a refit is asked for.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dancesearch.annotate import captions as cap
from dancesearch.annotate import choreo, expert, splits, tagger
from dancesearch.annotate.descriptors import MOTION_DESCRIPTORS, MUSIC_DESCRIPTORS, clip_descriptors
from dancesearch.annotate.labels import label_captions, label_words_key
from dancesearch.annotate.taxonomy import Tagset, Taxonomy, load_taxonomy
from dancesearch.skeleton import FPS
from dancesearch.storage import schema
from dancesearch.storage.library import Library


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
    clips: int = 0
    tags: int = 0
    captions: int = 0
    expert_changes: int = 0
    calibration: str = ""  # fitted (on what, and why) or reused
    warnings: list[str] = field(default_factory=list)
    rejected_rewrites: int = 0
    split_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def subject_of(labels: dict[str, str]) -> str:
    """The noun captions use for what a clip shows."""
    category = labels.get("category", "dance")
    if category == "dance":
        return "dance"
    if category == "karate":
        return "karate sequence"
    content = labels.get("content", "")
    return {"walk": "walk", "run": "run", "dash": "sprint"}.get(content.split("-")[0], "movement")


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def library_descriptors(library: Library, clips: pd.DataFrame, feature_key: str) -> pd.DataFrame:
    """One row per clip (column clip_id, then the descriptors; music ones NaN without music).

    clips: catalogue rows (seq_id, start_frame, n_frames, has_music, bpm); feature_key names the
    feature store holding the music and beats. Each sequence's arrays are loaded once, however
    many clips it has; a clip's beats are moved to its own time.
    """
    rows: dict[str, dict[str, float | str]] = {}
    for seq_id, group in clips.groupby("seq_id", sort=False):
        joints = library.load_motion(str(seq_id))
        features = (
            library.load_features(str(seq_id), feature_key) if group["has_music"].any() else {}
        )
        for clip in group.to_dict("records"):
            start, n = int(clip["start_frame"]), int(clip["n_frames"])
            music = features.get("music") if clip["has_music"] else None
            rows[str(clip["clip_id"])] = clip_descriptors(
                joints[start : start + n],
                FPS,
                music=None if music is None else music[start : start + n],
                beats_s=np.asarray(features.get("beats", np.zeros(0))) - start / FPS,
                bpm=_float(clip.get("bpm")),
            )
    columns = [*MOTION_DESCRIPTORS, *MUSIC_DESCRIPTORS]
    frame = pd.DataFrame([rows[str(c)] for c in clips["clip_id"]], columns=columns)
    frame.insert(0, "clip_id", clips["clip_id"].astype(str).to_numpy())
    return frame


def descriptor_batches(library: Library) -> list[tuple[str, str]]:
    """(source, feature key) of each batch the annotate flow measures descriptors in: one per
    source, sorted; none for a library without clips (whose feature key is not asked for: a
    library never ingested has none)."""
    clips = library.clips()
    if clips.empty:
        return []
    feature_key = library.feature_key()
    return [(source, feature_key) for source in sorted(clips["source"].unique())]


def source_descriptors(library: Library, source: str, feature_key: str) -> pd.DataFrame:
    """library_descriptors of the clips of one source (one batch)."""
    clips = library.clips()
    return library_descriptors(library, clips[clips["source"] == source], feature_key)


def join_descriptors(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The batches' descriptors as one table (empty when there were none)."""
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def train_clip_ids(clips: pd.DataFrame, split: pd.DataFrame) -> set[str]:
    """The clips of the sequences `split` (splits.make_splits) puts in train."""
    train = set(split.loc[split["split"] == "train", "seq_id"].astype(str))
    return set(clips.loc[clips["seq_id"].astype(str).isin(train), "clip_id"].astype(str))


def calibrate(
    descriptors: pd.DataFrame,
    train_ids: Collection[str],
    taxonomy: Taxonomy,
    stored: Mapping[str, Any] | None = None,
    refit: bool = False,
) -> tuple[tagger.Calibration, dict[str, Any], str]:
    """The tagger's calibration for this run: (calibration, how it was fitted, what was done).

    stored: the last run's annotation record (its "calibration" and "calibration_fit"); reused
    when it was fitted on train clips for this taxonomy version and refit is False, so clips
    already tagged keep their tags when new clips arrive. Otherwise fitted on the descriptors
    of the train clips, or of all clips when there are none (the returned text says so).
    """
    stored = stored or {}
    old, fit = stored.get("calibration"), stored.get("calibration_fit") or {}
    if refit:
        why = "recalibrate asked for"
    elif not old:
        why = "none stored"
    elif old.get("taxonomy_version") != taxonomy.version:
        why = f"taxonomy {old.get('taxonomy_version')} -> {taxonomy.version}"
    elif fit.get("on") != "train":  # fitted on all clips: held-out clips set thresholds
        why = "the stored one was fitted on all clips"
    else:
        text = f"reused (fitted on {fit.get('clips')} train clips by an earlier run)"
        return tagger.Calibration.from_dict(old), dict(fit), text
    train = descriptors[descriptors["clip_id"].astype(str).isin(set(train_ids))]
    on = "train" if len(train) else "all"
    fitted = tagger.fit_calibration(train if len(train) else descriptors, taxonomy)
    fit = {"on": on, "clips": len(train) if len(train) else len(descriptors)}
    return fitted, fit, f"fitted on {fit['clips']} {on} clips ({why})"


def tag_clips(
    clips: pd.DataFrame,
    descriptors: pd.DataFrame,
    taxonomy: Taxonomy,
    calibration: tagger.Calibration,
) -> dict[str, Tagset]:
    """Automatic tags from descriptors (thresholds from calibration) plus genre labels."""
    rows = {str(r["clip_id"]): r for r in _records(descriptors)}
    tagsets: dict[str, Tagset] = {}
    for clip in _records(clips):
        clip_id = clip["clip_id"]
        ts = tagger.auto_tags(clip_id, rows.get(clip_id, {}), calibration, taxonomy)
        genre = clip["genre"] if isinstance(clip["genre"], str) else None
        ts.tags.update(tagger.label_tags(clip_id, genre, taxonomy).tags)
        tagsets[clip_id] = ts
    return tagsets


def caption_clips(
    clips: pd.DataFrame,
    tagsets: dict[str, Tagset],
    taxonomy: Taxonomy,
    config: AnnotateConfig,
) -> tuple[pd.DataFrame, int, list[str]]:
    """Template captions (validated), human descriptions, label captions, optional rewrites."""
    rewriter = cap.load_rewriter(config.rewriter)
    rows: list[dict[str, Any]] = []
    rejected = 0
    warnings: list[str] = []
    genres = tuple(str(g) for g in clips["genre"].dropna().unique())
    for clip in schema.records(clips, schema.clip_record):  # JSON decoded, NaN as None
        labels = clip["labels"]
        tagset = tagsets[clip["clip_id"]]
        written = cap.write_captions(
            tagset, taxonomy, config.seed, subject=subject_of(labels), n=config.captions_per_clip
        )
        if rewriter is not None:
            written, bad = cap.rewrite_captions(tagset, taxonomy, written, rewriter, genres)
            rejected += len(bad)
            warnings += [f"{clip['clip_id']}: rewrite rejected: {b}" for b in bad[:1]]
        human = cap.human_captions(clip["descriptions"])
        for c in written + human + label_captions(labels, clip["genre"]):
            rows.append(schema.caption_row(clip["clip_id"], c.text, c.type, c.source, c.tags))
    return pd.DataFrame(rows), rejected, warnings


def tags_table(tagsets: dict[str, Tagset], taxonomy: Taxonomy) -> pd.DataFrame:
    return schema.tags_frame(
        schema.tag_row(clip_id, t.tag, t.source, t.evidence, t.annotator)
        for clip_id, ts in tagsets.items()
        for t in ts.tags.values()
    )


def choreography_table(library: Library, clips: pd.DataFrame, root: Path | None) -> pd.DataFrame:
    """The choreographic action units under each m2d clip, where annotations exist."""
    seqs = library.table("sequences")
    m2d = seqs[seqs["source"] == "m2d"] if len(seqs) else seqs
    columns = ["clip_id", "unit", "start_s", "end_s", "beats"]
    if m2d.empty:
        return pd.DataFrame(columns=columns)
    root = root or choreo.find_choreography([Path(p) for p in m2d["path"]])
    if root is None:
        return pd.DataFrame(columns=columns)
    dances = choreo.load_choreography(root)
    rows = []
    for clip in _records(clips[clips["source"] == "m2d"]):
        dance = dances.get(str(clip["seq_id"]).split("/", 1)[1])
        if dance is None or pd.isna(clip["music_start_s"]):
            continue
        start, duration = float(clip["music_start_s"]), float(clip["duration_s"])
        for u in choreo.units_for_clip(dance, start, duration):
            rows.append(
                {"clip_id": clip["clip_id"], "unit": u.name, "start_s": u.start_s,
                 "end_s": u.end_s, "beats": u.beats}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def catalogue_fingerprint(clips: pd.DataFrame) -> str:
    """Identifies a clip set, so stale annotations (from before a re-ingest) are noticed."""
    text = "\n".join(sorted(clips["clip_id"])) if len(clips) else ""
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def annotations_current(library: Library) -> bool:
    """Whether the stored annotations are of the library's clips as they are now, with the
    label words (label_words.toml) of this install."""
    meta = library.read_json("annotation")
    return (
        bool(meta)
        and meta.get("catalogue") == catalogue_fingerprint(library.clips())
        and meta.get("label_words") == label_words_key()
    )


def annotate_library(
    library: Library,
    config: AnnotateConfig | None = None,
    descriptors: pd.DataFrame | None = None,
) -> AnnotateReport:
    """Annotate every clip of a library and store tags, captions, units and the split.

    descriptors: the clips' measured descriptors when already computed (the flow computes
    them in parallel batches); computed here otherwise.
    """
    started = time.perf_counter()
    config = config or AnnotateConfig()
    taxonomy = load_taxonomy(config.taxonomy_path) if config.taxonomy_path else load_taxonomy()
    clips = library.clips()
    report = AnnotateReport(clips=len(clips))
    if clips.empty:
        report.warnings.append(f"{library.root}: no clips to annotate; run ingest first")
        return report
    # load expert files first: a bad file fails before any work is done
    expert_rows = [row for f in config.expert_files for row in expert.load_expert(f, taxonomy)]
    if descriptors is None:
        descriptors = library_descriptors(library, clips, library.feature_key())
    sequences = library.table("sequences")
    split = splits.make_splits(sequences, seed=config.seed)  # first: calibration needs it
    report.split_problems = splits.check_splits(sequences, split)
    calibration, fit, report.calibration = calibrate(
        descriptors,
        train_clip_ids(clips, split),
        taxonomy,
        stored=library.read_json("annotation"),
        refit=config.recalibrate,
    )
    if fit["on"] == "all":
        report.warnings.append(
            f"no clip is in the train split: the tagger's thresholds were fitted on all "
            f"{fit['clips']} clips, held-out ones included; the next annotate refits them"
        )
    tagsets = tag_clips(clips, descriptors, taxonomy, calibration)
    if expert_rows:
        clip_seq = dict(zip(clips["clip_id"], clips["seq_id"], strict=True))
        report.expert_changes, warnings = expert.apply_expert(
            tagsets, expert_rows, clip_seq, taxonomy
        )
        report.warnings += warnings
    captions, report.rejected_rewrites, warnings = caption_clips(clips, tagsets, taxonomy, config)
    report.warnings += warnings
    tags = tags_table(tagsets, taxonomy)
    units = choreography_table(library, clips, config.choreography)
    with library.lock():
        library.write_table("descriptors", descriptors)
        library.write_table("tags", tags)
        library.write_table("captions", captions)
        library.write_table("splits", split)
        library.write_table("choreography", units)
        library.write_json(
            "annotation",
            {
                "taxonomy_version": taxonomy.version,
                "catalogue": catalogue_fingerprint(clips),
                "label_words": label_words_key(),
                "seed": config.seed,
                "calibration": calibration.to_dict(),
                "calibration_fit": fit,
                "expert_files": [str(f) for f in config.expert_files],
                "rewriter": config.rewriter,
                "annotated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            },
        )
    report.tags, report.captions = len(tags), len(captions)
    report.seconds = time.perf_counter() - started
    return report


def tag_frequencies(library: Library) -> pd.DataFrame:
    """Per tag: clips carrying it, share of the clips it can apply to, and by source."""
    tags, clips = library.table("tags"), library.clips()
    if tags.empty:
        return pd.DataFrame()
    music_clips = int(clips["has_music"].sum())
    taxonomy = load_taxonomy()
    rows = []
    for tag, group in tags.groupby("tag"):
        facet = taxonomy.facet(str(tag).split(".")[0])
        needs_music = facet.domain in ("music", "both") and facet.id != "genre"
        eligible = music_clips if needs_music else len(clips)
        by_source = Counter(group["source"])
        rows.append(
            {
                "tag": tag,
                "clips": len(group),
                "share_all": len(group) / len(clips),
                "share_eligible": len(group) / max(eligible, 1),
                "of": "music clips" if needs_music else "all clips",
                **{f"by_{s}": by_source.get(s, 0) for s in ("auto", "human", "expert")},
            }
        )
    return pd.DataFrame(rows).sort_values("tag").reset_index(drop=True)
