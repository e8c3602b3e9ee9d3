"""Bandai Namco Research Motion Dataset: folders of `dataset-1_{content}_{style}_{take}.bvh`.

Owns the file-name labels, licence and credit; the motion itself goes through `sources.bvh`.
"""

from __future__ import annotations

import re
from pathlib import Path

from dancesearch import skeleton
from dancesearch.errors import SourceError
from dancesearch.skeleton import Sequence
from dancesearch.sources import bvh

# contents and styles use hyphens ("walk-back", "not-confident"), never underscores
NAME = re.compile(r"^(dataset-\d+)_([^_]+)_([^_]+)_(\d+)$")

LICENCE = "CC BY-NC 4.0"
CREDIT = (
    "Motion data: Bandai Namco Research Motion Dataset (c) 2022 Bandai Namco Research Inc., "
    "CC BY-NC 4.0, https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset"
)


def _files(root: Path) -> list[Path]:
    candidates = [root] if root.is_file() else sorted(root.rglob("*.bvh")) if root.is_dir() else []
    return [p for p in candidates if p.suffix.lower() == ".bvh" and p.name.startswith("dataset-")]


def discover(root: Path) -> list[Path]:
    """Every `dataset-*.bvh` under root (or root itself), sorted."""
    files = _files(root)
    if not files:
        raise SourceError(root, "holds no Bandai Namco files (dataset-*.bvh)")
    return files


def looks_like(root: Path) -> bool:
    """A Bandai file, or a folder whose .bvh files are all named `dataset-...`."""
    if root.is_file():
        return bool(_files(root))
    if not root.is_dir():
        return False
    names = [p.name for p in root.rglob("*.bvh")]
    return bool(names) and all(name.startswith("dataset-") for name in names)


def labels(path: Path) -> dict[str, str]:
    """Dataset, content, style, take and category from a Bandai file name."""
    m = NAME.match(path.stem)
    if m is None:
        raise SourceError(path, "not a Bandai Namco name (dataset-N_{content}_{style}_{take}.bvh)")
    dataset, content, style, take = m.groups()
    category = "dance" if content.startswith("dance") else "non-dance"
    return {
        "dataset": dataset,
        "content": content,
        "style": style,
        "take": take,
        "category": category,
    }


def read(item: Path) -> list[Sequence]:
    """One Bandai file as one Sequence on the common body."""
    tags = labels(item)  # before the parse, so a misnamed file fails fast
    joints, fps, quality, _ = bvh.load(item)
    seq = Sequence(
        seq_id=f"bandai/{item.stem}",
        source="bandai",
        path=item,
        joints=joints,
        fps=fps,
        joint_quality=quality,
        genre=None,
        performer=None,  # three actors took part; the files do not say which
        labels=tags,
        licence=LICENCE,
        credit=CREDIT,
    )
    return [skeleton.to_common(seq)]
