"""Benchmark: ingest all of ../shared/data with the Prefect flow; median of repeated runs.

Each timed run writes a fresh library, so every item is computed (no cache, no skipping).
A warm-up run on one m2d dance first pays the one-off costs: Prefect's ephemeral server start
and librosa's JIT compilation. Results go to benchmarks/results/ingest.json.

    .venv/bin/python benchmarks/ingest.py [--data ../shared/data] [--runs 3]
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

from dancesearch.flows.ingest import ingest  # noqa: E402
from dancesearch.storage.library import Library  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ingest.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        (warm / "DANCE_W_24").symlink_to(args.data.resolve() / "m2d" / "DANCE_W_24")
        t = time.perf_counter()
        ingest(str(warm), fmt="m2d", library=str(Path(tmp) / "warm-lib"), progress=False)
        warmup_s = time.perf_counter() - t

        runs = []
        for i in range(args.runs):
            lib = Path(tmp) / f"lib-{i}"
            t = time.perf_counter()
            summary = ingest(str(args.data), library=str(lib), progress=False)
            wall = time.perf_counter() - t
            seqs = Library(lib).table("sequences")
            motion_s = float(seqs["duration_s"].sum())
            runs.append(
                {
                    "wall_s": wall,
                    "sequences": summary.sequences,
                    "clips": summary.clips,
                    "clip_minutes": summary.minutes,
                    "motion_minutes": motion_s / 60,
                    "x_real_time": motion_s / wall,
                    "skipped": summary.skipped,
                }
            )
            print(f"run {i + 1}: {wall:.1f} s, {motion_s / wall:.0f}x real time")

    result = {
        "what": "dancesearch ingest flow over all of ../shared/data, fresh library per run",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "warmup_s": warmup_s,
        "median_wall_s": statistics.median(r["wall_s"] for r in runs),
        "median_x_real_time": statistics.median(r["x_real_time"] for r in runs),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    last = runs[-1]
    print(
        f"{last['sequences']} sequences, {last['clips']} clips, "
        f"{last['motion_minutes']:.1f} min of motion ({last['clip_minutes']:.1f} min in clips); "
        f"median {result['median_wall_s']:.1f} s = {result['median_x_real_time']:.0f}x real time "
        f"(warm-up {warmup_s:.1f} s)"
    )


if __name__ == "__main__":
    main()
