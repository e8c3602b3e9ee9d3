"""Expert annotations: tags per clip or per sequence from a CSV or JSON file.

Expert tags override automatic ones and carry their provenance (source "expert", the
annotator, and the file and row in the evidence); `-tag.id` removes a tag.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dancesearch.annotate.taxonomy import TagAssignment, Tagset, Taxonomy
from dancesearch.errors import SourceError


@dataclass(frozen=True)
class ExpertRow:
    """One row of an expert file: tags to set and to remove on a clip or a whole sequence."""

    clip_id: str | None  # exactly one of clip_id and seq_id is set
    seq_id: str | None
    add: tuple[str, ...]
    remove: tuple[str, ...]
    annotator: str
    where: str  # "<file> line 3" (CSV) or "<file> entry 2" (JSON), for messages and evidence


def _tag_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [t.strip() for t in value.split("|") if t.strip()]
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return [t.strip() for t in value if t.strip()]
    raise ValueError("tags must be a list of strings (JSON) or '|'-separated text (CSV)")


def _tag_id(text: str, taxonomy: Taxonomy) -> str:
    """A taxonomy tag id; genre tags may name new genres (normalised like source labels)."""
    if text.startswith("genre.") and text != "genre.":
        return taxonomy.genre_tag(text.removeprefix("genre.")).id
    if text not in taxonomy.tags:
        raise ValueError(f"unknown tag {text!r} (taxonomy {taxonomy.version})")
    return text


def _row(record: dict[str, Any], annotator: str, where: str, taxonomy: Taxonomy) -> ExpertRow:
    clip_id = str(record.get("clip_id") or "").strip() or None
    seq_id = str(record.get("seq_id") or "").strip() or None
    if (clip_id is None) == (seq_id is None):
        raise ValueError("give exactly one of clip_id and seq_id")
    if "tags" not in record:
        raise ValueError("no 'tags'")
    add, remove = [], []
    for text in _tag_list(record["tags"]):
        if text.startswith("-"):
            remove.append(_tag_id(text[1:], taxonomy))
        else:
            add.append(_tag_id(text, taxonomy))
    if not add and not remove:
        raise ValueError("no tags")
    for facet in {t.split(".")[0] for t in add}:
        same = sorted(t for t in add if t.split(".")[0] == facet)
        if len(same) > 1 and taxonomy.facet(facet).exclusive:
            raise ValueError(f"{', '.join(same)} are in the exclusive facet {facet!r}")
    name = str(record.get("annotator") or "").strip() or annotator
    return ExpertRow(clip_id, seq_id, tuple(add), tuple(remove), name, where)


def _records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) pairs: CSV rows by line number, JSON objects by position from 1."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SourceError(path, f"cannot read: {e}") from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        columns = set(reader.fieldnames or [])
        if "tags" not in columns or not columns & {"clip_id", "seq_id"}:
            raise SourceError(path, "needs a 'tags' column and a 'clip_id' or 'seq_id' column")
        out = []
        for record in reader:
            if any((v or "").strip() for v in record.values() if isinstance(v, str)):
                out.append((f"line {reader.line_num}", dict(record)))
        return out
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SourceError(path, f"not valid JSON: {e}") from None
        if not isinstance(data, list):
            raise SourceError(path, "expected a list of objects")
        for i, record in enumerate(data, 1):
            if not isinstance(record, dict):
                raise SourceError(path, f"entry {i}: expected an object")
        return [(f"entry {i}", record) for i, record in enumerate(data, 1)]
    raise SourceError(path, "expert annotations must be a .csv or .json file")


def load_expert(path: Path, taxonomy: Taxonomy) -> list[ExpertRow]:
    """Read and check an expert file; the first bad row raises SourceError naming file and row."""
    path = Path(path)
    rows = []
    for where, record in _records(path):
        try:
            rows.append(_row(record, path.name, f"{path.name} {where}", taxonomy))
        except ValueError as e:
            raise SourceError(path, f"{where}: {e}") from None
    return rows


def _set(tagset: Tagset, tag_id: str, row: ExpertRow, taxonomy: Taxonomy) -> int:
    """Set an expert tag, dropping the other tags of an exclusive facet; returns changes."""
    facet = tag_id.split(".")[0]
    changes = 0
    if taxonomy.facet(facet).exclusive:
        for other in [t for t in tagset.tags if t.split(".")[0] == facet and t != tag_id]:
            del tagset.tags[other]
            changes += 1
    new = TagAssignment(tag_id, "expert", evidence=row.where, annotator=row.annotator)
    if tagset.tags.get(tag_id) != new:
        tagset.tags[tag_id] = new
        changes += 1
    return changes


def apply_expert(
    tagsets: dict[str, Tagset],
    rows: list[ExpertRow],
    clip_seq: dict[str, str],
    taxonomy: Taxonomy,
    only: Collection[str] | None = None,
) -> tuple[int, list[str]]:
    """Apply expert rows to the clips' tagsets in place; returns (tag changes, warnings).

    Per-sequence rows go first and reach every clip of the sequence; per-clip rows then
    override them, each kind in file order. A change is one tag set, altered or removed.
    Rows naming clips or sequences that the catalogue (clip_seq) lacks become warnings.
    only: the clips to change (an incremental run's new ones); None: every clip.
    """
    seq_clips: dict[str, list[str]] = defaultdict(list)
    for clip_id, seq_id in sorted(clip_seq.items()):
        seq_clips[seq_id].append(clip_id)
    changes, warnings = 0, []
    for row in sorted(rows, key=lambda r: r.clip_id is not None):  # stable: sequences first
        if row.clip_id is not None:
            targets = [row.clip_id] if row.clip_id in clip_seq else []
            missing = f"unknown clip {row.clip_id!r}"
        else:
            targets = seq_clips.get(row.seq_id or "", [])
            missing = f"unknown sequence {row.seq_id!r} (or it has no clips)"
        if not targets:
            warnings.append(f"{row.where}: {missing}, row skipped")
            continue
        for clip_id in targets if only is None else [c for c in targets if c in only]:
            tagset = tagsets.setdefault(clip_id, Tagset(clip_id))
            for tag_id in row.remove:
                if tagset.tags.pop(tag_id, None) is not None:
                    changes += 1
            for tag_id in row.add:
                changes += _set(tagset, tag_id, row, taxonomy)
    return changes, warnings
