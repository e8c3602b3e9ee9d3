"""Reader for a user's own library, described row by row in a CSV or JSON manifest.

Each row names one motion file (BVH, AMASS-style SMPL npz, or (T, 22, 3) joints npy) and its
optional music, genre, performer, captions, tags, licence and credit. See `read` for the columns.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dancesearch.errors import SourceError
from dancesearch.skeleton import Quality, Sequence, to_common, z_up_to_y_up
from dancesearch.sources.smpl import (
    axis_angle_to_matrix,
    check_array,
    forward_kinematics,
    load_rest_joints,
)

log = logging.getLogger(__name__)

COLUMNS = (
    "motion", "format", "fps", "up", "units", "music", "music_offset", "genre", "performer",
    "captions", "tags", "licence", "credit", "group", "title",
)  # fmt: skip
EXTENSIONS = {".bvh": "bvh", ".npz": "smpl_npz", ".npy": "joints_npy"}
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
MANIFEST_NAMES = ("manifest.csv", "manifest.json")  # looked for when the root is a folder
SEPARATOR = "|"  # between captions or tags in a CSV cell
EXACT: tuple[Quality, ...] = ("exact",) * 22


@dataclass
class Row:
    """One validated manifest row; paths are resolved against the manifest's folder."""

    manifest: Path
    number: int  # 1-based, not counting the CSV header
    motion: Path
    format: str
    fps: float | None = None
    up: str = "y"
    units: float = 1.0
    music: Path | None = None
    music_offset: float = 0.0
    genre: str | None = None
    performer: str | None = None
    group: str | None = None
    title: str | None = None
    captions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    licence: str = ""
    credit: str = ""


def _row_error(manifest: Path, number: int, problem: str) -> SourceError:
    return SourceError(manifest, f"row {number}: {problem}")


def split_item(item: Path) -> tuple[Path, int | None]:
    """`lib.csv#3` -> (lib.csv, 3); a plain path -> (path, None)."""
    base, hash_sign, number = str(item).rpartition("#")
    if hash_sign and number.isdigit() and Path(base).is_file():
        return Path(base), int(number)
    return item, None


def _find_manifest(root: Path) -> Path:
    if root.is_file():
        return root
    for name in MANIFEST_NAMES:
        if (root / name).is_file():
            return root / name
    raise SourceError(
        root, f"no manifest: give a .csv or .json file, or put {MANIFEST_NAMES[0]} here"
    )


