"""Annotate a library: descriptors -> split -> calibration -> tags (auto, labels, experts) ->
captions.

Plain functions the `annotate` flow wires together; `annotate_library` runs them all. Results
are stored beside the clips (see `storage.library`), stamped with the taxonomy version. The
tagger's thresholds are fitted on the train split's clips only, so no held-out clip sets its
own thresholds, and are reused by later runs until the taxonomy changes or a refit is asked for.
A run annotates only the clips that are new or changed (dancesearch.annotate.plan); the others
keep their stored rows, unless something that decides the annotations changed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dancesearch.annotate import captions as cap
from dancesearch.annotate import choreo, expert, splits, tagger
from dancesearch.annotate.config import AnnotateConfig, AnnotateReport
from dancesearch.annotate.descriptors import MOTION_DESCRIPTORS, MUSIC_DESCRIPTORS, clip_descriptors
from dancesearch.annotate.labels import label_captions
from dancesearch.annotate.plan import AnnotatePlan, annotation_record, plan_annotation, taxonomy_of
from dancesearch.annotate.plan import annotations_current as annotations_current  # its callers'
from dancesearch.annotate.plan import catalogue_fingerprint as catalogue_fingerprint
from dancesearch.annotate.taxonomy import Tagset, Taxonomy, load_taxonomy
from dancesearch.skeleton import FPS
from dancesearch.storage import schema
from dancesearch.storage.library import Library


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


def _only(clips: pd.DataFrame, clip_ids: Collection[str] | None) -> pd.DataFrame:
    return clips if clip_ids is None else clips[clips["clip_id"].astype(str).isin(set(clip_ids))]


def descriptor_batches(
    library: Library, clip_ids: Collection[str] | None = None
) -> list[tuple[str, str]]:
    """(source, feature key) of each batch the annotate flow measures descriptors in: one per
    source of the clips (clip_ids: those of an incremental run; None: all), sorted; none for a
    library without such clips (whose feature key is not asked for: a library never ingested
    has none)."""
    clips = _only(library.clips(), clip_ids)
    if clips.empty:
        return []
    feature_key = library.feature_key()
    return [(source, feature_key) for source in sorted(clips["source"].unique())]


def source_descriptors(
    library: Library, source: str, feature_key: str, clip_ids: Collection[str] | None = None
) -> pd.DataFrame:
    """library_descriptors of the clips of one source (one batch); clip_ids: only those."""
    clips = _only(library.clips(), clip_ids)
    return library_descriptors(library, clips[clips["source"] == source], feature_key)


def join_descriptors(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The batches' descriptors as one table (empty when there were none)."""
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def train_clip_ids(clips: pd.DataFrame, split: pd.DataFrame) -> set[str]:
    """The clips of the sequences `split` (splits.make_splits) puts in train."""
    train = set(split.loc[split["split"] == "train", "seq_id"].astype(str))
    return set(clips.loc[clips["seq_id"].astype(str).isin(train), "clip_id"].astype(str))


def _reused(fit: Mapping[str, Any]) -> str:
    return f"reused (fitted on {fit.get('clips')} train clips by an earlier run)"


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
    why = "recalibrate asked for" if refit else tagger.refit_reason(stored, taxonomy)
    if why is None:
        fit = stored.get("calibration_fit") or {}
        return tagger.Calibration.from_dict(stored["calibration"]), dict(fit), _reused(fit)
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
    genres: tuple[str, ...] | None = None,
) -> tuple[pd.DataFrame, int, list[str]]:
    """Template captions (validated), human descriptions, label captions, optional rewrites.

    Each clip's captions depend on the seed and its own tags only; a rewrite is checked against
    `genres` (default: those of `clips`; an incremental run passes the whole library's)."""
    rewriter = cap.load_rewriter(config.rewriter)
    rows: list[dict[str, Any]] = []
    rejected = 0
    warnings: list[str] = []
    if genres is None:
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


def library_split(
    sequences: pd.DataFrame, stored_split: pd.DataFrame, stored: Mapping[str, Any], seed: int
) -> pd.DataFrame:
    """The split of a run: made afresh (splits.make_splits) when none is stored or the seed
    changed; otherwise the stored one, extended to new sequences (splits.extend_splits), even
    in a full run (a refit or a new taxonomy): no sequence a model was trained or tested on
    changes sides."""
    if stored_split.empty or stored.get("seed") != seed:
        return splits.make_splits(sequences, seed=seed)
    return splits.extend_splits(sequences, stored_split, seed=seed)


