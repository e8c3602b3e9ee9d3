"""BVH files: a plain parser, forward kinematics, and rig maps onto the common 22-joint body.

Owns the generic BVH reader (`discover`, `read`, `looks_like` over any folder of .bvh files,
with CMU trials recognised by name) and `load`, which other readers use for one BVH file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.spatial.transform import Rotation

from dancesearch import skeleton
from dancesearch.errors import SourceError
from dancesearch.skeleton import JOINTS, Quality, Sequence
from dancesearch.sources import cmu

_CHANNEL = re.compile(r"^([XYZ])(position|rotation)$", re.IGNORECASE)


@dataclass(frozen=True)
class Bvh:
    """The content of one BVH file. Points are the joints and end sites in file order.

    names: (N,) joint names; an end site is named "<parent>_end"
    parents: (N,) int index of each point's parent, -1 for a root; parents precede children
    offsets: (N, 3) float64, file units, each point's rest offset in its parent's frame
    channels: per point, its channels as "Xposition" / "Zrotation" ...; () for end sites
    motion: (F, C) float64, one row per frame, C = total channels; degrees and file units
    frame_time: seconds per frame, as declared
    """

    path: Path
    names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    motion: np.ndarray
    frame_time: float

    @property
    def n_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def fps(self) -> float:
        """Frames per second from the header, snapped to a whole number when within 0.01%.

        Writers round the frame time (0.0333333, 0.008333); left unsnapped, 30.00003 fps
        would make resampling to 30 FPS drop a frame and interpolate every other one.
        """
        fps = 1.0 / self.frame_time
        whole = round(fps)
        return float(whole) if whole > 0 and abs(fps - whole) < 1e-4 * fps else fps


# --------------------------------------------------------------------------- parsing


def parse(path: Path) -> Bvh:
    """Read a BVH file; SourceError naming the file for anything malformed."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise SourceError(path, f"cannot read: {e.strerror or e}") from e
    parts = re.split(r"^\s*MOTION\s*$", text, maxsplit=1, flags=re.MULTILINE)
    if len(parts) != 2:
        raise SourceError(path, "no MOTION section: not a BVH file, or truncated")
    names, parents, offsets, channels = _parse_hierarchy(path, parts[0])
    motion, frame_time = _parse_motion(path, parts[1], sum(len(c) for c in channels))
    return Bvh(
        path=path,
        names=tuple(names),
        parents=np.array(parents, dtype=int),
        offsets=np.array(offsets, dtype=np.float64).reshape(-1, 3),
        channels=tuple(channels),
        motion=motion,
        frame_time=frame_time,
    )


