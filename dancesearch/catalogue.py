"""What the library knows about its clips, read from its tables: the Qdrant payload of every
clip (what indexing stores and the page shows), and one clip's full details (what `library
show` prints: labels, tags with evidence, captions, units, split, credit). The page's server
and `library show` both read clips here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from dancesearch.storage import schema
from dancesearch.storage.library import Library
from dancesearch.storage.qdrant import Payload


def payloads(library: Library) -> list[Payload]:
    """The payload of every clip of a library, in catalogue order."""
    tags: dict[str, list[Payload]] = defaultdict(list)
    for t in schema.records(library.table("tags"), schema.tag_record):
        tags[t["clip_id"]].append(t)
    captions: dict[str, list[Payload]] = defaultdict(list)
    for c in schema.records(library.table("captions"), schema.caption_record):
        captions[c["clip_id"]].append(c)
    splits = {s["seq_id"]: s["split"] for s in schema.records(library.table("splits"))}
    return [
        schema.clip_payload(c, tags[c["clip_id"]], captions[c["clip_id"]], splits.get(c["seq_id"]))
        for c in schema.records(library.clips(), schema.clip_record)
    ]


def clip_records(library: Library, held: Iterable[str]) -> dict[str, dict[str, Any]]:
    """clip id -> its catalogue record (schema.clip_record) with its payload under "payload",
    for the clips in `held` (those a collection holds), in catalogue order."""
    held = set(held)
    by_id = {p["clip_id"]: p for p in payloads(library)}
    return {
        r["clip_id"]: {**r, "payload": by_id[r["clip_id"]]}
        for r in schema.records(library.clips(), schema.clip_record)
        if r["clip_id"] in held
    }


def _rows(
    frame: pd.DataFrame, clip_id: str, parse: Callable[[Any], schema.Row] = schema.parse_row
) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    return schema.records(frame[frame["clip_id"] == clip_id].drop(columns="clip_id"), parse)


def clip_details(library: Library, clip_id: str) -> dict[str, Any]:
    """A plain dict of everything the library knows about a clip."""
    from dancesearch.annotate.pipeline import annotations_current  # the tagger: not for the page

    clip = schema.clip_record(library.clip(clip_id))
    seqs = library.table("sequences")
    seq = schema.sequence_record(seqs[seqs["seq_id"] == clip["seq_id"]].iloc[0])
    splits = library.table("splits")
    split = list(splits.loc[splits["seq_id"] == clip["seq_id"], "split"]) if len(splits) else []
    meta = library.read_json("annotation")
    return {
        "clip_id": clip_id,
        "sequence": clip["seq_id"],
        "source": clip["source"],
        "genre": clip["genre"],
        "performer": clip["performer"],
        "labels": clip["labels"],
        "start_s": clip["start_s"],
        "duration_s": clip["duration_s"],
        "music": clip["music_path"] if clip["has_music"] else None,
        "music_start_s": clip["music_start_s"] if clip["has_music"] else None,
        "bpm": clip["bpm"] if clip["has_music"] else None,
        "split": split[0] if split else None,
        "annotated": bool(meta),
        "annotations_current": annotations_current(library) if meta else False,
        "taxonomy_version": meta.get("taxonomy_version"),
        "tags": _rows(library.table("tags"), clip_id, schema.tag_record),
        "captions": _rows(library.table("captions"), clip_id, schema.caption_record),
        "choreography": _rows(library.table("choreography"), clip_id),
        "path": seq["path"],
        "joint_quality": seq["joint_quality"],
        "licence": clip["licence"],
        "credit": clip["credit"],
    }
