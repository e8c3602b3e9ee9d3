"""Benchmark and report: annotate the whole sample library; median time of repeated runs.

Ingests ../shared/data into a fresh library, runs the annotate flow --runs times, and writes
benchmarks/results/annotate.json and annotate.md: timing, tag frequencies (with the tags outside
2-80 % of their eligible clips flagged), the split x genre table and sample captions.

    .venv/bin/python benchmarks/annotate.py [--data ../shared/data] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pandas as pd  # noqa: E402

from dancesearch.annotate.pipeline import tag_frequencies  # noqa: E402
from dancesearch.annotate.splits import split_table  # noqa: E402
from dancesearch.flows.annotate import annotate  # noqa: E402
from dancesearch.flows.ingest import ingest  # noqa: E402
from dancesearch.storage.library import Library  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# Why a tag may fall outside 2-80 % of its eligible clips on ../shared/data (checked by hand).
REASONS = {
    "space.backward": "genuinely rare: only Bandai's walk-back takes travel backwards, and "
    "walk-back_normal (1.03 s) is shorter than the 2-s minimum clip",
    "genre.tango": "a source label, not a measurement: DANCE_T_5 is the only complete tango "
    "sequence in m2d (see its README)",
}


def sample_captions(lib: Library, per_group: int = 3, total: int = 24) -> pd.DataFrame:
    """A deterministic spread of template and human captions over sources and genres."""
    captions = lib.table("captions").rename(columns={"source": "by"})
    clips = lib.clips()[["clip_id", "source", "genre"]]
    merged = captions.merge(clips, on="clip_id").fillna({"genre": "-"})
    shuffled = merged.sample(frac=1.0, random_state=0)
    picks = shuffled.groupby(["source", "genre"]).head(per_group).sort_values(["source", "genre"])
    return picks.head(total)[["clip_id", "source", "genre", "type", "by", "caption"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        lib_root = Path(tmp) / "lib"
        ingest(str(args.data), library=str(lib_root), progress=False)
        walls = []
        for i in range(args.runs):
            t = time.perf_counter()
            report = annotate(str(lib_root))
            walls.append(time.perf_counter() - t)
            print(f"run {i + 1}: {walls[-1]:.1f} s ({report.clips} clips)")
        lib = Library(lib_root)
        freq = tag_frequencies(lib)
        table = split_table(lib.clips(), lib.table("splits"))
        samples = sample_captions(lib)
        splits = lib.table("splits").merge(lib.table("sequences")[["seq_id", "duration_s"]])
        minutes = (splits.groupby("split")["duration_s"].sum() / 60).round(2).to_dict()

    flagged = freq[(freq["share_eligible"] > 0.8) | (freq["share_eligible"] < 0.02)]
    result = {
        "what": "dancesearch annotate flow over the library ingested from ../shared/data",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "clips": report.clips,
        "tags": report.tags,
        "captions": report.captions,
        "median_wall_s": statistics.median(walls),
        "runs_wall_s": walls,
        "split_minutes": minutes,
        "split_problems": report.split_problems,
        "tags_outside_2_to_80_percent": flagged["tag"].tolist(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "annotate.json").write_text(json.dumps(result, indent=2))
    md = [
        "# Annotation of the sample library",
        "",
        f"{report.clips} clips, {report.tags} tags, {report.captions} captions; annotate flow "
        f"median {result['median_wall_s']:.1f} s over {args.runs} runs ({result['machine']}).",
        "",
        "## Tag frequencies",
        "",
        freq.round(3).to_markdown(index=False),
        "",
        "Tags outside 2-80 % of their eligible clips:",
        "",
        *[f"- `{t}`: {REASONS.get(t, 'NO REASON RECORDED')}" for t in flagged["tag"]],
        "",
        f"## Split (clips; minutes {minutes})",
        "",
        table.to_markdown(),
        "",
        *[f"- note: {p}" for p in report.split_problems],
        "",
        "## Sample captions",
        "",
        samples.to_markdown(index=False),
        "",
    ]
    (args.out / "annotate.md").write_text("\n".join(md))
    flags = result["tags_outside_2_to_80_percent"]
    print(f"median {result['median_wall_s']:.1f} s; tags outside 2-80 %: {flags}")


if __name__ == "__main__":
    main()