def _parse_hierarchy(
    path: Path, text: str
) -> tuple[list[str], list[int], list[list[float]], list[tuple[str, ...]]]:
    # Token-based rather than line-based: exporters disagree on where braces and line breaks go.
    tokens = text.split()
    if not tokens or tokens[0] != "HIERARCHY":
        raise SourceError(path, "does not start with HIERARCHY: not a BVH file")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    open_points: list[int] = []  # the enclosing { } blocks
    declared: int | None = None  # point whose "{" comes next
    i = 1

    def numbers(start: int, count: int, what: str) -> list[float]:
        chunk = tokens[start : start + count]
        if len(chunk) < count:
            raise SourceError(path, f"{what} is cut short")
        try:
            return [float(t) for t in chunk]
        except ValueError:
            raise SourceError(path, f"non-numeric {what}: {' '.join(chunk)!r}") from None

    while i < len(tokens):
        tok = tokens[i]
        end_site = tok == "End" and i + 1 < len(tokens) and tokens[i + 1].lower() == "site"
        if tok in ("ROOT", "JOINT") or end_site:
            if tok == "JOINT" and not open_points:
                raise SourceError(path, "JOINT outside any ROOT block")
            parent = open_points[-1] if open_points else -1
            if end_site:
                name = _unique(f"{names[parent]}_end", names) if parent >= 0 else "end"
            elif i + 1 < len(tokens):
                name = tokens[i + 1]
            else:
                raise SourceError(path, f"{tok} without a name")
            names.append(name)
            parents.append(parent)
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            declared = len(names) - 1
            i += 2
        elif tok == "{":
            if declared is None:
                raise SourceError(path, "'{' without a ROOT, JOINT or End Site before it")
            open_points.append(declared)
            declared = None
            i += 1
        elif tok == "}":
            if not open_points:
                raise SourceError(path, "unbalanced '}' in HIERARCHY")
            open_points.pop()
            i += 1
        elif tok == "OFFSET" and open_points:
            offsets[open_points[-1]] = numbers(i + 1, 3, f"OFFSET of {names[open_points[-1]]}")
            i += 4
        elif tok == "CHANNELS" and open_points:
            point = open_points[-1]
            try:
                n = int(tokens[i + 1])
            except (ValueError, IndexError):
                raise SourceError(path, f"bad CHANNELS count for {names[point]}") from None
            found = tokens[i + 2 : i + 2 + n]
            if len(found) != n or not all(_CHANNEL.match(c) for c in found):
                raise SourceError(path, f"bad CHANNELS for {names[point]}: {' '.join(found)!r}")
            # normalise case ("XROTATION" -> "Xrotation") so later code compares plainly
            channels[point] = tuple(c[0].upper() + c[1:].lower() for c in found)
            i += 2 + n
        else:
            raise SourceError(path, f"unexpected {tok!r} in HIERARCHY")
    if open_points:
        raise SourceError(path, "HIERARCHY ends inside an open '{' block (truncated?)")
    if not names:
        raise SourceError(path, "HIERARCHY holds no ROOT joint")
    return names, parents, offsets, channels


def _unique(name: str, taken: list[str]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name}{k}" in taken:
        k += 1
    return f"{name}{k}"


def _parse_motion(path: Path, text: str, n_channels: int) -> tuple[np.ndarray, float]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].startswith("Frames:"):
        raise SourceError(path, "MOTION section lacks 'Frames:' (truncated?)")
    if not lines[1].startswith("Frame Time:"):
        raise SourceError(path, "MOTION section lacks 'Frame Time:'")
    try:
        n_frames = int(lines[0].split(":", 1)[1])
        frame_time = float(lines[1].split(":", 1)[1])
    except ValueError:
        raise SourceError(path, f"bad MOTION header: {lines[0]!r} / {lines[1]!r}") from None
    if n_frames <= 0:
        raise SourceError(path, f"declares {n_frames} frames: no motion")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise SourceError(path, f"Frame Time must be positive, got {frame_time}")
    rows = lines[2:]
    if len(rows) != n_frames:
        hint = " (truncated)" if len(rows) < n_frames else ""
        raise SourceError(path, f"declares {n_frames} frames but holds {len(rows)} rows{hint}")
    split = [row.split() for row in rows]
    for k, values in enumerate(split):
        if len(values) != n_channels:
            raise SourceError(
                path,
                f"motion row {k + 1} has {len(values)} values, expected {n_channels} "
                "(one per channel; truncated?)",
            )
    try:
        motion = np.array(split, dtype=np.float64)
    except ValueError:
        k, bad = next((k, v) for k, values in enumerate(split) for v in values if not _is_float(v))
        raise SourceError(path, f"non-numeric value {bad!r} in motion row {k + 1}") from None
    if not np.isfinite(motion).all():
        k = int(np.argmax(~np.isfinite(motion).all(axis=1)))
        raise SourceError(path, f"motion row {k + 1} holds NaN or infinite values")
    return motion, frame_time


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------- forward kinematics


