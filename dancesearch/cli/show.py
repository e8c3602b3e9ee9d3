"""`library show`: one clip's labels, tags with evidence, captions, units, split, credit, as
text (the details themselves are read by dancesearch.catalogue.clip_details)."""

from __future__ import annotations

from typing import Any

import pandas as pd


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
        bpm = f", {d['bpm']:.0f} BPM" if d["bpm"] is not None else ""
        lines.append(f"  music: {d['music']} from {d['music_start_s']:.2f} s{bpm}")
    else:
        lines.append("  music: none (silent source)")
    labels = ", ".join(f"{k}={v}" for k, v in d["labels"].items())
    lines.append(f"  labels: {labels or '-'}")
    if not d["annotated"]:
        lines.append("  not annotated yet: run `dancesearch annotate`")
    elif not d["annotations_current"]:
        lines.append("  note: annotations are out of date; re-run `dancesearch annotate`")
    if d["tags"]:
        lines.append(f"  tags (taxonomy {d['taxonomy_version']}):")
        for t in sorted(d["tags"], key=lambda t: t["tag"]):
            evidence = t["evidence"]
            why = f"evidence {evidence:.3g}" if evidence is not None else t["label"] or ""
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
