"""Ingest: input files -> sequences -> clips + features in a library, one item at a time.

Plain functions that the Prefect flow (flows/ingest.py) wires together: `plan` finds the items
under a path, `process_item` turns one item into arrays on disk and catalogue rows, `commit`
merges the rows of a run into the library's tables and records the configuration in
library.json, so later runs (`refresh`, `annotate`) rebuild from it. A bad item becomes a
skipped result with its reason; it never stops the others and never touches their data.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dancesearch import __version__
from dancesearch.clips import Clip, ClipConfig, segment
from dancesearch.errors import ConfigError, DancesearchError, SourceError
from dancesearch.features.motion import MotionConfig, motion_features
from dancesearch.features.music import (
    MUSIC_FEATURE_NAMES,
    MusicConfig,
    load_audio,
    music_features,
    tempo_and_beats,
)
from dancesearch.features.tempo import clip_tempo
from dancesearch.items import hash_items, item_files, recorded_stats
from dancesearch.items import input_hash as input_hash  # where ingest's callers look for it
from dancesearch.skeleton import FPS, Sequence
from dancesearch.sources import detect, reader
from dancesearch.storage import schema
from dancesearch.storage.library import Library, is_library


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

    def record(self) -> dict[str, Any]:
        """What library.json keeps: every field, and the feature store's key."""
        return {**asdict(self), "feature_key": self.feature_key()}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> IngestConfig:
        """The configuration a record describes; fields this version no longer has are
        ignored (the feature key then differs, and ingest re-cuts the library)."""

        def build(kind: Any, values: dict[str, Any]) -> Any:
            return kind(**{f.name: values[f.name] for f in fields(kind) if f.name in values})

        return cls(
            clips=build(ClipConfig, data.get("clips", {})),
            music=build(MusicConfig, data.get("music", {})),
            motion=build(MotionConfig, data.get("motion", {})),
        )


def recorded_config(library: Library) -> IngestConfig:
    """The configuration the library was ingested with; the defaults before its first ingest."""
    data = library.recorded("ingest")
    return IngestConfig.from_record(data) if data else IngestConfig()


def configure(
    library_root: Path,
    window_s: float | None = None,
    stride_s: float | None = None,
    min_s: float | None = None,
) -> IngestConfig:
    """The library's recorded configuration (defaults for a new library), with the clip
    values that are given replacing the recorded ones. A window given without a stride
    strides by the window (back-to-back clips, as the defaults are), never leaving gaps."""
    fresh = not is_library(library_root)
    recorded = IngestConfig() if fresh else recorded_config(Library(library_root))
    clips = recorded.clips
    if stride_s is None and window_s is not None:
        stride_s = window_s
    return IngestConfig(
        clips=ClipConfig(
            window_s=clips.window_s if window_s is None else window_s,
            stride_s=clips.stride_s if stride_s is None else stride_s,
            min_s=clips.min_s if min_s is None else min_s,
        ),
        music=recorded.music,
        motion=recorded.motion,
    )


def cut_change(library: Library, config: IngestConfig) -> str:
    """How config would change the way the library's clips are cut and measured, e.g.
    "window 12 s -> 6 s"; "" when it would not, or when nothing is recorded yet."""
    data = library.recorded("ingest")
    if not data:
        return ""
    old, new = IngestConfig.from_record(data).clips, config.clips
    changes = [
        f"{name} {getattr(old, f):g} s -> {getattr(new, f):g} s"
        for name, f in (("window", "window_s"), ("stride", "stride_s"), ("min clip", "min_s"))
        if getattr(old, f) != getattr(new, f)
    ]
    if data.get("feature_key") != config.feature_key():
        changes.append(f"features {data.get('feature_key')} -> {config.feature_key()}")
    return ", ".join(changes)


def recut_items(
    library: Library, config: IngestConfig, planned: list[tuple[Path, str]]
) -> list[tuple[Path, str]]:
    """The library's items outside this run that config must re-cut too.

    All clips of a library are cut and measured one way: when config changes that, every item
    the library holds is re-ingested with it, not only those under the path given. Raises a
    ConfigError, before any work, when some of those items are no longer there.
    """
    change = cut_change(library, config)
    items = library.table("items")
    if not change or items.empty:
        return []
    planned_items = {str(item) for item, _ in planned}
    ok = items[(items["status"] == "ok") & ~items["item"].isin(planned_items)]
    others = [(Path(item), str(fmt)) for item, fmt in zip(ok["item"], ok["format"], strict=True)]
    gone = [str(item) for item, fmt in others if not _present(item, fmt)]
    if gone:
        raise ConfigError(
            f"{library.root}: re-cutting the library ({change}) re-ingests all its items, but "
            f"{len(gone)} of them are gone (first: {gone[0]}); restore them, ingest into a new "
            "--library, or leave out --window/--stride/--min-clip to keep the recorded values"
        )
    return others