def forward_kinematics(bvh: Bvh) -> np.ndarray:
    """World positions of every joint and end site: (F, N, 3) float64, file units.

    A joint's local transform is a translation then its rotation channels, composed in the
    order listed (intrinsic: "Zrotation Xrotation Yrotation" is R = Rz @ Rx @ Ry). Position
    channels, on the root or any other joint, replace the matching OFFSET component.
    """
    n_frames, n_points = bvh.n_frames, len(bvh.names)
    world_rot = np.empty((n_frames, n_points, 3, 3))
    world_pos = np.empty((n_frames, n_points, 3))
    column = 0
    for j, chans in enumerate(bvh.channels):
        values = bvh.motion[:, column : column + len(chans)]
        column += len(chans)
        local_pos = np.repeat(bvh.offsets[j][None], n_frames, axis=0)
        axes, angle_cols = "", []
        for k, chan in enumerate(chans):
            if chan.endswith("position"):
                local_pos[:, "XYZ".index(chan[0])] = values[:, k]
            else:
                axes += chan[0]
                angle_cols.append(k)
        local_rot = _euler(bvh.path, axes, values[:, angle_cols], n_frames)
        parent = int(bvh.parents[j])
        if parent < 0:
            world_rot[:, j] = local_rot
            world_pos[:, j] = local_pos
        else:
            world_rot[:, j] = world_rot[:, parent] @ local_rot
            world_pos[:, j] = world_pos[:, parent] + np.einsum(
                "fij,fj->fi", world_rot[:, parent], local_pos
            )
    return world_pos


def _euler(path: Path, axes: str, degrees: np.ndarray, n_frames: int) -> np.ndarray:
    if not axes:
        return np.broadcast_to(np.eye(3), (n_frames, 3, 3))
    try:
        # uppercase = intrinsic: each rotation turns about the axes already turned by the last
        return Rotation.from_euler(axes.upper(), degrees, degrees=True).as_matrix()
    except ValueError as e:
        raise SourceError(path, f"rotation channels {axes!r} are not a valid order: {e}") from e


# ------------------------------------------------------------------------------ rig maps

Point = str | tuple[str, str, float]  # a point by name, or (a, b, t): a + t * (b - a)


@dataclass(frozen=True)
class Rig:
    """How one skeleton family maps onto the common body.

    smpl: for each name of skeleton.JOINTS, where it is in the rig and how good that is
    scale: metres per file unit; up: the file's up axis
    drop_first_frame: the file's frame 1 is a calibration pose, not motion
    """

    name: str
    smpl: dict[str, tuple[Point, Quality]]
    scale: float
    up: Literal["y", "z"] = "y"
    drop_first_frame: bool = False

    def required(self) -> list[str]:
        """Point names the map reads, in JOINTS order, each once."""
        out: list[str] = []
        for point, _ in self.smpl.values():
            for name in [point] if isinstance(point, str) else [point[0], point[1]]:
                if name not in out:
                    out.append(name)
        return out

    @property
    def quality(self) -> tuple[Quality, ...]:
        return tuple(self.smpl[joint][1] for joint in JOINTS)


# Second-Life/Poser retarget of CMU (the salsa files on disk). Its "metres" are small:
# thigh + shin is 0.64 against about 0.9 m on a real adult, hence 1.4.
SL_AVATAR = Rig(
    name="sl_avatar",
    scale=1.4,
    smpl={
        "pelvis": ("hip", "exact"),
        "left_hip": ("lThigh", "exact"),  # lButtock is a short connector above it
        "right_hip": ("rThigh", "exact"),
        "spine1": ("abdomen", "approximate"),
        "left_knee": ("lShin", "exact"),
        "right_knee": ("rShin", "exact"),
        "spine2": ("chest", "approximate"),
        "left_ankle": ("lFoot", "exact"),
        "right_ankle": ("rFoot", "exact"),
        "spine3": (("chest", "neck", 0.5), "interpolated"),
        # the end site is the toe tip; SMPL's foot joint is the ball of the foot
        "left_foot": (("lFoot", "lFoot_end", 0.6), "interpolated"),
        "right_foot": (("rFoot", "rFoot_end", 0.6), "interpolated"),
        "neck": ("neck", "exact"),
        "left_collar": ("lCollar", "approximate"),
        "right_collar": ("rCollar", "approximate"),
        "head": ("head", "exact"),
        "left_shoulder": ("lShldr", "exact"),
        "right_shoulder": ("rShldr", "exact"),
        "left_elbow": ("lForeArm", "exact"),
        "right_elbow": ("rForeArm", "exact"),
        "left_wrist": ("lHand", "exact"),
        "right_wrist": ("rHand", "exact"),
    },
)

