"""Stick-figure strips of clips: a quick visual check that a source looks human and upright."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dancesearch.skeleton import BONES, JOINTS, J  # noqa: E402
from dancesearch.storage.library import Library  # noqa: E402
from dancesearch.storage.schema import clip_record  # noqa: E402

LEFT, RIGHT, CENTRE = "#1f6fd1", "#d1401f", "#333333"


def _colour(child: int) -> str:
    name = JOINTS[child]
    return LEFT if name.startswith("left") else RIGHT if name.startswith("right") else CENTRE


def facing_view(joints: np.ndarray) -> np.ndarray:
    """(T, 22, 2) screen points: the body seen from the front of its first frame's heading.

    The screen x axis runs along the first frame's hip line (the body's left on the viewer's
    right, as in a mirror-free front view), screen y is height. Pelvis of frame 0 at x = 0.
    """
    hips = joints[0, J["left_hip"]] - joints[0, J["right_hip"]]
    across = np.array([hips[0], 0.0, hips[2]])
    across /= np.linalg.norm(across) + 1e-9
    x = (joints - joints[0, J["pelvis"]]) @ across
    return np.stack([x, joints[..., 1]], axis=-1)


def render_clip(library: Library, clip_id: str, out: Path, n_frames: int = 8) -> None:
    """Write a PNG strip of n_frames evenly spaced frames of a clip, with its credit line."""
    clip = clip_record(library.clip(clip_id))
    joints = library.load_motion(clip["seq_id"])
    window = joints[int(clip["start_frame"]) : int(clip["start_frame"]) + int(clip["n_frames"])]
    picks = np.linspace(0, len(window) - 1, n_frames).round().astype(int)
    screen = facing_view(window)[picks]
    fig, axes = plt.subplots(1, n_frames, figsize=(1.6 * n_frames, 3.0), sharey=True)
    top = max(float(screen[..., 1].max()), 1.0) + 0.1
    for ax, frame, f in zip(np.atleast_1d(axes), screen, picks, strict=True):
        for parent, child in BONES:
            ax.plot(*frame[[parent, child]].T, color=_colour(child), lw=2)
        ax.plot(*frame[J["head"]], "o", color=CENTRE, ms=5)
        ax.axhline(0, color="#999999", lw=0.8)
        ax.set_xlim(frame[J["pelvis"], 0] - 0.9, frame[J["pelvis"], 0] + 0.9)
        ax.set_ylim(-0.1, top)
        ax.set_aspect("equal")
        ax.set_title(f"{(int(clip['start_frame']) + f) / 30:.1f} s", fontsize=8)
        ax.tick_params(labelsize=6)
    labels = clip["labels"]
    what = clip["genre"] or labels.get("category", "")
    detail = labels.get("style") or labels.get("content") or ""
    performer = clip["performer"] or "performer unknown"
    fig.suptitle(
        f"{clip_id} - {clip['source']}, {what} {detail}, {performer} (blue = body's left)",
        fontsize=9,
    )
    credit = textwrap.fill(f"{clip['credit']} | Licence: {clip['licence']}", 160)
    fig.text(0.01, 0.01, credit, fontsize=5.5, va="bottom")
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
