"""The one layout of the library's table rows: items, sequences, clips, tags and captions.

Builders turn records into flat rows (nested fields as JSON text, since Parquet columns stay
flat); parsers turn a stored row back into plain Python values -- JSON decoded, missing values
None, numpy scalars unboxed -- the form `library show` prints and a Qdrant payload carries
(clip_payload builds the payload).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dancesearch.storage.qdrant import Payload

if TYPE_CHECKING:  # records of lower layers, for the type hints only
    from dancesearch.clips import Clip
    from dancesearch.skeleton import Sequence

ITEM_COLUMNS = ("item", "format", "input_hash", "config_key", "status", "reason", "ingested_at")
SEQUENCE_COLUMNS = (
    "seq_id", "source", "format", "item", "path", "n_frames", "duration_s", "has_music",
    "music_path", "music_offset_s", "genre", "performer", "group", "labels", "descriptions",
    "joint_quality", "licence", "credit", "bpm",
)  # fmt: skip
CLIP_COLUMNS = (
    "clip_id", "seq_id", "source", "start_frame", "n_frames", "has_music", "music_path",
    "music_start_s", "genre", "performer", "group", "labels", "descriptions", "licence",
    "credit", "start_s", "duration_s", "bpm",
)  # fmt: skip
TAG_COLUMNS = ("clip_id", "tag", "facet", "source", "evidence", "label", "annotator")
CAPTION_COLUMNS = ("clip_id", "caption", "type", "source", "tags")

# columns holding JSON text, per table
SEQUENCE_JSON = ("labels", "descriptions", "joint_quality")
CLIP_JSON = ("labels", "descriptions")
CAPTION_JSON = ("tags",)
# captions whose text the sparse (BM25) text vector indexes: a person's, the source's labels, an
# expert's -- never the generated templates (evaluation's PEOPLE_SOURCES leaves out the expert)
SEARCHABLE_SOURCES = ("human", "label", "expert")
ANNOTATION_SOURCES = ("auto", "expert", "human", "label")

Row = dict[str, Any]


# --- records -> rows ----------------------------------------------------------------------
def item_row(
    item: str,
    fmt: str,
    input_hash: str,
    config_key: str,
    status: str,
    reason: str | None,
    ingested_at: str,
) -> Row:
    """One input item's outcome: status "ok" or "skipped" (with the reason)."""
    return {
        "item": item,
        "format": fmt,
        "input_hash": input_hash,
        "config_key": config_key,
        "status": status,
        "reason": reason,
        "ingested_at": ingested_at,
    }


def sequence_row(seq: Sequence, item: Path, fmt: str, bpm: float | None) -> Row:
    """A sequence's catalogue row; bpm: the tempo of its whole song, None when silent."""
    return {
        "seq_id": seq.seq_id,
        "source": seq.source,
        "format": fmt,
        "item": str(item),
        "path": str(seq.path),
        "n_frames": seq.n_frames,
        "duration_s": seq.duration,
        "has_music": seq.has_music,
        "music_path": str(seq.music_path) if seq.music_path else None,
        "music_offset_s": seq.music_offset if seq.has_music else None,
        "genre": seq.genre,
        "performer": seq.performer,
        "group": seq.group,
        "labels": json.dumps(seq.labels, sort_keys=True),
        "descriptions": json.dumps(seq.descriptions),
        "joint_quality": json.dumps(list(seq.joint_quality)),
        "licence": seq.licence,
        "credit": seq.credit,
        "bpm": bpm,
    }


def clip_row(clip: Clip, bpm: float | None) -> Row:
    """A clip's catalogue row; bpm: the tempo of its music segment, None when silent."""
    return {
        "clip_id": clip.clip_id,
        "seq_id": clip.seq_id,
        "source": clip.source,
        "start_frame": clip.start_frame,
        "n_frames": clip.n_frames,
        "has_music": clip.has_music,
        "music_path": clip.music_path,
        "music_start_s": clip.music_start_s,
        "genre": clip.genre,
        "performer": clip.performer,
        "group": clip.group,
        "labels": json.dumps(clip.labels, sort_keys=True),
        "descriptions": json.dumps(clip.descriptions),
        "licence": clip.licence,
        "credit": clip.credit,
        "start_s": clip.start_s,
        "duration_s": clip.duration_s,
        "bpm": bpm,
    }


def tag_row(
    clip_id: str, tag: str, source: str, evidence: float | str | None, annotator: str | None
) -> Row:
    """One tag of a clip. evidence: a descriptor value (kept as a number) or a label's text."""
    numeric = isinstance(evidence, int | float)
    return {
        "clip_id": clip_id,
        "tag": tag,
        "facet": tag.split(".")[0],
        "source": source,
        "evidence": float(evidence) if numeric else None,  # type: ignore[arg-type]
        "label": None if numeric or evidence is None else str(evidence),
        "annotator": annotator,
    }