# Original CMU release as converted by cgspeed: ASF units (1/0.45 inch) and an added T-pose.
CMU_CGSPEED = Rig(
    name="cmu_cgspeed",
    scale=0.0254 / 0.45,
    drop_first_frame=True,
    smpl={
        "pelvis": ("Hips", "exact"),
        "left_hip": ("LeftUpLeg", "exact"),
        "right_hip": ("RightUpLeg", "exact"),
        "spine1": ("Spine", "approximate"),  # LowerBack sits on the Hips
        "left_knee": ("LeftLeg", "exact"),
        "right_knee": ("RightLeg", "exact"),
        "spine2": (("Spine", "Spine1", 0.5), "interpolated"),
        "left_ankle": ("LeftFoot", "exact"),
        "right_ankle": ("RightFoot", "exact"),
        "spine3": ("Spine1", "approximate"),
        "left_foot": ("LeftToeBase", "approximate"),
        "right_foot": ("RightToeBase", "approximate"),
        "neck": ("Neck1", "approximate"),  # "Neck" is the lower neck, at the thorax
        # LeftShoulder has a zero offset (it sits on the thorax), so place the collar between
        "left_collar": (("LeftShoulder", "LeftArm", 0.5), "interpolated"),
        "right_collar": (("RightShoulder", "RightArm", 0.5), "interpolated"),
        "head": ("Head", "exact"),
        "left_shoulder": ("LeftArm", "exact"),
        "right_shoulder": ("RightArm", "exact"),
        "left_elbow": ("LeftForeArm", "exact"),
        "right_elbow": ("RightForeArm", "exact"),
        "left_wrist": ("LeftHand", "exact"),
        "right_wrist": ("RightHand", "exact"),
    },
)

# Bandai Namco Research Motion Dataset, centimetres; joint_Root is composed by FK like any parent.
BANDAI = Rig(
    name="bandai",
    scale=0.01,
    smpl={
        "pelvis": ("Hips", "exact"),
        "left_hip": ("UpperLeg_L", "exact"),
        "right_hip": ("UpperLeg_R", "exact"),
        "spine1": ("Spine", "approximate"),
        "left_knee": ("LowerLeg_L", "exact"),
        "right_knee": ("LowerLeg_R", "exact"),
        "spine2": ("Chest", "approximate"),
        "left_ankle": ("Foot_L", "exact"),
        "right_ankle": ("Foot_R", "exact"),
        "spine3": (("Chest", "Neck", 1 / 3), "interpolated"),
        "left_foot": ("Toes_L", "approximate"),
        "right_foot": ("Toes_R", "approximate"),
        "neck": ("Neck", "exact"),
        "left_collar": ("Shoulder_L", "approximate"),
        "right_collar": ("Shoulder_R", "approximate"),
        "head": ("Head", "exact"),
        "left_shoulder": ("UpperArm_L", "exact"),
        "right_shoulder": ("UpperArm_R", "exact"),
        "left_elbow": ("LowerArm_L", "exact"),
        "right_elbow": ("LowerArm_R", "exact"),
        "left_wrist": ("Hand_L", "exact"),
        "right_wrist": ("Hand_R", "exact"),
    },
)

RIGS: tuple[Rig, ...] = (SL_AVATAR, CMU_CGSPEED, BANDAI)


def detect_rig(bvh: Bvh) -> Rig:
    """The rig whose joint names the file has; SourceError saying what each rig misses."""
    present = set(bvh.names)
    misses = []
    for rig in RIGS:
        missing = [name for name in rig.required() if name not in present]
        if not missing:
            return rig
        shown = ", ".join(missing[:6]) + (
            f" and {len(missing) - 6} more" if len(missing) > 6 else ""
        )
        misses.append(f"{rig.name} lacks {shown}")
    raise SourceError(bvh.path, "unknown skeleton, no rig map fits: " + "; ".join(misses))


