"""Benchmark: do the automatic tags agree with what people labelled?

Reads benchmarks/tag_agreement.toml (source labels -> tags they imply or exclude; the tagger
never reads it), annotates a library and reports, per mapping: clips, recall of the implied tags,
false-positive rate on the clips whose labels exclude them, and the tags the missed clips got
instead; per order: how often the intensity levels rise as the labels say; per dance: the share
of m2d clips whose tempo lies inside the dance-sport range.

    .venv/bin/python benchmarks/tag_agreement.py [--library DIR] [--data ../shared/data]

Without --library the shared data are ingested into a fresh library first. Only automatic tags
count (experts and labels are not measurements). Results: benchmarks/results/tag_agreement.json
and tag_agreement.md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dancesearch.annotate.pipeline import annotate_library  # noqa: E402
from dancesearch.annotate.taxonomy import load_taxonomy  # noqa: E402
from dancesearch.storage.library import Library  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = Path(__file__).with_name("tag_agreement.toml")
RESULTS = ROOT / "benchmarks" / "results"
MIN_CLIPS = 3  # mappings with fewer implied clips are reported but not held to the targets
TARGET_RECALL, TARGET_FPR, TARGET_TEMPO = 0.8, 0.2, 0.9


def load_mappings(path: Path = MAPPINGS) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def clip_table(library: Library) -> pd.DataFrame:
    """One row per clip: source, genre, every label as a column, the auto tags, bpm."""
    clips = library.clips()
    labels = pd.DataFrame([json.loads(x) for x in clips["labels"]], index=clips.index)
    labels = labels.drop(columns=[c for c in labels.columns if c in clips.columns])
    frame = pd.concat([clips[["clip_id", "source", "genre"]], labels], axis=1)
    tags = library.table("tags")
    auto = tags[tags["source"] == "auto"].groupby("clip_id")["tag"].apply(frozenset)
    frame["tags"] = [auto.get(c, frozenset()) for c in frame["clip_id"]]
    descriptors = library.table("descriptors").set_index("clip_id")
    for name in descriptors.columns:
        frame[name] = descriptors[name].reindex(frame["clip_id"]).to_numpy()
    return frame


def select(frame: pd.DataFrame, selector: Mapping[str, Any] | list[Mapping[str, Any]]) -> pd.Series:
    """Boolean mask of the clips a selector (or any of a list of selectors) matches."""
    if isinstance(selector, list):
        masks = [select(frame, s) for s in selector]
        return pd.concat(masks, axis=1).any(axis=1)
    mask = pd.Series(True, index=frame.index)
    for key, wanted in selector.items():
        negate = key.startswith("not_")
        column = key.removeprefix("not_")
        values = wanted if isinstance(wanted, list) else [wanted]
        hit = frame[column].isin(values) if column in frame else pd.Series(False, frame.index)
        mask &= ~hit if negate else hit
    return mask


def _has_any(tags: pd.Series, wanted: list[str]) -> pd.Series:
    return tags.apply(lambda ts: bool(ts & set(wanted)))


def evaluate_mapping(frame: pd.DataFrame, mapping: Mapping[str, Any], facets: set[str]) -> dict:
    tags = list(mapping["tags"])
    exclude_tags = list(mapping.get("exclude_tags", tags))
    implied = frame[select(frame, mapping["implied"])]
    excluded = frame[select(frame, mapping["excluded"])]
    hits = _has_any(implied["tags"], tags)
    false = _has_any(excluded["tags"], exclude_tags)
    instead: Counter[str] = Counter()
    for ts in implied.loc[~hits, "tags"]:
        instead.update(t for t in ts if t.split(".")[0] in facets)
    return {
        "name": mapping["name"],
        "tags": tags,
        "exclude_tags": exclude_tags,
        "clips": len(implied),
        "recall": float(hits.mean()) if len(implied) else float("nan"),
        "excluded_clips": len(excluded),
        "fpr": float(false.mean()) if len(excluded) else float("nan"),
        "missed": sorted(implied.loc[~hits, "clip_id"]),
        "false_positives": sorted(excluded.loc[false, "clip_id"]),
        "instead": ", ".join(f"{t} {n}" for t, n in instead.most_common(4)),
    }


def evaluate_order(frame: pd.DataFrame, order: Mapping[str, Any]) -> dict:
    """Per group (e.g. style): do the tag levels rise along the sequence (e.g. walk, run, dash),
    and does the facet's descriptor rise strictly? A step may list several labels (their mean).
    """
    levels = {t: i for i, t in enumerate(order["levels"])}
    rows = frame[select(frame, order["clips"])]
    descriptor = order["descriptor"]
    checked, rising, strictly, detail = 0, 0, 0, []
    for group, sub in rows.groupby(order["group_by"]):
        steps = []
        for step in order["sequence"]:
            keys = step if isinstance(step, list) else [step]
            hit = sub[sub[order["key"]].isin(keys)]
            if len(hit):
                level = [
                    max((levels[t] for t in ts if t in levels), default=-1) for ts in hit["tags"]
                ]
                steps.append((float(np.mean(level)), float(hit[descriptor].mean())))
        if len(steps) < 2:
            continue
        checked += 1
        pairs = list(zip(steps, steps[1:], strict=False))
        rising += all(a[0] <= b[0] for a, b in pairs)
        strictly += all(a[1] < b[1] for a, b in pairs)
        detail.append(f"{group}: " + " < ".join(f"{d:.2f} ({lv:.1f})" for lv, d in steps))
    return {
        "name": order["name"],
        "descriptor": descriptor,
        "groups": checked,
        "share_rising": rising / checked if checked else float("nan"),
        "share_descriptor_rising": strictly / checked if checked else float("nan"),
        "detail": detail,
    }


def evaluate_tempo(frame: pd.DataFrame, tempo: Mapping[str, Any]) -> dict:
    bpm = frame.loc[frame["genre"] == tempo["genre"], "bpm"].astype(float)
    lo, hi = tempo["bpm"]
    inside = bpm.between(lo, hi)
    tol = float(tempo.get("tolerance", 0.0))
    near = bpm.between(lo * (1 - tol), hi * (1 + tol))
    median = float(bpm.median()) if len(bpm) else float("nan")
    return {
        "genre": tempo["genre"],
        "range": [lo, hi],
        "source": tempo["source"],
        "clips": len(bpm),
        "inside": float(inside.mean()) if len(bpm) else float("nan"),
        "tolerance": tol,
        "inside_tolerance": float(near.mean()) if len(bpm) else float("nan"),
        "median_bpm": median,
        "over_1_3x_median": float((bpm > 1.3 * median).mean()) if len(bpm) else float("nan"),
        "distinct": int(bpm.round(2).nunique()),
    }


def agreement(library: Library, mappings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every mapping, order and tempo check of the mappings file on an annotated library."""
    mappings = mappings or load_mappings()
    frame = clip_table(library)
    taxonomy = load_taxonomy()
    facets = {f.id for f in taxonomy.facets}
    return {
        "taxonomy_version": library.read_json("annotation").get("taxonomy_version"),
        "clips": len(frame),
        "mappings": [evaluate_mapping(frame, m, facets) for m in mappings.get("mapping", [])],
        "orders": [evaluate_order(frame, o) for o in mappings.get("order", [])],
        "tempo": [evaluate_tempo(frame, t) for t in mappings.get("tempo", [])],
    }