def caption_row(clip_id: str, text: str, kind: str, source: str, tags: Iterable[str]) -> Row:
    """One caption of a clip: its type (style, rhythm, ...), source and the tags it claims."""
    return {
        "clip_id": clip_id,
        "caption": text,
        "type": kind,
        "source": source,
        "tags": json.dumps(list(tags)),
    }


def frame(rows: Iterable[Row], columns: tuple[str, ...]) -> pd.DataFrame:
    """A table of rows with its columns in schema order, even when there are no rows."""
    return pd.DataFrame(list(rows), columns=list(columns))


def tags_frame(rows: Iterable[Row]) -> pd.DataFrame:
    return frame(rows, TAG_COLUMNS)


def captions_frame(rows: Iterable[Row]) -> pd.DataFrame:
    return frame(rows, CAPTION_COLUMNS)


# --- rows -> records ----------------------------------------------------------------------
def plain(value: Any) -> Any:
    """A stored cell as a plain Python value: numpy scalars unboxed, NaN / NA as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def parse_row(row: Mapping[str, Any] | pd.Series, json_columns: tuple[str, ...] = ()) -> Row:
    """A stored row as plain values, with the given JSON columns decoded."""
    out: Row = {}
    for key, value in row.items():
        value = plain(value)
        out[str(key)] = json.loads(value) if key in json_columns and value is not None else value
    return out


def clip_record(row: Mapping[str, Any] | pd.Series) -> Row:
    """A clip row as plain values: labels a dict, descriptions a list, missing values None."""
    return parse_row(row, CLIP_JSON)


def sequence_record(row: Mapping[str, Any] | pd.Series) -> Row:
    """A sequence row as plain values: labels, descriptions and joint_quality decoded."""
    return parse_row(row, SEQUENCE_JSON)


def caption_record(row: Mapping[str, Any] | pd.Series) -> Row:
    """A caption row as plain values: tags a list."""
    return parse_row(row, CAPTION_JSON)


def tag_record(row: Mapping[str, Any] | pd.Series) -> Row:
    """A tag row as plain values: evidence, label and annotator None where absent."""
    return parse_row(row)


def records(table: pd.DataFrame, parse: Callable[[Any], Row] = parse_row) -> list[Row]:
    """Every row of a table through one of the parsers above."""
    return [parse(row) for row in table.to_dict(orient="records")]


# --- the Qdrant payload of a clip ---------------------------------------------------------
def clip_payload(
    clip: Payload, tags: list[Payload], captions: list[Payload], split: str | None
) -> Payload:
    """The payload of one clip: its catalogue record (schema.clip_record), tag and caption
    records (schema.tag_record, schema.caption_record) and the split of its sequence.

    has_music is "yes"/"no" (Qdrant Edge does not match a bool payload); bpm, start_s and
    duration_s are in beats per minute and seconds; human_text feeds the sparse text vector.
    """
    labels = clip["labels"] or {}
    tag_names = sorted({str(t["tag"]) for t in tags})
    tempo = next((t.split(".", 1)[1] for t in tag_names if t.startswith("tempo.")), None)
    title = labels.get("title")
    human = [c["caption"] for c in captions if c["source"] in SEARCHABLE_SOURCES]
    sources = {t["source"] for t in tags} | {c["source"] for c in captions}
    return {
        "clip_id": clip["clip_id"],
        "seq_id": clip["seq_id"],
        "source": clip["source"],
        "genre": clip["genre"],
        "performer": clip["performer"],
        "bpm": clip["bpm"],
        "tempo": tempo,
        "tags": tag_names,
        "has_music": "yes" if clip["has_music"] else "no",
        "start_s": clip["start_s"],
        "duration_s": clip["duration_s"],
        "annotations": [s for s in ANNOTATION_SOURCES if s in sources],
        "captions": [c["caption"] for c in captions],
        "human_text": human_text([*human, title, clip["genre"]]),
        "title": title,
        "labels": labels,
        "licence": clip["licence"],
        "credit": clip["credit"],
        "split": split,
    }


def human_text(texts: Iterable[str | None]) -> str:
    """Texts joined by ". ", each once (case aside), blanks left out."""
    seen: dict[str, str] = {}
    for text in texts:
        if text and text.strip():
            seen.setdefault(text.strip().lower(), text.strip())
    return ". ".join(seen.values())