def load_raw(manifest: Path) -> list[dict[str, Any]]:
    """The manifest's rows as dicts with lower-case keys and empty cells dropped."""
    try:
        text = manifest.read_text(encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
    except (OSError, UnicodeDecodeError) as e:
        raise SourceError(manifest, f"cannot read manifest: {e}") from None
    if manifest.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as e:
            raise SourceError(manifest, f"not valid JSON: {e}") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise SourceError(manifest, "a JSON manifest must be a list of objects, one per motion")
    elif manifest.suffix.lower() == ".csv":
        try:
            # cells beyond the header land under restkey and are reported as an unknown column
            rows = list(csv.DictReader(text.splitlines(), restkey="(cells beyond the header)"))
        except csv.Error as e:
            raise SourceError(manifest, f"not valid CSV: {e}") from None
    else:
        raise SourceError(manifest, "a manifest must be a .csv or .json file")
    out = []
    for row in rows:
        clean = {str(k).strip().lower(): v for k, v in row.items()}
        out.append({k: v.strip() if isinstance(v, str) else v for k, v in clean.items()})
    return [{k: v for k, v in r.items() if v not in (None, "", [])} for r in out]


def _text_list(value: Any) -> list[str]:
    if isinstance(value, str):
        items = value.split(SEPARATOR)
    else:
        items = value if isinstance(value, list) else [value]
    return [str(x).strip() for x in items if str(x).strip()]


def _number(value: Any, column: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{column} {value!r} is not a number") from None
    if not np.isfinite(number):
        raise ValueError(f"{column} {value!r} is not a finite number")
    return number


def parse_row(manifest: Path, number: int, raw: dict[str, Any]) -> Row:
    """Validate one raw row; SourceError naming the manifest, the row and the problem."""
    unknown = sorted(k for k in raw if k not in COLUMNS)
    if unknown:
        problem = f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}"
        raise _row_error(manifest, number, problem)
    if "motion" not in raw:
        raise _row_error(manifest, number, "no 'motion' file given")
    folder = manifest.parent
    motion = folder / str(raw["motion"])
    row = Row(manifest=manifest, number=number, motion=motion, format="")
    try:
        row.format = str(raw.get("format") or EXTENSIONS.get(motion.suffix.lower(), "")).lower()
        if row.format not in EXTENSIONS.values():
            raise ValueError(
                f"format {row.format or motion.suffix!r} unknown; use one of bvh, smpl_npz, "
                "joints_npy (or the extensions .bvh, .npz, .npy)"
            )
        if not motion.is_file():
            raise ValueError(f"motion file {motion} does not exist")
        if "fps" in raw:
            row.fps = _number(raw["fps"], "fps")
            if row.fps <= 0:
                raise ValueError(f"fps must be positive, got {raw['fps']!r}")
        if row.format == "joints_npy" and row.fps is None:
            raise ValueError("fps is required for joints_npy rows")
        row.up = str(raw.get("up", "y")).lower()
        if row.up not in ("y", "z"):
            raise ValueError(f"up {raw['up']!r} unknown; use y or z")
        units = str(raw.get("units", "m")).lower()
        if units not in UNITS:
            raise ValueError(f"units {raw['units']!r} unknown; use m, cm or mm")
        row.units = UNITS[units]
        # BVH rigs carry their own axes and units; SMPL translations are metres by definition
        if row.format == "bvh" and ("up" in raw or "units" in raw):
            raise ValueError("up and units do not apply to BVH (its rig map decides them)")
        if row.format == "smpl_npz" and "units" in raw:
            raise ValueError("units applies to joints_npy only (SMPL translations are metres)")
        if "music" in raw:
            row.music = folder / str(raw["music"])
            if not row.music.is_file():
                raise ValueError(f"music file {row.music} does not exist")
        row.music_offset = _number(raw.get("music_offset", 0.0), "music_offset")
    except ValueError as e:
        raise _row_error(manifest, number, str(e)) from None
    for column in ("genre", "performer", "group", "title"):
        setattr(row, column, str(raw[column]) if column in raw else None)
    row.captions = _text_list(raw.get("captions", []))
    row.tags = _text_list(raw.get("tags", []))
    row.licence = str(raw.get("licence", ""))
    row.credit = str(raw.get("credit", ""))
    return row


def _joints_npy(row: Row) -> tuple[np.ndarray, float]:
    try:
        joints = np.load(row.motion, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise SourceError(row.motion, f"cannot read joints: {e}") from None
    check_array(joints, (None, 22, 3), "joints", row.motion)
    joints = joints.astype(np.float32) * row.units
    assert row.fps is not None  # parse_row requires it for joints_npy
    return (z_up_to_y_up(joints) if row.up == "z" else joints), row.fps


def _smpl_npz(row: Row, rest_joints: Path | None) -> tuple[np.ndarray, float]:
    try:
        with np.load(row.motion, allow_pickle=False) as npz:
            # only the arrays used: AMASS files may also hold pickled objects we cannot load
            wanted = ("poses", "trans", "mocap_framerate", "fps")
            arrays = {k: np.asarray(npz[k]) for k in wanted if k in npz.files}
    except (OSError, ValueError) as e:
        raise SourceError(row.motion, f"cannot read SMPL npz: {e}") from None
    for key in ("poses", "trans"):
        if key not in arrays:
            raise SourceError(row.motion, f"missing key '{key}' (AMASS-style SMPL npz)")
    poses, trans = arrays["poses"], arrays["trans"]
    if poses.ndim != 2 or poses.shape[1] < 66:
        raise SourceError(row.motion, f"'poses' has shape {poses.shape}, expected (T, >=66)")
    check_array(poses[:, :66], (None, 66), "poses", row.motion)
    check_array(trans, (len(poses), 3), "trans", row.motion)
    fps = row.fps
    for key in ("mocap_framerate", "fps"):
        if fps is None and key in arrays:
            fps = float(arrays[key].reshape(-1)[0])
    if fps is None or not fps > 0:
        raise SourceError(row.motion, "no frame rate: give fps in the manifest or mocap_framerate")
    rest = load_rest_joints([row.manifest.parent, row.manifest.parent.parent], rest_joints)
    joints = forward_kinematics(axis_angle_to_matrix(poses[:, :66].reshape(-1, 22, 3)), rest, trans)
    return (z_up_to_y_up(joints) if row.up == "z" else joints), fps


def read_row(row: Row, rest_joints: Path | None = None) -> Sequence:
    """The Sequence of one validated row, on the common body."""
    labels = {"format": row.format}
    quality = EXACT
    if row.format == "joints_npy":
        joints, fps = _joints_npy(row)
    elif row.format == "smpl_npz":
        joints, fps = _smpl_npz(row, rest_joints)
    else:
        from dancesearch.sources import bvh  # only BVH rows need the BVH parser

        joints, fps, quality, labels["rig"] = bvh.load(row.motion, fps=row.fps)
    if row.tags:
        labels["tags"] = SEPARATOR.join(row.tags)
    if row.title:
        labels["title"] = row.title
    seq = Sequence(
        seq_id=f"manifest/{row.motion.stem}",
        source="manifest",
        path=row.motion,
        joints=joints,
        fps=fps,
        joint_quality=quality,
        music_path=row.music,
        music_offset=row.music_offset,
        genre=row.genre,
        performer=row.performer,
        group=row.group,
        labels=labels,
        descriptions=row.captions,
        licence=row.licence,
        credit=row.credit,
    )
    return to_common(seq)


def _read_number(
    manifest: Path, number: int, raws: list[dict[str, Any]], rest_joints: Path | None
) -> Sequence:
    if not 1 <= number <= len(raws):
        raise SourceError(manifest, f"row {number}: no such row (the manifest has {len(raws)})")
    row = parse_row(manifest, number, raws[number - 1])
    # seq_id is the file stem, so two rows with one stem would overwrite each other
    for earlier, raw in enumerate(raws[: number - 1], start=1):
        if Path(str(raw.get("motion", ""))).stem == row.motion.stem:
            raise _row_error(
                manifest, number, f"motion file name {row.motion.stem!r} is used by row {earlier}"
            )
    try:
        return read_row(row, rest_joints)
    except SourceError as e:
        raise _row_error(manifest, number, f"{Path(e.path).name}: {e.problem}") from None


def looks_like(root: Path) -> bool:
    try:
        manifest = _find_manifest(root)
        return manifest.suffix.lower() in (".csv", ".json") and any(
            "motion" in r for r in load_raw(manifest)[:1]
        )
    except SourceError:
        return False


def discover(root: Path) -> list[Path]:
    """One item per manifest row, `<manifest>#<row>` (rows count from 1, header excluded).

    Reading row by row lets an ingest report each bad row and keep the good ones. `root` is
    a manifest file, or a folder holding manifest.csv or manifest.json.
    """
    manifest = _find_manifest(root)
    raws = load_raw(manifest)
    if not raws:
        raise SourceError(manifest, "the manifest has no rows")
    return [Path(f"{manifest}#{n}") for n in range(1, len(raws) + 1)]


def read(item: Path, rest_joints: Path | None = None) -> list[Sequence]:
    """The sequence of one row (`<manifest>#<row>`), or of every good row of a manifest.

    Columns (CSV header or JSON keys, case-insensitive; only `motion` is required):
      motion        path relative to the manifest's folder
      format        bvh | smpl_npz | joints_npy; default from the extension (.bvh .npz .npy)
      fps           frames per second; required for joints_npy; for smpl_npz it overrides
                    the file's mocap_framerate / fps; for bvh it overrides the header
      up            y | z (default y), joints_npy and smpl_npz; AMASS files are Z up: use z
      units         m | cm | mm (default m), joints_npy only
      music         audio file relative to the manifest; music_offset: seconds into it at
                    motion frame 0 (default 0)
      genre, performer, group, licence, credit    text
      title         the take's name; searchable as written and split into words
      captions, tags    `|`-separated in CSV, a list in JSON; captions become descriptions,
                        tags the label "tags" (joined by `|`)
    joints_npy is (T, 22, 3) in the SMPL joint order; smpl_npz holds `poses` (T, >=66)
    axis-angle (root + 21 body joints first) and `trans` (T, 3) metres, posed on the neutral
    SMPL-X rest joints (see `smpl.find_rest_joints`; the manifest's folder is searched).
    Reading a whole manifest skips bad rows with a logged warning; it fails only when no row
    is good. Every error is a SourceError naming the manifest and the row.
    """
    manifest, number = split_item(item)
    manifest = _find_manifest(manifest)
    raws = load_raw(manifest)
    if number is not None:
        return [_read_number(manifest, number, raws, rest_joints)]
    sequences, errors = [], []
    for n in range(1, len(raws) + 1):
        try:
            sequences.append(_read_number(manifest, n, raws, rest_joints))
        except SourceError as e:
            log.warning("skipping %s", e)
            errors.append(e)
    if not sequences:
        raise errors[0] if errors else SourceError(manifest, "the manifest has no rows")
    return sequences


def item_files(item: Path) -> list[Path]:
    """The files one row's result depends on: the manifest, the motion and the music file."""
    manifest, number = split_item(item)
    files = [manifest]
    try:
        raws = load_raw(manifest)
        if number is not None and 1 <= number <= len(raws):
            row = parse_row(manifest, number, raws[number - 1])
            files += [p for p in (row.motion, row.music) if p is not None and p.is_file()]
    except SourceError:
        pass  # the row is bad: the manifest's bytes alone decide its (skipped) result
    return files
