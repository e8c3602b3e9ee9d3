"""Benchmark: every registered configuration trained and evaluated on the real library.

    .venv/bin/python benchmarks/retrieval.py [--library DIR] [--data ../shared/data]
        [--seeds 0 1 2] [--folds 5] [--workers 2] [--only NAME ...] [--cv NAME ...]

1. The fixed split: each preset at each seed, trained on train, selected on val, evaluated on
   the full test gallery (every test caption a query).
2. k-fold cross-validation over whole sequence groups (--cv-seeds) for the --cv presets, so a
   comparison rests on every clip; per-fold paired differences against customdancer-paper.
Each finished run is appended to results/retrieval_runs.jsonl and skipped when the benchmark
is run again with the same library and configuration. Writes results/retrieval.md, .json, .png.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAPER, DEFAULT, PROBE = "customdancer-paper", "default", "linear-probe"
METRICS = ("R@1", "R@5", "R@10", "MedR", "MnR")

_WORKER: dict[str, Any] = {}


def _init(library: str) -> None:
    import torch

    torch.set_num_threads(1)
    from dancesearch.dataset import load_clipset
    from dancesearch.encoders.text import minilm_cache
    from dancesearch.storage.library import Library

    lib = Library(library)
    _WORKER.update(library=lib, splits=lib.table("splits"), clips=lib.clips())
    _WORKER["minilm"] = minilm_cache()
    _WORKER["load"] = load_clipset


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one preset at one seed on one split (fixed, or a CV fold) and evaluate on test."""
    from dancesearch.dataset import cv_folds
    from dancesearch.encoders.registry import preset
    from dancesearch.encoders.text import text_cache
    from dancesearch.evaluation.offline import evaluate_clips
    from dancesearch.train import train

    lib = _WORKER["library"]
    config = preset(job["name"])
    config = replace(config, train=replace(config.train, seed=job["seed"], threads=1))
    split_of = None
    if job["fold"] is not None:
        folds = cv_folds(_WORKER["clips"], _WORKER["splits"], k=job["folds"], seed=0)
        split_of = folds[job["fold"]]
    result = train(lib, config, out=None, split_of=split_of, progress=False)
    data = _WORKER["load"](lib, split_of)
    ckpt = result.checkpoint
    report = evaluate_clips(
        ckpt.model(), ckpt.norm, data, _WORKER["minilm"], text_cache(config), "test"
    )
    embed_s = None
    if job["name"] == DEFAULT and job["fold"] is None:  # the whole library, median of 3
        from dancesearch.encoders.inference import embed_gallery

        model, times = ckpt.model(), []
        for _ in range(3):
            t0 = time.perf_counter()
            embed_gallery(model, data, ckpt.norm)
            times.append(time.perf_counter() - t0)
        embed_s = float(np.median(times))
    return {
        **job,
        "embed_library_s": embed_s,
        "library_clips": len(data),
        "seconds": result.seconds,
        "best_step": result.best_step,
        "test_clips": report.clips,
        "model": report.model,
        "caption_matching": report.caption_matching,
        "rule_tags": report.rule_tags,
    }


def ingest_shared(data: Path, root: Path) -> Path:
    from dancesearch.flows.annotate import annotate
    from dancesearch.flows.ingest import ingest

    ingest(str(data), library=str(root), progress=False)
    annotate(library=str(root))
    return root


def job_id(job: dict[str, Any]) -> str:
    return f"{job['name']}|seed={job['seed']}|fold={job['fold']}|{job['config_key']}"


def main() -> None:
    from dancesearch.encoders.registry import PRESETS, preset
    from dancesearch.storage.library import Library

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", type=Path, help="an annotated library (else ingest --data)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", nargs="+", default=list(PRESETS), help="presets (fixed split)")
    parser.add_argument("--cv", nargs="*", default=[PAPER, DEFAULT, PROBE])
    parser.add_argument("--cv-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    library = args.library or ingest_shared(args.data, Path(tempfile.mkdtemp()) / "lib")
    uid = Library(library).uid
    args.out.mkdir(parents=True, exist_ok=True)
    runs_path = args.out / "retrieval_runs.jsonl"
    done = {}
    if runs_path.exists():
        for line in runs_path.read_text().splitlines():
            run = json.loads(line)
            if run.get("library_uid") == uid:
                done[job_id(run)] = run
    # cross-validation first: the comparison the default must win rests on it
    jobs = [
        {"name": n, "seed": s, "fold": f, "folds": args.folds}
        for s in args.cv_seeds
        for f in range(args.folds)
        for n in args.cv
    ] + [
        {"name": n, "seed": s, "fold": None, "folds": args.folds}
        for s in args.seeds
        for n in args.only
    ]
    for job in jobs:
        job["config_key"] = preset(job["name"]).key()
    todo = [j for j in jobs if job_id(j) not in done]
    print(f"{len(jobs)} runs, {len(jobs) - len(todo)} already done; library {library}", flush=True)
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(str(library),)) as pool:
        for run in pool.map(run_job, todo):
            run["library_uid"] = uid
            done[job_id(run)] = run
            with open(runs_path, "a") as fh:
                fh.write(json.dumps(run) + "\n")
            print(
                f"{run['name']:20s} seed {run['seed']} fold {run['fold']}: "
                f"R@1 {run['model']['full']['R@1']:.1f} MnR {run['model']['full']['MnR']:.1f} "
                f"({run['seconds']:.0f} s) [{time.perf_counter() - started:.0f} s]",
                flush=True,
            )
    runs = [done[job_id(j)] for j in jobs]
    from benchmarks.retrieval_report import write_report

    write_report(runs, args, args.out, time.perf_counter() - started)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
