"""`library show`: one clip's labels, tags with evidence, captions, units, split, credit."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from dancesearch.annotate.pipeline import annotations_current
from dancesearch.storage.library import Library


def _rows(frame: pd.DataFrame, clip_id: str) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    rows = frame[frame["clip_id"] == clip_id].drop(columns="clip_id").to_dict(orient="records")
    return [{str(k): v for k, v in row.items()} for row in rows]


def clip_details(library: Library, clip_id: str) -> dict[str, Any]:
    """A plain dict of everything the library knows about a clip."""
    clip = library.clip(clip_id)
    seqs = library.table("sequences")
    seq = seqs[seqs["seq_id"] == clip["seq_id"]].iloc[0]
    splits = library.table("splits")
    split = list(splits.loc[splits["seq_id"] == clip["seq_id"], "split"]) if len(splits) else []
    meta = library.read_json("annotation")
    return {
        "clip_id": clip_id,
        "sequence": clip["seq_id"],
        "source": clip["source"],
        "genre": clip["genre"] if isinstance(clip["genre"], str) else None,
        "performer": clip["performer"] if isinstance(clip["performer"], str) else None,
        "labels": json.loads(clip["labels"]),
        "start_s": float(clip["start_s"]),
        "duration_s": float(clip["duration_s"]),
        "music": clip["music_path"] if clip["has_music"] else None,
        "music_start_s": clip["music_start_s"] if clip["has_music"] else None,
        "bpm": clip["bpm"] if clip["has_music"] else None,
        "split": split[0] if split else None,
        "annotated": bool(meta),
        "annotations_current": annotations_current(library) if meta else False,
        "taxonomy_version": meta.get("taxonomy_version"),
        "tags": _rows(library.table("tags"), clip_id),
        "captions": _rows(library.table("captions"), clip_id),
        "choreography": _rows(library.table("choreography"), clip_id),
        "path": seq["path"],
        "joint_quality": json.loads(seq["joint_quality"]),
        "licence": clip["licence"],
        "credit": clip["credit"],
    }


def format_details(d: dict[str, Any]) -> str:
    """Human-readable text of clip_details."""
    end = d["start_s"] + d["duration_s"]
    lines = [
        f"{d['clip_id']}",
        f"  {d['source']} | genre: {d['genre'] or '-'} | performer: {d['performer'] or '-'}"
        f" | split: {d['split'] or '-'}",
        f"  {d['start_s']:.1f}-{end:.1f} s of {d['sequence']} ({d['duration_s']:.1f} s)",
    ]
    if d["music"]:
        lines.append(f"  music: {d['music']} from {d['music_start_s']:.2f} s, {d['bpm']:.0f} BPM")
    else:
        lines.append("  music: none (silent source)")
    labels = ", ".join(f"{k}={v}" for k, v in d["labels"].items())
    lines.append(f"  labels: {labels or '-'}")
    if not d["annotated"]:
        lines.append("  not annotated yet: run `dancesearch annotate`")
    elif not d["annotations_current"]:
        lines.append("  note: annotations predate the last ingest; re-run `dancesearch annotate`")
    if d["tags"]:
        lines.append(f"  tags (taxonomy {d['taxonomy_version']}):")
        for t in sorted(d["tags"], key=lambda t: t["tag"]):
            if t["evidence"] is not None and pd.notna(t["evidence"]):
                why = f"evidence {t['evidence']:.3g}"
            else:
                why = t["label"] or ""
            who = f" by {t['annotator']}" if t["annotator"] else ""
            lines.append(f"    {t['tag']:<22} {t['source']:<7} {why}{who}")
    if d["captions"]:
        lines.append("  captions:")
        lines += [f"    [{c['type']}, {c['source']}] {c['caption']}" for c in d["captions"]]
    if d["choreography"]:
        units = ", ".join(
            f"{u['unit']} ({u['start_s']:.1f}-{u['end_s']:.1f} s)" for u in d["choreography"]
        )
        lines.append(f"  choreography units: {units}")
    quality = pd.Series(d["joint_quality"]).value_counts().to_dict()
    lines.append(f"  joints: {', '.join(f'{n} {q}' for q, n in quality.items())}")
    lines.append(f"  file: {d['path']}")
    lines.append(f"  licence: {d['licence']}")
    lines.append(f"  credit: {d['credit']}")
    return "\n".join(lines)