def _present(item: Path, fmt: str) -> bool:
    files = item_files(item, fmt)
    return bool(files) and files[0].exists()


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
    waiting: list[str] = field(default_factory=list)  # items still being written: next run
    recut: str = ""  # how this run changed the library's cut ("window 12 s -> 6 s"), if it did
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


def settled(
    items: list[tuple[Path, str]], min_age_s: float, now: float | None = None
) -> tuple[list[tuple[Path, str]], list[str]]:
    """The items none of whose files changed in the last min_age_s seconds, and the others
    (still being written or copied: left for a later run)."""
    now = time.time() if now is None else now
    ready: list[tuple[Path, str]] = []
    waiting: list[str] = []
    for item, fmt in items:
        try:
            newest = max((f.stat().st_mtime for f in item_files(item, fmt)), default=0.0)
        except OSError:  # a file vanished while we looked: it is being moved
            newest = now
        if now - newest < min_age_s:
            waiting.append(str(item))
        else:
            ready.append((item, fmt))
    return ready, waiting


_ENVELOPE = MUSIC_FEATURE_NAMES.index("onset_envelope")


def _clip_bpm(envelope: np.ndarray, beats: np.ndarray, clip: Clip, fallback: float) -> float:
    """The clip's tempo by `clip_tempo` over its own frames of the sequence's onset envelope
    (T,) and beat times (B,), seconds; the song's tempo `fallback` when the clip has too few
    beats, NaN when that is 0 too."""
    frames = slice(clip.start_frame, clip.start_frame + clip.n_frames)
    bpm = clip_tempo(envelope[frames], beats - clip.start_s, FPS)
    if np.isfinite(bpm):
        return bpm
    return fallback if fallback > 0 else float("nan")


def process_sequence(
    seq: Sequence, library: Library, config: IngestConfig
) -> tuple[list[dict[str, Any]], Counter[str], float | None]:
    """Segment one sequence, compute its features and store its arrays.

    Returns the clip rows, the dropped windows by reason, and the song's tempo (None when
    silent)."""
    clips, dropped = segment(seq, config.clips)
    motion = motion_features(seq.joints, FPS, config.motion)
    arrays: dict[str, np.ndarray] = {"motion": motion}
    seq_bpm: float | None = None
    bpm = float("nan")
    beats = np.zeros(0)
    if seq.music_path is not None:
        y = load_audio(seq.music_path, seq.music_offset, seq.duration, config.music)
        arrays["music"] = music_features(y, config.music, seq.n_frames)
        bpm, beats = tempo_and_beats(y, config.music)
        arrays["beats"] = beats.astype(np.float32)
        seq_bpm = bpm
    library.save_motion(seq.seq_id, seq.joints)
    library.save_features(seq.seq_id, config.feature_key(), **arrays)
    rows = [
        schema.clip_row(
            clip,
            bpm=_clip_bpm(arrays["music"][:, _ENVELOPE], beats, clip, bpm)
            if clip.has_music
            else None,
        )
        for clip in clips
    ]
    return rows, dropped, seq_bpm


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
            rows, seq_dropped, bpm = process_sequence(seq, library, config)
            result.sequences.append(schema.sequence_row(seq, item, fmt, bpm))
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


@dataclass
class Scan:
    """The items found under a path, hashed: what a run may ingest, before it takes the lock."""

    items: list[tuple[Path, str]]  # (item, format) pairs ready to ingest
    hashes: dict[str, str]  # item -> input_hash
    unreadable: list[tuple[str, str]]  # (folder, reason) that nothing could read
    waiting: list[str]  # items with a file changed in the last min_age_s seconds
    stats: dict[str, str | None] = field(default_factory=dict)  # item -> file_stats


def scan(
    path: Path, fmt: str = "auto", min_age_s: float = 0.0, library: Library | None = None
) -> Scan:
    """Plan the items under path (see `plan`), leave those still being written for a later
    run (min_age_s > 0, see `settled`), and hash the others -- except those whose files
    `library` recorded with the same size and mtime (see `hash_items`)."""
    items, unreadable = plan(path, fmt)
    waiting: list[str] = []
    if min_age_s > 0:
        items, waiting = settled(items, min_age_s)
    hashes, stats = hash_items(items, recorded_stats(library) if library is not None else {})
    return Scan(items, hashes, unreadable, waiting, stats)


@dataclass
class Run:
    """What an ingest run does, decided under the library's lock."""

    config: IngestConfig
    todo: list[tuple[str, str]]  # (item, format) pairs to process
    hashes: dict[str, str]  # item -> input_hash, of every item of the run
    unchanged: int  # items already committed from the same bytes and configuration
    recut: str  # how the run changes the library's cut (`cut_change`), "" when it does not
    unreadable: list[tuple[str, str]]
    waiting: list[str]
    stats: dict[str, str | None] = field(default_factory=dict)  # item -> file_stats


