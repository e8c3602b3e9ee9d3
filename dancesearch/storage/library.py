"""The clip library on disk: catalogue tables (Parquet) and per-sequence arrays.

Layout of a library folder:
    library.json                 identity (uid), format version, and how the library was built:
                                 "ingest" and "annotate" configurations, which later runs reuse
    items.parquet                one row per ingested input item: hash, its files' sizes and
                                 mtimes (file_stats), status, reason
    sequences.parquet            one row per sequence: labels, provenance, music sync
    clips.parquet                one row per clip (the catalogue)
    annotations/*.parquet        descriptors, tags, captions, splits, choreography units
    annotations/annotation.json  taxonomy version, seed, tagger calibration of the last run
    motion/<key>.npy             (T, 22, 3) float32 joints at 30 FPS, metres, Y up
    features/<config key>/<key>.npz   motion (T, D) and, with music, music (T, 35), beats (s)
Every file is written to a temporary name and renamed, so an interrupted run never leaves a
half-written table or array; a lock file keeps two writers out.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dancesearch.errors import LibraryError, LibraryLocked

if TYPE_CHECKING:  # pandas loads in 0.5 s: only the table readers import it
    import pandas as pd

VERSION = 1
TABLES = ("items", "sequences", "clips")  # ingest
ANNOTATIONS = ("descriptors", "tags", "captions", "splits", "choreography")  # annotate


def array_key(seq_id: str) -> str:
    """File-system-safe, collision-free name for a sequence's arrays."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", seq_id)[:80]
    return f"{safe}-{hashlib.sha1(seq_id.encode()).hexdigest()[:8]}"


LOCK_WAIT_S = 60.0  # how long a second writer waits for the first before failing
_HELD: dict[Path, int] = {}  # libraries this process holds the lock of, and how deeply


def lock_wait_s() -> float:
    """Seconds a writer waits for a library's lock: $DANCESEARCH_LOCK_WAIT_S or LOCK_WAIT_S."""
    text = os.environ.get("DANCESEARCH_LOCK_WAIT_S")
    try:
        return LOCK_WAIT_S if text is None else max(0.0, float(text))
    except ValueError:
        raise LibraryError(f"DANCESEARCH_LOCK_WAIT_S={text!r} is not a number of seconds") from None


def _holder(fh: Any) -> str:
    """' (pid N)' of the process holding a lock file, or '' when it is not written yet."""
    fh.seek(0)
    text = fh.read().strip()
    return f" (pid {text})" if text.isdigit() else ""


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def is_library(root: str | Path) -> bool:
    """True when root is a library folder (it has a library.json)."""
    return (Path(root) / "library.json").is_file()


