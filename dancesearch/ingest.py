"""Ingest: input files -> sequences -> clips + features in a library, one item at a time.

Plain functions that the Prefect flow (flows/ingest.py) wires together: `plan` finds the items
under a path, `process_item` turns one item into arrays on disk and catalogue rows, `commit`
merges the rows of a run into the library's tables. A bad item becomes a skipped result with
its reason; it never stops the others and never touches their data.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dancesearch import __version__
from dancesearch.clips import ClipConfig, segment
from dancesearch.errors import DancesearchError, SourceError
from dancesearch.features.motion import MotionConfig, motion_features
from dancesearch.features.music import MusicConfig, load_audio, music_features, tempo_and_beats
from dancesearch.skeleton import FPS, Sequence
from dancesearch.sources import detect, reader
from dancesearch.storage.library import Library


@dataclass(frozen=True)
class IngestConfig:
    """Everything that decides what ingest writes; its key() names the feature store."""

    clips: ClipConfig = field(default_factory=ClipConfig)
    music: MusicConfig = field(default_factory=MusicConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)

    def feature_key(self) -> str:
        text = f"{self.music.key()}-{self.motion.key()}"
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def key(self) -> str:
        """Changes when the features, the windows or the readers' code version change."""
        text = f"{self.feature_key()}-{self.clips.key()}-{__version__}"
        return hashlib.sha1(text.encode()).hexdigest()[:12]


@dataclass
class ItemResult:
    """What one input item gave: rows for the catalogue, or why it was skipped."""

    item: str
    fmt: str
    input_hash: str
    status: str  # "ok" or "skipped"
    reason: str | None = None
    sequences: list[dict[str, Any]] = field(default_factory=list)
    clips: list[dict[str, Any]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass
class Summary:
    """Closing summary of an ingest run."""

    items: int = 0
    unchanged: int = 0
    sequences: int = 0
    clips: int = 0
    minutes: float = 0.0  # minutes of motion in the new clips
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item, reason)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (folder, reason)
    dropped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0  # wall time

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dropped"] = dict(self.dropped)
        return d


def plan(path: Path, fmt: str = "auto") -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """The (item, format) pairs under path, and the (folder, reason) pairs nothing could read.

    With fmt "auto", a folder that no specific layout claims is searched one level down, so a
    folder of datasets (one subfolder per source) is ingested in one call, each subfolder with
    its own reader; a plain folder of BVH files falls to the generic BVH reader.
    """
    if not path.exists():
        raise SourceError(path, "does not exist")
    if fmt != "auto":
        return [(item, fmt) for item in reader(fmt).discover(path)], []
    try:
        found = detect(path, generic=False)
        return [(item, found) for item in reader(found).discover(path)], []
    except SourceError:
        pass
    children = sorted(c for c in path.iterdir() if c.is_dir()) if path.is_dir() else []
    items: list[tuple[Path, str]] = []
    skipped: list[tuple[str, str]] = []
    for child in children:
        try:
            child_fmt = detect(child)
            items += [(item, child_fmt) for item in reader(child_fmt).discover(child)]
        except SourceError as e:
            skipped.append((str(child), e.problem))
    if items:
        return items, skipped
    found = detect(path)  # raises the clear "empty" / "unknown format" error
    return [(item, found) for item in reader(found).discover(path)], []


def item_files(item: Path, fmt: str) -> list[Path]:
    """The files whose content decides an item's result.

    A reader that consults files beside the item (songs, label tables, splits) lists them
    with its own `item_files`; otherwise the item is a file or a folder of files.
    """
    own = getattr(reader(fmt), "item_files", None)
    if own is not None:
        return list(own(item))
    if item.is_dir():
        return sorted(p for p in item.rglob("*") if p.is_file())
    return [item]


def input_hash(item: Path, fmt: str) -> str:
    """Content hash of an item's files (their names and bytes)."""
    h = hashlib.sha1(f"{fmt}:{item.name}".encode())
    for f in item_files(item, fmt):
        h.update(f.name.encode())
        try:
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except OSError as e:
            h.update(f"unreadable: {e}".encode())
    return h.hexdigest()[:16]


def _clip_bpm(beats: np.ndarray, start_s: float, end_s: float, fallback: float) -> float:
    inside = beats[(beats >= start_s) & (beats < end_s)]
    if len(inside) < 3:
        return fallback
    return float(60.0 / np.median(np.diff(inside)))


def _sequence_row(seq: Sequence, item: Path, fmt: str) -> dict[str, Any]:
    return {
        "seq_id": seq.seq_id,
        "source": seq.source,
        "format": fmt,
        "item": str(item),
        "path": str(seq.path),
        "n_frames": seq.n_frames,
        "duration_s": seq.duration,
        "has_music": seq.has_music,
        "music_path": str(seq.music_path) if seq.music_path else None,
        "music_offset_s": seq.music_offset if seq.has_music else None,
        "genre": seq.genre,
        "performer": seq.performer,
        "group": seq.group,
        "labels": json.dumps(seq.labels, sort_keys=True),
        "descriptions": json.dumps(seq.descriptions),
        "joint_quality": json.dumps(list(seq.joint_quality)),
        "licence": seq.licence,
        "credit": seq.credit,
    }


