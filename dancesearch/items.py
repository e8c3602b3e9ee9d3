"""What an input item is made of, and its content hash: the files its reader consults
(`item_files`), their sha1 (`input_hash`), and their sizes and mtimes (`file_stats`), which
let a later run trust a recorded hash without reading the bytes again (`hash_items`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dancesearch.sources import reader
from dancesearch.storage.library import Library


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


def file_stats(item: Path, fmt: str) -> str | None:
    """What an item's files look like on disk, without reading them: JSON [[path, size,
    mtime_ns], ...] over `item_files`; None when one cannot be looked at (then it is hashed)."""
    try:
        stats = [(str(f), f.stat()) for f in item_files(item, fmt)]
    except OSError:
        return None
    return json.dumps([[name, st.st_size, st.st_mtime_ns] for name, st in stats])


def recorded_stats(library: Library) -> dict[str, tuple[str, str]]:
    """item -> (input_hash, file_stats) as the items table records them, for the items whose
    row holds the hash of their files as they were when those stats were taken; {} for a
    library from before stats were recorded (every item is then hashed)."""
    items = library.table("items")
    if items.empty or "file_stats" not in items:
        return {}
    known = items[items["file_stats"].notna()]
    rows = zip(known["item"], known["input_hash"], known["file_stats"], strict=True)
    return {str(item): (str(h), str(stats)) for item, h, stats in rows}


def hash_items(
    items: list[tuple[Path, str]], known: dict[str, tuple[str, str]]
) -> tuple[dict[str, str], dict[str, str | None]]:
    """(item -> input_hash, item -> file_stats) of items. An item whose files have the size
    and mtime (ns) recorded with its hash is not read again: that hash is trusted; any other
    is hashed. The stats are taken before the bytes are read, so a file rewritten while it is
    hashed is hashed again next time."""
    hashes: dict[str, str] = {}
    stats: dict[str, str | None] = {}
    for item, fmt in items:
        key = str(item)
        stats[key] = file_stats(item, fmt)
        recorded = known.get(key)
        if stats[key] is not None and recorded is not None and recorded[1] == stats[key]:
            hashes[key] = recorded[0]
        else:
            hashes[key] = input_hash(item, fmt)
    return hashes, stats


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