def _merged(old: pd.DataFrame, new: pd.DataFrame, kept: Collection[str]) -> pd.DataFrame:
    """The stored rows of the kept clips, as they were, then the new rows."""
    if not kept or old.empty:
        return new
    keep = old[old["clip_id"].astype(str).isin(set(kept))]
    return pd.concat([keep, new], ignore_index=True) if len(new) else keep.reset_index(drop=True)


def annotate_library(
    library: Library,
    config: AnnotateConfig | None = None,
    descriptors: pd.DataFrame | None = None,
    plan: AnnotatePlan | None = None,
) -> AnnotateReport:
    """Annotate the clips of a library the plan names and store tags, captions, units and the
    split.

    plan: `plan_annotation` (computed here when None): a full run annotates every clip;
    otherwise only new or changed clips are measured, tagged and captioned, with the stored
    calibration, and every other clip keeps its stored rows exactly. Either way the stored
    split is kept and extended to new sequences unless the seed changed (`library_split`).
    descriptors: the planned clips' measured descriptors when already computed (the flow
    computes them in parallel batches); computed here otherwise.
    """
    started = time.perf_counter()
    config = config or AnnotateConfig()
    taxonomy = taxonomy_of(config)
    clips = library.clips()
    report = AnnotateReport()
    if clips.empty:
        report.warnings.append(f"{library.root}: no clips to annotate; run ingest first")
        return report
    # load expert files first: a bad file fails before any work is done
    expert_rows = [row for f in config.expert_files for row in expert.load_expert(f, taxonomy)]
    plan = plan or plan_annotation(library, config, taxonomy)
    report.run, report.kept = plan.why, len(plan.kept)
    if plan.nothing:
        report.calibration = _reused(library.read_json("annotation").get("calibration_fit", {}))
        report.seconds = time.perf_counter() - started
        return report
    todo = clips[clips["clip_id"].astype(str).isin(set(plan.todo))]
    if descriptors is None:
        descriptors = library_descriptors(library, todo, library.feature_key())
    descriptors = descriptors[descriptors["clip_id"].astype(str).isin(set(plan.todo))]
    sequences = library.table("sequences")
    stored = library.read_json("annotation")
    # first: the calibration is fitted on the train split's clips
    split = library_split(sequences, library.table("splits"), stored, config.seed)
    report.split_problems = splits.check_splits(sequences, split)
    calibration, fit, report.calibration = calibrate(
        descriptors, train_clip_ids(clips, split), taxonomy, stored=stored, refit=config.recalibrate
    )
    if fit["on"] == "all":
        report.warnings.append(
            f"no clip is in the train split: the tagger's thresholds were fitted on all "
            f"{fit['clips']} clips, held-out ones included; the next annotate refits them"
        )
    tagsets = tag_clips(todo, descriptors, taxonomy, calibration)
    if expert_rows:
        clip_seq = dict(zip(clips["clip_id"], clips["seq_id"], strict=True))
        report.expert_changes, warnings = expert.apply_expert(
            tagsets, expert_rows, clip_seq, taxonomy, only=None if plan.full else set(tagsets)
        )
        report.warnings += warnings
    genres = tuple(str(g) for g in clips["genre"].dropna().unique())
    captions, report.rejected_rewrites, warnings = caption_clips(
        todo, tagsets, taxonomy, config, genres
    )
    report.warnings += warnings
    tables = {
        "descriptors": descriptors.reset_index(drop=True),
        "tags": tags_table(tagsets, taxonomy),
        "captions": captions,
        "choreography": choreography_table(library, todo, config.choreography),
    }
    tables = {name: _merged(library.table(name), new, plan.kept) for name, new in tables.items()}
    with library.lock():
        for name, frame in tables.items():
            library.write_table(name, frame)
        library.write_table("splits", split)
        library.write_json(
            "annotation",
            {
                **annotation_record(library, config, taxonomy, clips),
                "calibration": calibration.to_dict(),
                "calibration_fit": fit,
                "expert_files": [str(f) for f in config.expert_files],
                "rewriter": config.rewriter,
                "annotated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            },
        )
    report.clips = len(plan.todo)
    report.tags, report.captions = len(tables["tags"]), len(tables["captions"])
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