class Library:
    """A clip library folder. Creating one on an empty or missing folder initialises it."""

    def __init__(self, root: str | Path, create: bool = False) -> None:
        self.root = Path(root)
        meta = self.root / "library.json"
        if not meta.exists():
            if not create:
                raise LibraryError(
                    f"{self.root}: not a dancesearch library (no library.json); "
                    "run `dancesearch ingest PATH --library DIR` first"
                )
            if self.root.exists() and any(self.root.iterdir()):
                raise LibraryError(
                    f"{self.root}: folder is not empty and is not a dancesearch library"
                )
            info = {"uid": uuid.uuid4().hex, "version": VERSION}
            _atomic_write(meta, lambda p: p.write_text(json.dumps(info)))
        self.info = self._read_info()
        if self.info.get("version") != VERSION:
            raise LibraryError(f"{meta}: library format {self.info.get('version')}, need {VERSION}")

    def _read_info(self) -> dict[str, Any]:
        meta = self.root / "library.json"
        try:
            return dict(json.loads(meta.read_text()))
        except json.JSONDecodeError as e:
            raise LibraryError(f"{meta}: corrupt ({e})") from None

    @property
    def uid(self) -> str:
        return str(self.info["uid"])

    def recorded(self, section: str) -> dict[str, Any]:
        """How the library was built, as library.json records it under section ("ingest",
        "annotate"); {} when nothing is recorded yet. Read afresh: another writer may have
        recorded since this object was made."""
        return dict(self._read_info().get(section) or {})

    def feature_key(self) -> str:
        """The feature store holding the library's arrays (features/<key>/), as ingest recorded
        it in library.json. Raises LibraryError before the first ingest has recorded one."""
        key = self.recorded("ingest").get("feature_key")
        if not key:
            raise LibraryError(
                f"{self.root}: not ingested yet (library.json records no feature store); "
                f"run `dancesearch ingest PATH --library {self.root}` first"
            )
        return str(key)

    def record(self, section: str, data: dict[str, Any]) -> None:
        """Record data under section of library.json (atomically; call under the lock)."""
        info = {**self._read_info(), section: data}
        text = json.dumps(info, indent=2, sort_keys=True)
        _atomic_write(self.root / "library.json", lambda p: p.write_text(text))
        self.info = info

    @contextmanager
    def lock(self, wait_s: float | None = None) -> Iterator[None]:
        """Exclusive write lock, re-entrant within a process.

        A second writer waits up to wait_s seconds (default: $DANCESEARCH_LOCK_WAIT_S, else
        LOCK_WAIT_S), saying once on stderr that it is waiting and for whom, then fails with a
        LibraryError naming the library and the holder's process id.
        """
        key = self.root.resolve()
        if _HELD.get(key, 0) > 0:  # this process already holds it (a flow calling a library
            _HELD[key] += 1  # function that locks too)
            try:
                yield
            finally:
                _HELD[key] -= 1
            return
        wait = lock_wait_s() if wait_s is None else wait_s
        with open(self.root / ".lock", "a+") as fh:
            deadline, told = time.monotonic() + wait, False
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _holder(fh)
                    if time.monotonic() >= deadline:
                        raise LibraryLocked(
                            f"{self.root}: another process{holder} is writing to this library; "
                            f"gave up after waiting {wait:g} s"
                        ) from None
                    if not told:
                        print(
                            f"waiting for {self.root}: another process{holder} is writing to "
                            f"it (up to {wait:g} s)",
                            file=sys.stderr,
                            flush=True,
                        )
                        told = True
                    time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            _HELD[key] = 1
            try:
                yield
            finally:
                _HELD.pop(key, None)
                fh.seek(0)
                fh.truncate()
                fcntl.flock(fh, fcntl.LOCK_UN)

    # --- tables -------------------------------------------------------------------------
    def _table_path(self, name: str) -> Path:
        if name in TABLES:
            return self.root / f"{name}.parquet"
        if name in ANNOTATIONS:
            return self.root / "annotations" / f"{name}.parquet"
        raise ValueError(f"unknown library table {name!r}")

    def table(self, name: str) -> pd.DataFrame:
        import pandas as pd

        path = self._table_path(name)
        return pd.read_parquet(path) if path.exists() else pd.DataFrame()

    def write_table(self, name: str, frame: pd.DataFrame) -> None:
        _atomic_write(self._table_path(name), lambda p: frame.to_parquet(p, index=False))

    def read_json(self, name: str) -> dict[str, Any]:
        path = self.root / "annotations" / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, default=str)
        _atomic_write(self.root / "annotations" / f"{name}.json", lambda p: p.write_text(text))

    def clips(self) -> pd.DataFrame:
        return self.table("clips")

    def clip(self, clip_id: str) -> pd.Series:
        clips = self.clips()
        hit = clips[clips["clip_id"] == clip_id] if len(clips) else clips
        if hit.empty:
            raise LibraryError(
                f"{self.root}: no clip {clip_id!r} (see `dancesearch library stats`)"
            )
        return hit.iloc[0]

    # --- arrays -------------------------------------------------------------------------
    def motion_path(self, seq_id: str) -> Path:
        return self.root / "motion" / f"{array_key(seq_id)}.npy"

    def features_path(self, seq_id: str, feature_key: str) -> Path:
        return self.root / "features" / feature_key / f"{array_key(seq_id)}.npz"

    def save_motion(self, seq_id: str, joints: np.ndarray) -> None:
        def write(path: Path) -> None:
            with open(path, "wb") as fh:  # a handle: np.save would append ".npy" to a name
                np.save(fh, joints)

        _atomic_write(self.motion_path(seq_id), write)

    def load_motion(self, seq_id: str) -> np.ndarray:
        """(T, 22, 3) float32 joints of a sequence, metres, Y up, 30 FPS."""
        path = self.motion_path(seq_id)
        if not path.exists():
            raise LibraryError(f"{path}: motion of {seq_id!r} is missing; re-run ingest")
        return np.load(path)

    def save_features(self, seq_id: str, feature_key: str, **arrays: np.ndarray) -> None:
        def write(path: Path) -> None:
            with open(path, "wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]

        _atomic_write(self.features_path(seq_id, feature_key), write)

    def load_features(self, seq_id: str, feature_key: str) -> dict[str, np.ndarray]:
        path = self.features_path(seq_id, feature_key)
        if not path.exists():
            raise LibraryError(f"{path}: features of {seq_id!r} are missing; re-run ingest")
        with np.load(path) as data:
            return {k: data[k] for k in data.files}

    def has_arrays(self, seq_ids: list[str], feature_key: str) -> bool:
        return all(
            self.motion_path(s).exists() and self.features_path(s, feature_key).exists()
            for s in seq_ids
        )

    # checkpoints, as a collection records them
    def checkpoint_ref(self, path: Path) -> str:
        """A checkpoint folder as a collection records it: relative to the library when
        inside it, else absolute."""
        path = Path(path).resolve()
        try:
            return str(path.relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    def resolve_checkpoint(self, ref: str) -> Path:
        """The checkpoint folder a collection records (see checkpoint_ref), as a path."""
        path = Path(ref)
        return path if path.is_absolute() else self.root / path
