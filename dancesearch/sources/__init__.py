"""Readers, one module per input format, each turning files into `Sequence`s on the common body.

Every reader module exposes:
    discover(root: Path) -> list[Path]   the items under root (files or folders) it can read;
                                         raises SourceError when root holds none
    read(item: Path) -> list[Sequence]   the sequences of one item, already on the common body
                                         (`skeleton.to_common`); raises SourceError on bad input
    looks_like(root: Path) -> bool       cheap check used by --format auto
and, when `read` consults files beside the item (songs, label tables, splits), also
    item_files(item: Path) -> list[Path] every file the item's result depends on, so that
                                         ingest notices a change to any of them
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from dancesearch.errors import ConfigError, SourceError

FORMATS: tuple[str, ...] = ("m2d", "bvh", "bandai", "g1", "aistpp", "finedance", "manifest")
# auto-detection order: the specific layouts first, generic BVH last
_DETECT_ORDER = ("manifest", "m2d", "finedance", "aistpp", "g1", "bandai", "bvh")


def load_json(path: Path) -> Any:
    """A JSON file's content; SourceError naming the file when missing, unreadable or invalid."""
    if not path.exists():
        raise SourceError(path, "missing file")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as e:
        raise SourceError(path, f"cannot read: {e}") from None
    except json.JSONDecodeError as e:
        raise SourceError(path, f"not valid JSON (truncated?): {e}") from None


def reader(fmt: str) -> ModuleType:
    """The reader module for a format name."""
    if fmt not in FORMATS:
        raise ConfigError(
            f"--format: unknown format {fmt!r}; choose one of auto, {', '.join(FORMATS)}"
        )
    return importlib.import_module(f"dancesearch.sources.{fmt}")


def detect(root: Path, generic: bool = True) -> str:
    """Guess the format of a file or folder; SourceError when nothing matches.

    generic=False leaves out the generic BVH reader, which claims any folder holding a .bvh
    file anywhere below it.
    """
    if not root.exists():
        raise SourceError(root, "does not exist")
    for fmt in _DETECT_ORDER if generic else _DETECT_ORDER[:-1]:
        if reader(fmt).looks_like(root):
            return fmt
    if root.is_dir() and not any(root.iterdir()):
        raise SourceError(root, "folder is empty")
    raise SourceError(
        root, f"unknown format: none of {', '.join(FORMATS)} recognises it ({_contents(root)})"
    )


def _contents(root: Path) -> str:
    """What a folder holds, by extension, so the user sees why nothing matched."""
    if root.is_file():
        return f"a {root.suffix or 'extension-less'} file"
    counts = Counter(p.suffix.lower() or "no extension" for p in root.rglob("*") if p.is_file())
    found = ", ".join(f"{n} {ext}" for ext, n in counts.most_common(5))
    return f"found {found}" if found else "no files"