def verdict(row: dict) -> str:
    if row["clips"] < MIN_CLIPS:
        return f"(< {MIN_CLIPS} clips)"
    ok = row["recall"] >= TARGET_RECALL and not row["fpr"] > TARGET_FPR
    return "ok" if ok else "MISS"


def markdown(
    result: dict[str, Any],
    notes: Mapping[str, str] | None = None,
    tempo_notes: Mapping[str, str] | None = None,
) -> str:
    notes, tempo_notes = notes or {}, tempo_notes or {}
    lines = [
        "# Tag agreement with the sources' own labels",
        "",
        f"Taxonomy {result['taxonomy_version']}, {result['clips']} clips, automatic tags only. "
        f"Targets: recall >= {TARGET_RECALL}, false-positive rate <= {TARGET_FPR} for every "
        f"mapping with >= {MIN_CLIPS} clips; >= {TARGET_TEMPO:.0%} of each dance's clips inside "
        "its tempo range. Mappings: benchmarks/tag_agreement.toml.",
        "",
        "| mapping | tags | clips | recall | excluded clips | FP rate | verdict "
        "| missed clips got |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["mappings"]:
        lines.append(
            f"| {r['name']} | {' / '.join(r['tags'])} | {r['clips']} | {r['recall']:.2f} | "
            f"{r['excluded_clips']} | {r['fpr']:.2f} | {verdict(r)} | {r['instead'] or '-'} |"
        )
    lines += [
        "",
        "| order | groups | tag level rises | descriptor rises strictly | per group: "
        "descriptor (mean level) |",
        "|---|---|---|---|---|",
    ]
    for o in result["orders"]:
        lines.append(
            f"| {o['name']} | {o['groups']} | {o['share_rising']:.2f} | "
            f"{o['share_descriptor_rising']:.2f} ({o['descriptor']}) | {'; '.join(o['detail'])} |"
        )
    lines += [
        "",
        "| dance | range (BPM) | clips | inside | inside, range +-tolerance | median BPM "
        "| > 1.3x median | distinct | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in result["tempo"]:
        lines.append(
            f"| {t['genre']} | {t['range'][0]:g}-{t['range'][1]:g} | {t['clips']} | "
            f"{t['inside']:.2f} | {t['inside_tolerance']:.2f} (+-{t['tolerance']:.0%}) | "
            f"{t['median_bpm']:.1f} | {t['over_1_3x_median']:.2f} | "
            f"{t['distinct']} | {t['source']} |"
        )
    lines += [""] + [f"- **{g}**: {text}" for g, text in tempo_notes.items()]
    explained = [r for r in result["mappings"] if verdict(r) == "MISS" or r["name"] in notes]
    if explained:
        lines += ["", "## Mappings that miss (or have too few clips), and why", ""]
        for r in explained:
            lines.append(f"- **{r['name']}** ({verdict(r)}): ")
            lines.append(f"  {notes.get(r['name'], 'no reason recorded')}")
            lines.append(f"  Missed: {', '.join(r['missed']) or '-'}.")
            lines.append(f"  False positives: {', '.join(r['false_positives']) or '-'}.")
    return "\n".join(lines) + "\n"


def ingest_shared(data: Path) -> Library:
    from dancesearch.flows.ingest import ingest

    root = Path(tempfile.mkdtemp(prefix="dancesearch-agreement-")) / "lib"
    ingest(str(data), library=str(root), progress=False)
    return Library(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", type=Path, help="an ingested library (else ingest --data)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--no-annotate", action="store_true", help="use the stored annotations")
    parser.add_argument("--name", default="tag_agreement", help="results file name")
    args = parser.parse_args()
    library = Library(args.library) if args.library else ingest_shared(args.data)
    if not args.no_annotate:
        annotate_library(library)
    result = agreement(library)
    mappings = load_mappings()
    text = markdown(result, mappings.get("notes"), mappings.get("tempo_notes"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
