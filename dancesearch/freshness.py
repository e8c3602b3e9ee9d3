"""Content keys that decide what work can be skipped: a hash of the library files (and the
configuration) a step reads, recorded where the step left its result and compared on the next
run. Training records its key beside the checkpoint; refresh records the catalogue key the
collection last caught up to."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from dancesearch.storage.library import Library

TRAINED = "inputs.json"  # beside checkpoint.pt: the key of what it was trained on
EMBEDDED = "refresh"  # annotations/refresh.json: the catalogue the collection last caught up to

# what training reads besides its configuration and the feature store
TRAINING_FILES = ("clips.parquet", "annotations/captions.parquet", "annotations/splits.parquet")
# what the collection is made from besides the checkpoint
CATALOGUE_FILES = ("clips.parquet", "items.parquet", "annotations/captions.parquet",
                   "annotations/splits.parquet", "annotations/tags.parquet")  # fmt: skip


class Keyed(Protocol):
    """A configuration with a content-hash key() (RunConfig)."""

    def key(self) -> str: ...


def content_key(library: Library, files: Iterable[str], head: str = "", names: bool = True) -> str:
    """16 hex digits of sha1 over head, then each file's name (relative to the library root)
    and bytes, b"-" for a missing file.

    names=False leaves the names out: the training key was first recorded that way, and
    hashing them now would change every recorded key (a retrain of every library).
    """
    h = hashlib.sha1(head.encode())
    for name in files:
        file = library.root / name
        if names:
            h.update(name.encode())
        h.update(file.read_bytes() if file.is_file() else b"-")
    return h.hexdigest()[:16]


def training_key(library: Library, config: Keyed) -> str:
    """Hash of what training reads: the configuration, the feature store and the catalogue,
    captions and split tables."""
    head = f"{config.key()}:{library.feature_key()}"
    return content_key(library, TRAINING_FILES, head=head, names=False)


def catalogue_key(library: Library) -> str:
    """Hash of what the collection is made from, besides the checkpoint: the catalogue, the
    items' hashes and the annotations."""
    return content_key(library, CATALOGUE_FILES)


def trained_on(folder: Path) -> str | None:
    """The training key a checkpoint folder records, None when there is none."""
    meta = folder / TRAINED
    if not (folder / "checkpoint.pt").is_file() or not meta.is_file():
        return None
    return str(json.loads(meta.read_text()).get("key"))


def mark_trained(folder: Path, key: str) -> None:
    """Record beside the checkpoint in folder the training key it was trained on."""
    (folder / TRAINED).write_text(json.dumps({"key": key}) + "\n")


def embedded_on(library: Library) -> str | None:
    """The catalogue key the collection last caught up to, None before the first time."""
    key = library.read_json(EMBEDDED).get("catalogue")
    return None if key is None else str(key)


def mark_embedded(library: Library, key: str) -> None:
    """Record that the collection caught up with the catalogue whose key this is."""
    library.write_json(EMBEDDED, {"catalogue": key})