def to_smpl(world: np.ndarray, names: tuple[str, ...], rig: Rig) -> np.ndarray:
    """(F, N, 3) FK positions in file units -> (F, 22, 3) float32 metres, Y up."""
    index = {name: i for i, name in enumerate(names)}
    out = np.empty((world.shape[0], len(JOINTS), 3))
    for j, joint in enumerate(JOINTS):
        point, _ = rig.smpl[joint]
        if isinstance(point, str):
            out[:, j] = world[:, index[point]]
        else:
            a, b, t = point
            out[:, j] = (1 - t) * world[:, index[a]] + t * world[:, index[b]]
    out *= rig.scale
    if rig.up == "z":
        out = skeleton.z_up_to_y_up(out)
    return out.astype(np.float32)


def load(
    path: Path, fps: float | None = None
) -> tuple[np.ndarray, float, tuple[Quality, ...], str]:
    """One BVH file on the common body: (joints, fps, joint_quality, rig name).

    joints: (T, 22, 3) float32, metres, Y up, not yet resampled or floored. fps: the given
    value, else the known true rate of a CMU subject, else the header's. A cgspeed T-pose
    frame 1 is dropped.
    """
    if fps is not None and not fps > 0:
        raise SourceError(path, f"frame rate must be positive, got {fps}")
    bvh = parse(path)
    rig = detect_rig(bvh)
    joints = to_smpl(forward_kinematics(bvh), bvh.names, rig)
    if rig.drop_first_frame:
        if joints.shape[0] < 2:
            raise SourceError(path, f"holds only the {rig.name} calibration frame, no motion")
        joints = joints[1:]
    if fps is None and rig.name in (SL_AVATAR.name, CMU_CGSPEED.name):
        fps = cmu.true_fps(path)
    return joints, fps if fps is not None else bvh.fps, rig.quality, rig.name


# ------------------------------------------------------------------------ reader module


def _bvh_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root] if root.suffix.lower() == ".bvh" else []
    return sorted(p for p in root.rglob("*") if p.suffix.lower() == ".bvh" and p.is_file())


def discover(root: Path) -> list[Path]:
    """Every .bvh file under root (or root itself), sorted."""
    files = _bvh_files(root)
    if not files:
        raise SourceError(root, "holds no .bvh files")
    return files


def looks_like(root: Path) -> bool:
    if root.is_file():
        return root.suffix.lower() == ".bvh"
    return root.is_dir() and any(p.suffix.lower() == ".bvh" for p in root.rglob("*"))


def item_files(item: Path) -> list[Path]:
    """The BVH file and, for a CMU trial, the descriptions.csv its text and genre come from."""
    descriptions = item.parent / cmu.DESCRIPTIONS_CSV
    return [item, descriptions] if cmu.is_cmu(item) else [item]


def read(item: Path) -> list[Sequence]:
    """One BVH file as one Sequence on the common body; CMU trials get CMU's metadata."""
    joints, fps, quality, rig = load(item)
    if not cmu.is_cmu(item):
        seq = Sequence(f"bvh/{item.stem}", "bvh", item, joints, fps, quality)
        return [skeleton.to_common(seq)]
    take = cmu.trial(item)
    seq = Sequence(
        seq_id=f"cmu/{item.stem}",
        source="cmu",
        path=item,
        joints=joints,
        fps=fps,
        joint_quality=quality,
        genre=take.genre,
        performer=f"CMU subject {take.subject}",
        group=cmu.partner_group(item),
        labels={"trial": take.trial_id, "category": take.category},
        descriptions=[take.description] if take.has_description else [],
        licence=cmu.LICENCE,
        credit=cmu.CREDIT + (cmu.SL_CREDIT if rig == SL_AVATAR.name else ""),
    )
    return [skeleton.to_common(seq)]