def plan_run(library: Library, found: Scan, config: IngestConfig | None = None) -> Run:
    """The items of `found` to process (call under the library's lock): with config None the
    library's recorded configuration; a configuration that re-cuts the library adds every
    item it holds (`recut_items`); items committed unchanged are left out."""
    config = config or recorded_config(library)
    recut = cut_change(library, config)
    others = recut_items(library, config, found.items)
    other_hashes, other_stats = hash_items(others, recorded_stats(library))
    hashes = found.hashes | other_hashes
    unchanged = unchanged_items(library, hashes, config)
    todo = [(str(item), f) for item, f in [*found.items, *others] if str(item) not in unchanged]
    stats = found.stats | other_stats
    return Run(config, todo, hashes, len(unchanged), recut, found.unreadable, found.waiting, stats)


def arrays_gone(library: Library, result: ItemResult, config: IngestConfig) -> bool:
    """Whether a result (cached by the task runner from an earlier run) names arrays that are
    no longer in the library: it must then be computed again."""
    seq_ids = [s["seq_id"] for s in result.sequences]
    return result.status == "ok" and not library.has_arrays(seq_ids, config.feature_key())


def internal_error(item: str, fmt: str, item_hash: str, error: Exception) -> ItemResult:
    """The result of an item whose processing crashed (a bug, not a bad file): skipped, with
    the error as its reason, so the other items of the run are still committed."""
    return ItemResult(item, fmt, item_hash, "skipped", f"internal error: {error!r}")


def commit_run(library: Library, run: Run, results: list[ItemResult]) -> Summary:
    """Commit the run's results (call under the library's lock); its summary."""
    commit(library, results, run.config, run.hashes, run.stats)
    summary = summarise(results, run.unchanged, run.unreadable)
    summary.recut = run.recut
    summary.waiting = run.waiting
    return summary


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


def _with_stats(
    items: pd.DataFrame, hashes: dict[str, str], stats: dict[str, str | None]
) -> pd.DataFrame:
    """items with the file_stats of this run's scan recorded on each row that holds the hash
    of the files as scanned (new rows, and unchanged items whose files were touched); a row
    kept from before with another hash (a good item turned bad) keeps its old stats, so the
    changed files are hashed again next time."""
    if items.empty:
        return items
    fresh = items["input_hash"] == items["item"].map(hashes)
    old = items["file_stats"] if "file_stats" in items else pd.Series(None, index=items.index)
    scanned = items["item"].map(lambda item: stats.get(item))
    return items.assign(file_stats=scanned.where(fresh, old).astype(object))


def commit(
    library: Library,
    results: list[ItemResult],
    config: IngestConfig,
    hashes: dict[str, str] | None = None,
    stats: dict[str, str | None] | None = None,
) -> None:
    """Merge a run's results into the library tables and record config in library.json.

    A skipped item keeps its old rows, unless this run re-cuts the library (see
    `recut_items`): then its old clips, cut the other way, go. hashes, stats: every item of
    the run's input_hash and file_stats (see `_with_stats`).
    """
    recut = bool(cut_change(library, config))
    ok = [r for r in results if r.status == "ok"]
    ok_items = {r.item for r in ok}
    seq_rows = [s for r in ok for s in r.sequences]
    clip_rows = [c for r in ok for c in r.clips]
    new_seq_ids = {str(s["seq_id"]) for s in seq_rows}
    # a skipped item that was ingested fine before stays listed as it was, unless re-cut
    skipped_before = {r.item for r in results if r.status == "skipped"}
    replaced = ok_items | skipped_before if recut else ok_items
    sequences = _replace(
        library.table("sequences"), seq_rows, {"item": replaced, "seq_id": new_seq_ids}
    )
    clips = _replace(library.clips(), clip_rows, {"seq_id": new_seq_ids})
    if len(clips) and len(sequences):
        # clips of sequences that an item no longer yields go with them
        clips = clips[clips["seq_id"].isin(set(sequences["seq_id"]))].reset_index(drop=True)
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    item_rows = [
        schema.item_row(r.item, r.fmt, r.input_hash, config.key(), r.status, r.reason, now)
        for r in results
    ]
    old_items = library.table("items")
    if len(old_items) and not recut:
        good_before = set(old_items[old_items["status"] == "ok"]["item"]) & skipped_before
        item_rows = [r for r in item_rows if r["item"] not in good_before]
    items = _replace(old_items, item_rows, {"item": {str(r["item"]) for r in item_rows}})
    items = _with_stats(items, hashes or {}, stats or {})
    library.write_table("sequences", sequences)
    library.write_table("clips", clips)
    library.write_table("items", items)
    library.record("ingest", config.record())


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
