"""Reader for AIST++ (Li et al., ICCV 2021): SMPL poses per performance, music from AIST Dance DB.

Layout: `motions/<name>.pkl` and `wavs/<music id>.wav` side by side under the root (as in
`aist_plusplus_final/`), or the root is the `motions/` folder itself with `wavs/` next to it.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np

from dancesearch.errors import SourceError
from dancesearch.skeleton import Quality, Sequence, to_common
from dancesearch.sources.smpl import (
    axis_angle_to_matrix,
    check_array,
    forward_kinematics,
    load_rest_joints,
    rest_joints_files,
)

# gBR_sBM_cAll_d04_mBR0_ch01: genre, situation, camera, dancer, music, choreography
NAME = re.compile(
    r"^g(?P<genre>[A-Z]{2})_s(?P<situation>[A-Z]{2})_c(?P<camera>[A-Za-z0-9]+)_"
    r"d(?P<dancer>\d+)_(?P<music>m[A-Z]{2}\d+)_ch(?P<choreo>\d+)$"
)
GENRES = {
    "BR": "break",
    "PO": "pop",
    "LO": "lock",
    "MH": "middle hip-hop",
    "LH": "LA hip-hop",
    "HO": "house",
    "WA": "waack",
    "KR": "krump",
    "JS": "street jazz",
    "JB": "ballet jazz",
}
SITUATIONS = {"BM": "basic", "FM": "advanced"}  # AIST++ holds only these two of the DB's kinds
FPS = 60.0
MUSIC_DIRS = ("wavs", "music", "all_musics")  # names used by AIST++ tooling for the same wavs
IGNORE_LIST = "ignore_list.txt"  # AIST++'s list of performances with broken fits
LICENCE = "AIST++: CC BY 4.0 (annotations); AIST Dance Video Database terms for music"
CREDIT = "AIST++ (Li et al., ICCV 2021), AIST Dance DB (Tsuchida et al., ISMIR 2019)"
QUALITY: tuple[Quality, ...] = ("exact",) * 22


def _motions_dir(root: Path) -> Path | None:
    if (root / "motions").is_dir():
        return root / "motions"
    if root.is_dir() and any(NAME.match(p.stem) for p in root.glob("*.pkl")):
        return root
    return None


def looks_like(root: Path) -> bool:
    if root.is_file():
        return root.suffix == ".pkl" and NAME.match(root.stem) is not None
    motions = _motions_dir(root)
    return motions is not None and any(NAME.match(p.stem) for p in motions.glob("*.pkl"))


def discover(root: Path) -> list[Path]:
    """The AIST++ motion pickles under root, minus those in AIST++'s `ignore_list.txt`."""
    if root.is_file() and looks_like(root):
        return [root]
    motions = _motions_dir(root)
    if motions is None:
        raise SourceError(root, "no AIST++ motions/<gGG_sSS_cCC_dNN_mMMN_chNN>.pkl found")
    ignore_file = motions.parent / IGNORE_LIST
    ignored = set(ignore_file.read_text().split()) if ignore_file.is_file() else set()
    items = sorted(p for p in motions.glob("*.pkl") if NAME.match(p.stem) and p.stem not in ignored)
    if not items:
        raise SourceError(motions, "no AIST++ motion pickles (all missing or ignored)")
    return items


def music_file(item: Path, music_id: str) -> Path:
    """Where the wav of `music_id` must be for motion file `item`; SourceError when missing."""
    base = item.parent.parent
    for name in MUSIC_DIRS:
        if (base / name / f"{music_id}.wav").is_file():
            return base / name / f"{music_id}.wav"
    raise SourceError(
        item,
        f"music file {music_id}.wav is missing: put the AIST Dance DB wavs in {base / 'wavs'}",
    )


def item_files(item: Path) -> list[Path]:
    """The files a motion's result depends on: it, its song, the rest joints."""
    m = NAME.match(item.stem)
    base = item.parent.parent
    songs = [base / d / f"{m['music']}.wav" for d in MUSIC_DIRS] if m else []
    rest = rest_joints_files([item.parent, base, base.parent])
    return [item] + [p for p in songs if p.is_file()] + rest


def _load(item: Path) -> dict[str, np.ndarray]:
    try:
        with item.open("rb") as f:
            # AIST++ ships pickles; only read files you trust, as with any pickle
            data = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise SourceError(item, f"cannot unpickle AIST++ motion: {e}") from None
    if not isinstance(data, dict):
        raise SourceError(item, f"expected a dict of arrays, found {type(data).__name__}")
    arrays = {}
    for key in ("smpl_poses", "smpl_trans", "smpl_scaling"):
        if key not in data:
            raise SourceError(item, f"missing key '{key}'")
        arrays[key] = np.asarray(data[key])
    return arrays


def read(item: Path, rest_joints: Path | None = None) -> list[Sequence]:
    """One Sequence per AIST++ pickle: SMPL forward kinematics, translation / scaling = metres.

    rest_joints: explicit `smplx_neu_J_1.npy`; by default it is looked up as
    `smpl.find_rest_joints` says, in the motions folder, the root and the root's parent.
    """
    m = NAME.match(item.stem)
    if m is None:
        raise SourceError(item, "name is not AIST++'s gGG_sSS_cCC_dNN_mMMN_chNN")
    if m["genre"] not in GENRES:
        raise SourceError(item, f"unknown AIST++ genre code g{m['genre']}")
    data = _load(item)
    poses, trans, scaling = data["smpl_poses"], data["smpl_trans"], data["smpl_scaling"]
    check_array(poses, (None, 72), "smpl_poses", item)
    check_array(trans, (poses.shape[0], 3), "smpl_trans", item)
    check_array(scaling.reshape(-1), (1,), "smpl_scaling", item)
    scale = float(scaling.reshape(-1)[0])
    if scale <= 0:
        raise SourceError(item, f"'smpl_scaling' is {scale}, expected a positive number")
    music = music_file(item, m["music"])
    rest = load_rest_joints(
        [item.parent, item.parent.parent, item.parent.parent.parent], rest_joints
    )
    # joints 22 and 23 (hands) are leaves of the tree: dropping them moves no body joint
    rotations = axis_angle_to_matrix(poses.reshape(-1, 24, 3)[:, :22])
    joints = forward_kinematics(rotations, rest, trans / scale)
    # every camera of a take sees one performance; motions are already per take (cAll)
    take = f"g{m['genre']}_s{m['situation']}_cAll_d{m['dancer']}_{m['music']}_ch{m['choreo']}"
    seq = Sequence(
        seq_id=f"aistpp/{item.stem}",
        source="aistpp",
        path=item,
        joints=joints,
        fps=FPS,
        joint_quality=QUALITY,
        music_path=music,
        music_offset=0.0,
        genre=GENRES[m["genre"]],
        performer=f"AIST++ dancer d{m['dancer']}",
        group=f"aistpp/{take}",
        labels={
            "category": "dance",
            "situation": SITUATIONS.get(m["situation"], m["situation"]),
            "music_id": m["music"],
            "choreography": f"ch{m['choreo']}",
        },
        licence=LICENCE,
        credit=CREDIT,
    )
    return [to_common(seq)]