def process_sequence(
    seq: Sequence, library: Library, config: IngestConfig
) -> tuple[list[dict[str, Any]], Counter[str], dict[str, Any]]:
    """Segment one sequence, compute its features and store its arrays; returns clip rows."""
    clips, dropped = segment(seq, config.clips)
    motion = motion_features(seq.joints, FPS, config.motion)
    arrays: dict[str, np.ndarray] = {"motion": motion}
    seq_extra: dict[str, Any] = {"bpm": None}
    bpm = float("nan")
    beats = np.zeros(0)
    if seq.music_path is not None:
        y = load_audio(seq.music_path, seq.music_offset, seq.duration, config.music)
        arrays["music"] = music_features(y, config.music, seq.n_frames)
        bpm, beats = tempo_and_beats(y, config.music)
        arrays["beats"] = beats.astype(np.float32)
        seq_extra["bpm"] = bpm
    library.save_motion(seq.seq_id, seq.joints)
    library.save_features(seq.seq_id, config.feature_key(), **arrays)
    rows = []
    for clip in clips:
        row = clip.record()
        row["bpm"] = (
            _clip_bpm(beats, clip.start_s, clip.start_s + clip.duration_s, bpm)
            if clip.has_music
            else None
        )
        rows.append(row)
    return rows, dropped, seq_extra


def process_item(
    item: Path, fmt: str, library_root: Path, config: IngestConfig, item_hash: str
) -> ItemResult:
    """Read one item and store its sequences; any user-fixable problem skips it, with reason.

    item_hash: the item's `input_hash`, computed once by the caller when it planned the run.
    """
    library = Library(library_root)
    result = ItemResult(item=str(item), fmt=fmt, input_hash=item_hash, status="ok")
    try:
        sequences = reader(fmt).read(item)
        if not sequences:
            raise SourceError(item, "holds no motion")
        dropped: Counter[str] = Counter()
        for seq in sequences:
            rows, seq_dropped, extra = process_sequence(seq, library, config)
            result.sequences.append({**_sequence_row(seq, item, fmt), **extra})
            result.clips += rows
            dropped += seq_dropped
        result.dropped = dict(dropped)
    except DancesearchError as e:
        return ItemResult(
            item=str(item), fmt=fmt, input_hash=result.input_hash, status="skipped", reason=str(e)
        )
    return result


def unchanged_items(library: Library, hashes: dict[str, str], config: IngestConfig) -> set[str]:
    """Items whose stored result came from the same bytes and the same configuration."""
    items = library.table("items")
    if items.empty:
        return set()
    same = items[(items["status"] == "ok") & (items["config_key"] == config.key())]
    stored = dict(zip(same["item"], same["input_hash"], strict=True))
    seqs = library.table("sequences")
    seq_ids = seqs.groupby("item")["seq_id"].apply(list).to_dict() if len(seqs) else {}
    return {
        item
        for item, h in hashes.items()
        if stored.get(item) == h and library.has_arrays(seq_ids.get(item, []), config.feature_key())
    }


def _replace(
    old: pd.DataFrame, new_rows: list[dict[str, Any]], keys: dict[str, set[str]]
) -> pd.DataFrame:
    """old minus the rows whose key columns hold any of the given values, plus new_rows."""
    keep = old
    for column, values in keys.items():
        if len(keep) and column in keep:
            keep = keep[~keep[column].isin(values)]
    new = pd.DataFrame(new_rows)
    if keep.empty:
        return new
    return pd.concat([keep, new], ignore_index=True) if len(new) else keep.reset_index(drop=True)


def commit(library: Library, results: list[ItemResult], config: IngestConfig) -> None:
    """Merge a run's results into the library tables; skipped items keep their old rows."""
    ok = [r for r in results if r.status == "ok"]
    ok_items = {r.item for r in ok}
    seq_rows = [s for r in ok for s in r.sequences]
    clip_rows = [c for r in ok for c in r.clips]
    new_seq_ids = {str(s["seq_id"]) for s in seq_rows}
    sequences = _replace(
        library.table("sequences"), seq_rows, {"item": ok_items, "seq_id": new_seq_ids}
    )
    clips = _replace(library.clips(), clip_rows, {"seq_id": new_seq_ids})
    if len(clips) and len(sequences):
        # clips of sequences that an item no longer yields go with them
        clips = clips[clips["seq_id"].isin(set(sequences["seq_id"]))].reset_index(drop=True)
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    item_rows = [
        {
            "item": r.item,
            "format": r.fmt,
            "input_hash": r.input_hash,
            "config_key": config.key(),
            "status": r.status,
            "reason": r.reason,
            "ingested_at": now,
        }
        for r in results
    ]
    # a skipped item that was ingested fine before stays listed as it was
    skipped_before = {r.item for r in results if r.status == "skipped"}
    old_items = library.table("items")
    if len(old_items):
        good_before = set(old_items[old_items["status"] == "ok"]["item"]) & skipped_before
        item_rows = [r for r in item_rows if r["item"] not in good_before]
    items = _replace(old_items, item_rows, {"item": {str(r["item"]) for r in item_rows}})
    library.write_table("sequences", sequences)
    library.write_table("clips", clips)
    library.write_table("items", items)


def summarise(
    results: list[ItemResult], unchanged: int, skipped_roots: list[tuple[str, str]]
) -> Summary:
    s = Summary(items=len(results) + unchanged, unchanged=unchanged)
    for r in results:
        if r.status == "ok":
            s.sequences += len(r.sequences)
            s.clips += len(r.clips)
            s.minutes += sum(c["duration_s"] for c in r.clips) / 60
            s.dropped.update(r.dropped)
        else:
            s.skipped.append((r.item, r.reason or ""))
    s.unreadable = list(skipped_roots)
    return s
