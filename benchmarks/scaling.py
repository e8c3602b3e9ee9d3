"""Benchmark: the per-clip costs that size dancesearch at scale -- ingest, annotate and embed
seconds per clip, bytes per clip in the library and in Qdrant, and search latency and process
memory against collection size. docs/scaling.md extrapolates from these numbers.

    NUMBA_CACHE_DIR=/tmp/numba-scaling .venv/bin/python benchmarks/scaling.py
        [--library /work/lib/q] [--data ../shared/data] [--repeats 3]
        [--sizes 1000 10000 50000 200000] [--hnsw 50000:16:100 100000:16:100 50000:32:256]
        [--calls 60] [--out benchmarks/results/scaling] [--report-only]

Works on copies in a temporary folder; the library given is only read. Ingest: a spread of
items of each source into fresh libraries, one item at a time on one thread (`process_item`,
as a flow task runs it), wall and CPU seconds. Annotate and embed: on a copy of the built
library, embed into an empty Qdrant folder so every clip is encoded. Sizes: the collection's
real points grown with synthetic ones as benchmarks/query.py grows them, built into Qdrant
Edge; at each size the search alone (query vectors encoded beforehand), the shard's bytes,
and the memory of a separate process that opens the shard and searches it. Every timed part
records the 1-minute load average: the machine's cores are shared with other work. About
12 min on two idle cores, 18 when other work shares them (most of it HNSW index builds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/numba-scaling")
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# items per source for the ingest timing, spread over each source's sorted items
INGEST_ITEMS = {"m2d": 8, "bandai": 14, "g1": 8, "cmu": 2}


def load() -> float:
    return round(os.getloadavg()[0], 2)


def clock() -> tuple[float, float]:
    """(wall, CPU of this process in all its threads), seconds."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = clock()
    return {"wall_s": wall - start[0], "cpu_s": cpu - start[1]}


def median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def spread(items: list[Any], k: int) -> list[Any]:
    """k items evenly spaced over the list (all of them when it is shorter)."""
    picks = np.unique(np.linspace(0, len(items) - 1, min(k, len(items))).round().astype(int))
    return [items[i] for i in picks]


# --- bytes ------------------------------------------------------------------------------------
def size(path: Path) -> dict[str, int]:
    """Apparent bytes and bytes allocated on disk (du) of a file or a folder."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    stats = [f.stat() for f in files]
    return {"bytes": sum(s.st_size for s in stats), "disk": sum(s.st_blocks * 512 for s in stats)}


def shard_parts(shard: Path) -> dict[str, dict[str, int]]:
    """A Qdrant Edge shard's bytes by component (vector_storage-dance, payload_index, wal, ...),
    summed over its segments."""
    out: dict[str, dict[str, int]] = {}
    for f in (p for p in shard.rglob("*") if p.is_file()):
        parts = f.relative_to(shard).parts
        name = parts[2] if parts[0] == "segments" and len(parts) > 3 else parts[0]
        s = f.stat()
        cur = out.setdefault(name, {"bytes": 0, "disk": 0})
        cur["bytes"] += s.st_size
        cur["disk"] += s.st_blocks * 512
    return dict(sorted(out.items()))


def library_bytes(root: Path, data: Path) -> dict[str, Any]:
    """The library's bytes by kind, its clips and minutes of motion, and the source files'
    bytes per source."""
    from dancesearch.storage.library import Library

    lib = Library(root)
    clips, seqs = lib.clips(), lib.table("sequences")
    kinds: dict[str, dict[str, int]] = {
        "tables": {"bytes": 0, "disk": 0},
        "annotations": size(root / "annotations"),
        "joints (motion/*.npy)": size(root / "motion"),
    }
    for name in ("clips", "sequences", "items"):
        for k, v in size(root / f"{name}.parquet").items():
            kinds["tables"][k] += v
    for f in (root / "features" / lib.feature_key()).glob("*.npz"):
        with zipfile.ZipFile(f) as z:  # np.savez: uncompressed members
            for member in z.infolist():
                kind = f"features: {member.filename.removesuffix('.npy')}"
                cur = kinds.setdefault(kind, {"bytes": 0, "disk": 0})
                cur["bytes"] += member.compress_size
                cur["disk"] += member.compress_size
    sources = {}
    for source, group in clips.groupby("source"):
        folder = data / str(source)
        sources[str(source)] = {
            "clips": len(group),
            "motion_min": float(seqs[seqs["source"] == source]["duration_s"].sum() / 60),
            "source_bytes": size(folder)["bytes"] if folder.is_dir() else None,
        }
    return {
        "clips": len(clips),
        "sequences": len(seqs),
        "motion_min": float(seqs["duration_s"].sum() / 60),
        "clip_min": float(clips["duration_s"].sum() / 60),
        "music_clips": int(clips["has_music"].sum()),
        "kinds": kinds,
        "models": size(root / "models"),
        "sources": sources,
    }


# --- ingest, annotate, embed ------------------------------------------------------------------
def bench_ingest(data: Path, tmp: Path, repeats: int) -> dict[str, Any]:
    """Per source, a spread of items through `process_item` one at a time into a fresh library
    per repeat, then one `commit`; wall and CPU seconds, clips and minutes of motion."""
    from dancesearch.ingest import IngestConfig, commit, input_hash, item_files, plan, process_item
    from dancesearch.storage.library import Library

    config = IngestConfig()
    chosen = {s: spread(plan(data / s)[0], k) for s, k in INGEST_ITEMS.items()}
    warm = Library(tmp / "ingest-warm", create=True)  # librosa's JIT, readers' imports: untimed
    for items in chosen.values():
        process_item(items[0][0], items[0][1], warm.root, config, "warm")
    shutil.rmtree(warm.root)
    runs = []
    for r in range(repeats):
        lib = Library(tmp / f"ingest-{r}", create=True)
        run: dict[str, Any] = {"load_1min": [load()], "sources": {}}
        results = []
        for source, items in chosen.items():
            row = {"items": len(items), "wall_s": 0.0, "cpu_s": 0.0, "clips": 0,
                   "music_clips": 0, "motion_s": 0.0, "clip_s": 0.0, "skipped": 0}  # fmt: skip
            for item, fmt in items:
                start = clock()
                result = process_item(item, fmt, lib.root, config, input_hash(item, fmt))
                for k, v in since(start).items():
                    row[k] += v
                results.append(result)
                row["skipped"] += result.status != "ok"
                row["clips"] += len(result.clips)
                row["music_clips"] += sum(bool(c["has_music"]) for c in result.clips)
                row["motion_s"] += sum(float(s["duration_s"]) for s in result.sequences)
                row["clip_s"] += sum(float(c["duration_s"]) for c in result.clips)
            run["sources"][source] = row
        start = clock()
        commit(lib, results, config)
        run["commit"] = since(start)
        run["load_1min"].append(load())
        runs.append(run)
        shutil.rmtree(lib.root)
        total = sum(x["wall_s"] for x in run["sources"].values())
        print(f"ingest run {r + 1}: {total:.1f} s, load {run['load_1min']}", flush=True)
    per: dict[str, Any] = {}
    for source, items in chosen.items():
        rows = [run["sources"][source] for run in runs]
        first = rows[0]
        per[source] = {
            "items": first["items"], "clips": first["clips"], "music_clips": first["music_clips"],
            "motion_min": first["motion_s"] / 60, "skipped": first["skipped"],
            "input_bytes": sum(f.stat().st_size for i, f_ in items for f in item_files(i, f_)),
            "wall_s_per_clip": median([x["wall_s"] / max(x["clips"], 1) for x in rows]),
            "cpu_s_per_clip": median([x["cpu_s"] / max(x["clips"], 1) for x in rows]),
            "wall_s_per_motion_min": median([x["wall_s"] / (x["motion_s"] / 60) for x in rows]),
            "cpu_s_per_motion_min": median([x["cpu_s"] / (x["motion_s"] / 60) for x in rows]),
        }  # fmt: skip
    clips = sum(p["clips"] for p in per.values())
    return {
        "items": {s: [str(i) for i, _ in items] for s, items in chosen.items()},
        "per_source": per,
        "all": {
            "clips": clips,
            "wall_s_per_clip": median(
                [sum(x["wall_s"] for x in run["sources"].values()) / clips for run in runs]
            ),
            "cpu_s_per_clip": median(
                [sum(x["cpu_s"] for x in run["sources"].values()) / clips for run in runs]
            ),
            "commit_wall_s": median([run["commit"]["wall_s"] for run in runs]),
        },
        "runs": runs,
    }


def bench_annotate(root: Path, repeats: int) -> dict[str, Any]:
    """The annotate pipeline on the library copy: descriptors per source (the per-clip part,
    run in parallel batches by the flow), then tags, captions, split and writing
    (`annotate_library`, over the whole library)."""
    import pandas as pd

    from dancesearch.annotate.pipeline import annotate_library, library_descriptors
    from dancesearch.annotate.recorded import recorded_config
    from dancesearch.storage.library import Library

    lib = Library(root)
    clips, key, config = lib.clips(), lib.feature_key(), recorded_config(lib)
    runs = []
    for r in range(repeats):
        run: dict[str, Any] = {"load_1min": [load()], "descriptors": {}}
        frames = []
        for source, group in clips.groupby("source", sort=True):
            start = clock()
            frames.append(library_descriptors(lib, group, key))
            run["descriptors"][str(source)] = {"clips": len(group), **since(start)}
        start = clock()
        annotate_library(lib, config, pd.concat(frames, ignore_index=True))
        run["rest"] = since(start)
        run["load_1min"].append(load())
        runs.append(run)
        print(f"annotate run {r + 1}: rest {run['rest']['wall_s']:.1f} s", flush=True)
    n = len(clips)
    desc = {
        s: {
            "clips": runs[0]["descriptors"][s]["clips"],
            **{
                f"{k}_per_clip": median([x["descriptors"][s][k] / x["descriptors"][s]["clips"]
                                         for x in runs])
                for k in ("wall_s", "cpu_s")
            },
        }
        for s in runs[0]["descriptors"]
    }  # fmt: skip
    return {
        "clips": n,
        "descriptors": desc,
        "descriptors_cpu_s_per_clip": median(
            [sum(d["cpu_s"] for d in x["descriptors"].values()) / n for x in runs]
        ),
        "rest_wall_s": median([x["rest"]["wall_s"] for x in runs]),
        "rest_cpu_s_per_clip": median([x["rest"]["cpu_s"] / n for x in runs]),
        "runs": runs,
    }


def bench_embed(root: Path, tmp: Path, repeats: int) -> dict[str, Any]:
    """`embed_library` into an empty Qdrant folder (every clip encoded), then its parts one by
    one: checkpoint, features (load_clipset), encoding (embed_gallery), payloads, and the
    upsert (with BM25 text vectors) + flush of the encoded points into a new collection."""
    import torch

    from benchmarks.query import build_store
    from dancesearch.catalogue import payloads
    from dancesearch.dataset import load_clipset
    from dancesearch.encoders.inference import embed_gallery, load_for
    from dancesearch.indexing.embed import embed_library
    from dancesearch.storage.library import Library
    from dancesearch.storage.open import open_store
    from dancesearch.storage.store import Point

    lib = Library(root)
    with open_store(None, lib) as store:
        name = store.current()
        info = store.info(name) if name else None
    if info is None:
        sys.exit(f"{root}: no current collection; run `dancesearch embed` first")
    folder = root / info.checkpoint
    runs = []
    for r in range(repeats):
        shutil.rmtree(root / "qdrant", ignore_errors=True)
        run: dict[str, Any] = {"load_1min": [load()]}
        start = clock()
        with open_store(None, lib) as store:
            summary = embed_library(lib, folder, store)
        run["embed_library"] = {**since(start), "embedded": summary.embedded}
        parts: dict[str, dict[str, float]] = {}
        start = clock()
        ckpt = load_for(lib, folder)
        model = ckpt.model()
        parts["checkpoint"] = since(start)
        start = clock()
        data = load_clipset(lib)
        parts["features"] = since(start)
        start = clock()
        vectors = embed_gallery(model, data, ckpt.norm).vectors.numpy()  # (N, E)
        parts["encode"] = since(start)
        start = clock()
        by_id = {str(p["clip_id"]): p for p in payloads(lib)}
        parts["payloads"] = since(start)
        points = [
            Point(c, v, by_id[c]) for c, v in zip(data.clips["clip_id"], vectors, strict=True)
        ]
        start = clock()
        upsert = replace(info, name=info.name + "-upsert")
        store, _ = build_store(None, tmp / f"upsert-{r}", root / "library.json", upsert, points)
        parts["upsert"] = since(start)
        shutil.rmtree(tmp / f"upsert-{r}")
        run["parts"], run["clips"] = parts, len(points)
        run["load_1min"].append(load())
        runs.append(run)
        print(
            f"embed run {r + 1}: {run['embed_library']['wall_s']:.1f} s for "
            f"{summary.embedded} clips, encode {parts['encode']['wall_s']:.1f} s",
            flush=True,
        )
    n = runs[0]["clips"]
    return {
        "clips": n,
        "torch_threads": torch.get_num_threads(),
        "embed_library_wall_s_per_clip": median(
            [x["embed_library"]["wall_s"] / x["embed_library"]["embedded"] for x in runs]
        ),
        "embed_library_cpu_s_per_clip": median(
            [x["embed_library"]["cpu_s"] / x["embed_library"]["embedded"] for x in runs]
        ),
        "parts_per_clip": {
            part: {k: median([x["parts"][part][k] / n for x in runs]) for k in ("wall_s", "cpu_s")}
            for part in runs[0]["parts"]
        },
        "runs": runs,
    }


def point_shape(root: Path) -> dict[str, Any]:
    """What one point holds: dense dims, payload JSON bytes, BM25 terms; and the real shard's
    bytes by component."""
    from benchmarks.query import real_points
    from dancesearch.storage.bm25 import text_vector

    info, real = real_points(root)
    payload = np.array([len(json.dumps(p.payload)) for p in real])
    terms = np.array([len(text_vector(str(p.payload.get("human_text") or ""))[0]) for p in real])
    shard = root / "qdrant" / info.name
    return {
        "collection": info.name,
        "points": len(real),
        "vector_size": info.vector_size,
        "payload_json_bytes": {"mean": float(payload.mean()), "median": float(np.median(payload)),
                               "max": int(payload.max())},
        "bm25_terms": {"mean": float(terms.mean()), "median": float(np.median(terms)),
                       "max": int(terms.max()), "zero": int((terms == 0).sum())},
        "shard": size(shard),
        "shard_parts": shard_parts(shard),
    }  # fmt: skip


# --- latency and memory against size ----------------------------------------------------------
CHILD = r"""
import json, sys, numpy as np, qdrant_edge as qe

def mem():
    out = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out

path, mode, queries = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
before = mem()
shard = qe.EdgeShard.load(path)
opened = mem()
params = qe.SearchParams(exact=True) if mode == "exact" else qe.SearchParams(hnsw_ef=128)
waltz = qe.Filter(must=[qe.FieldCondition("genre", match=qe.MatchValue("waltz"))])
for v in queries["dense"]:
    for f in (None, waltz):
        shard.query(qe.QueryRequest(limit=10, query=qe.Query.Nearest(v, using="dance"),
                                    filter=f, params=params, with_payload=True))
if queries["sparse"]:
    for idx, val in queries["sparse"]:
        shard.query(qe.QueryRequest(limit=10, with_payload=True,
                    query=qe.Query.Nearest(qe.SparseVector(idx, val), using="text")))
print(json.dumps({"before": before, "opened": opened, "searched": mem()}))
shard.close()
"""


def shard_memory(path: Path, mode: str, queries: Path) -> dict[str, Any]:
    """Memory of a fresh process that opens the shard and searches it (dense with and without
    a filter, and BM25 when the shard has text vectors): /proc/self/status before opening,
    after, and after searching; RssFile is the shard's mapped files, RssAnon the heap."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), mode, str(queries)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    m = json.loads(out.stdout.strip().splitlines()[-1])
    delta = {k: m["searched"][k] - m["before"][k] for k in ("VmRSS", "RssAnon", "RssFile")}
    return {**m, "delta": delta}


def floor(brute: Any, vector: np.ndarray, text: str) -> object:
    """numpy brute force, dense, no filter: what exact search costs at least."""
    return brute.search(vector, "none")


class CachedEncoder:
    """The query texts' vectors, encoded once: the timings below are the search alone."""

    def __init__(self, texts: tuple[str, ...], vectors: np.ndarray) -> None:
        self.vectors = {t: v for t, v in zip(texts, vectors, strict=True)}

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.vectors[texts[0]][None]  # (1, D)


def bench_sizes(root: Path, tmp: Path, args: Any) -> dict[str, Any]:
    """At each size: build the Edge collection (create, upsert with BM25 vectors, flush), its
    bytes, a searching process's memory, then search latency (dense and hybrid, three
    filters; numpy brute force for the floor) in interleaved rounds. Then HNSW at the
    --hnsw runs: benchmarks/query.py's recall and latency, with index bytes and memory."""
    from benchmarks.query import (
        LIMIT,
        TEXTS,
        NumpyIndex,
        bench_hnsw,
        build_store,
        export_text,
        filters,
        grow,
        real_points,
        run_rounds,
    )  # fmt: skip
    from dancesearch.encoders.onnx_text import QueryEncoder
    from dancesearch.search.query import HYBRID_FUSION, HYBRID_WEIGHTS
    from dancesearch.storage.bm25 import text_vector

    info, real = real_points(root)
    vectors = QueryEncoder.load(export_text(root, info)).encode(list(TEXTS))  # (Q, D)
    encoder = CachedEncoder(TEXTS, vectors)
    queries, dense_only = tmp / "queries.json", tmp / "dense.json"  # for shard_memory
    sparse = [text_vector(t, True) for t in TEXTS[:10]]
    queries.write_text(json.dumps({"dense": vectors[:10].tolist(), "sparse": sparse}))
    dense_only.write_text(json.dumps({"dense": vectors[:10].tolist(), "sparse": []}))
    bench, wheres = replace(info, name=info.name + "-bench"), filters()
    out: dict[str, Any] = {"sizes": [], "hnsw": []}
    for n in sorted(args.sizes):
        started = time.perf_counter()
        points = grow(real, n)
        folder = tmp / f"edge-{n}"
        store, build_s = build_store(None, folder, root / "library.json", bench, points)
        shard = folder / "qdrant" / bench.name
        row: dict[str, Any] = {"n": n, "build_s": build_s, "load_1min": [load()]}
        row["shard"], row["shard_parts"] = size(shard), shard_parts(shard)
        row["memory"] = shard_memory(shard, "exact", queries)
        brute = NumpyIndex(points, {"none": None})
        calls = args.calls if n <= 50000 else max(20, args.calls * 50000 // n)

        def dense(w: Any, s: Any = store) -> Callable[[np.ndarray, str], object]:
            return lambda v, t: s.search(bench.name, v, LIMIT, w)

        def hybrid(w: Any, s: Any = store) -> Callable[[np.ndarray, str], object]:
            return lambda vec, text: s.hybrid(
                bench.name, vec, text, LIMIT, w, HYBRID_WEIGHTS, 100, HYBRID_FUSION
            )

        configs: dict[str, tuple[Callable[[np.ndarray, str], object], int]] = {}
        for fkey, w in wheres.items():
            configs[f"edge|dense|{fkey}"] = (dense(w), calls)
            configs[f"edge|hybrid|{fkey}"] = (hybrid(w), calls)
        configs["numpy|dense|none"] = (partial(floor, brute), calls)
        timings = run_rounds(encoder, configs, args.rounds)
        row["timings"] = {
            k: {q: t[f"search_{q}"] for q in ("p50", "p95")} | {"calls": t["calls"]}
            for k, t in timings.items()
        }
        row["load_1min"].append(load())
        store.close()
        shutil.rmtree(folder)
        row["seconds"] = time.perf_counter() - started
        out["sizes"].append(row)
        print(
            f"N={n}: build {build_s:.0f} s, shard {row['shard']['disk'] / n:.0f} B/point, RSS "
            f"+{row['memory']['delta']['VmRSS'] / n:.0f} B/point, dense p50 "
            f"{row['timings']['edge|dense|none']['p50']:.1f} ms, load {row['load_1min']}",
            flush=True,
        )
        del points, brute
    for spec in args.hnsw:
        n, m, ef_construct = (int(x) for x in spec.split(":"))
        started = time.perf_counter()
        path = tmp / f"hnsw-{n}-{m}-{ef_construct}"
        row = {"n": n, "load_1min": [load()]}
        row |= bench_hnsw(grow(real, n), wheres, vectors, path, m, ef_construct)
        row["shard"], row["shard_parts"] = size(path), shard_parts(path)
        row["memory"] = shard_memory(path, "hnsw", dense_only)
        row["load_1min"].append(load())
        shutil.rmtree(path)
        row["seconds"] = time.perf_counter() - started
        out["hnsw"].append(row)
    return out


# --- fits and report --------------------------------------------------------------------------
def fits(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """Least-squares lines over the sizes >= 10k: search p50 ms = a + b * N per configuration,
    and shard bytes and searching-process RSS per point as the slope between the two largest."""
    big = [s for s in sizes if s["n"] >= 10000] or sizes
    n = np.array([s["n"] for s in big], float)
    out: dict[str, Any] = {"latency_ms": {}}
    for key in big[0]["timings"]:
        ms = np.array([s["timings"][key]["p50"] for s in big])
        b, a = np.polyfit(n, ms, 1) if len(n) > 1 else (ms[0] / n[0], 0.0)
        out["latency_ms"][key] = {"a_ms": float(a), "b_ms_per_million": float(b * 1e6)}
    if len(sizes) > 1:
        lo, hi = sizes[-2], sizes[-1]
        dn = hi["n"] - lo["n"]
        out["shard_disk_bytes_per_point"] = (hi["shard"]["disk"] - lo["shard"]["disk"]) / dn
        out["shard_bytes_per_point"] = (hi["shard"]["bytes"] - lo["shard"]["bytes"]) / dn
        for k in ("VmRSS", "RssAnon", "RssFile"):
            d = hi["memory"]["delta"][k] - lo["memory"]["delta"][k]
            out[f"{k}_bytes_per_point"] = d / dn
    return out


def table(header: list[str], rows: list[list[Any]], left: int = 1) -> list[str]:
    from benchmarks.query import table as md_table

    return md_table(header, rows, left)


def mb(b: float) -> str:
    return f"{b / 2**20:.1f}"


def kb(b: float, per: float, digits: int = 0) -> str:
    return f"{b / max(per, 1e-9) / 1e3:.{digits}f}"


def markdown(r: dict[str, Any]) -> str:
    m, ing, ann, emb, lb, pt = (
        r["machine"], r["ingest"], r["annotate"], r["embed"], r["library"], r["point"]
    )  # fmt: skip
    loads = [x for part in (ing["runs"], ann["runs"], emb["runs"]) for run in part
             for x in run["load_1min"]]  # fmt: skip
    loads += [x for s in r["scale"]["sizes"] + r["scale"]["hnsw"] for x in s["load_1min"]]
    out = [
        "# Per-clip costs for sizing", "",
        f"`benchmarks/scaling.py` on `{m['commit']}`, {r['date']}: {m['nproc']} cores "
        f"({m['cpu']}), Python {m['python']}, qdrant-edge-py {m['versions']['qdrant-edge-py']}. "
        f"Run took {r['seconds'] / 60:.0f} min. **Load**: the 1-minute load average ran "
        f"{min(loads):.1f}-{max(loads):.1f} over the timed parts on these {m['nproc']} cores "
        "(this benchmark counting about 1); above 2 other work shared the cores, so wall times "
        "are upper bounds. CPU seconds (all threads of the process) are less sensitive to "
        "sharing and are what a worker core spends. Medians over "
        f"{r['args']['repeats']} repeats. docs/scaling.md extrapolates from these.", "",
        "## Ingest, per clip (one item at a time, one process)", "",
        "A spread of items per source into a fresh library, `process_item` (read, segment, "
        "motion and music features, write arrays); the catalogue commit apart.", "",
    ]  # fmt: skip
    rows = [[s, p["items"], p["clips"], f"{p['motion_min']:.1f}", p["music_clips"],
             f"{p['wall_s_per_clip']:.3f}", f"{p['cpu_s_per_clip']:.3f}",
             f"{p['cpu_s_per_motion_min']:.2f}", kb(p["input_bytes"], p["clips"])]
            for s, p in ing["per_source"].items()]  # fmt: skip
    a = ing["all"]
    rows.append(["**all**", "", a["clips"], "", "", f"{a['wall_s_per_clip']:.3f}",
                 f"{a['cpu_s_per_clip']:.3f}", "", ""])  # fmt: skip
    out += table(["source", "items", "clips", "motion min", "music clips", "wall s/clip",
                  "CPU s/clip", "CPU s/motion min", "input kB/clip"], rows)  # fmt: skip
    out += [f"Commit (rewrite of the catalogue tables) of the run: {a['commit_wall_s']:.2f} s "
            "wall; it rewrites whole Parquet tables, so it grows with the library, not the "
            "intake.", ""]  # fmt: skip
    out += ["## Annotate, per clip", "",
            f"On a copy of the built library ({ann['clips']} clips). Descriptors are per clip "
            "(the flow runs one batch per source in parallel); the rest -- calibrating "
            "thresholds at library percentiles, tags, captions, split, writing -- runs over the "
            "whole library at once.", ""]  # fmt: skip
    rows = [[s, d["clips"], f"{d['wall_s_per_clip'] * 1e3:.1f}", f"{d['cpu_s_per_clip'] * 1e3:.1f}"]
            for s, d in ann["descriptors"].items()]  # fmt: skip
    out += table(["descriptors of", "clips", "wall ms/clip", "CPU ms/clip"], rows)
    out += [f"All descriptors {ann['descriptors_cpu_s_per_clip'] * 1e3:.1f} CPU ms/clip; the "
            f"rest {ann['rest_wall_s']:.1f} s wall for the library, "
            f"{ann['rest_cpu_s_per_clip'] * 1e3:.1f} CPU ms/clip.", ""]  # fmt: skip
    out += ["## Embed, per clip", "",
            f"`embed_library` into an empty Qdrant folder ({emb['clips']} clips, all encoded; "
            f"torch on {emb['torch_threads']} threads): "
            f"{emb['embed_library_wall_s_per_clip'] * 1e3:.1f} ms wall, "
            f"{emb['embed_library_cpu_s_per_clip'] * 1e3:.1f} CPU ms per clip. Its parts, timed "
            "one by one:", ""]  # fmt: skip
    rows = [[part, f"{v['wall_s'] * 1e3:.2f}", f"{v['cpu_s'] * 1e3:.2f}"]
            for part, v in emb["parts_per_clip"].items()]  # fmt: skip
    out += table(["part", "wall ms/clip", "CPU ms/clip"], rows)
    out += ["checkpoint: load and build the model (fixed, shown per clip); features: "
            "`load_clipset` reads every sequence's arrays; encode: `embed_gallery`, batches of "
            "64; payloads: the payload of every clip from the tables; upsert: create, upsert "
            "with BM25 text vectors, flush.", ""]  # fmt: skip
    n = lb["clips"]
    out += ["## Bytes per clip", "",
            f"The built library: {n} clips ({lb['music_clips']} with music) from "
            f"{lb['sequences']} sequences, {lb['motion_min']:.1f} min of motion "
            f"({lb['clip_min']:.1f} min inside clips). Arrays are stored per sequence, so "
            "frames outside any clip count too. The source files (audio, mocap) stay where "
            "they are; the library refers to them.", ""]  # fmt: skip
    rows = [[k, mb(v["bytes"]), kb(v["bytes"], n, 1), kb(v["bytes"], lb["motion_min"])]
            for k, v in lb["kinds"].items()]  # fmt: skip
    total = sum(v["bytes"] for v in lb["kinds"].values())
    rows.append(["**library (without models, qdrant)**", mb(total), f"{total / n / 1e3:.1f}",
                 f"{total / lb['motion_min'] / 1e3:.0f}"])  # fmt: skip
    rows.append(["models/ (fixed, not per clip)", mb(lb["models"]["bytes"]), "", ""])
    out += table(["kind", "MiB", "kB/clip", "kB/motion min"], rows)
    rows = [[s, v["clips"], f"{v['motion_min']:.1f}",
             mb(v["source_bytes"]) if v["source_bytes"] else "-",
             f"{v['source_bytes'] / v['clips'] / 1e3:.0f}" if v["source_bytes"] else "-"]
            for s, v in lb["sources"].items()]  # fmt: skip
    out += table(["source files", "clips", "motion min", "MiB", "kB/clip"], rows)
    pj, bt = pt["payload_json_bytes"], pt["bm25_terms"]
    out += ["## One point in Qdrant", "",
            f"Dense vector `dance`: {pt['vector_size']} float32 = {pt['vector_size'] * 4} B. "
            f"Payload as JSON: mean {pj['mean']:.0f} B, median {pj['median']:.0f}, max "
            f"{pj['max']}. BM25 text vector: mean {bt['mean']:.1f} terms, median "
            f"{bt['median']:.0f}, max {bt['max']} ({bt['zero']} points without one). The real "
            f"collection ({pt['points']} points) on disk: {mb(pt['shard']['disk'])} MiB "
            f"allocated, {mb(pt['shard']['bytes'])} MiB apparent (files are preallocated, so "
            "small collections say little per point; the sizes below do).", ""]  # fmt: skip
    sizes, f = r["scale"]["sizes"], r["fits"]
    out += ["## Search latency against collection size (search alone, ms p50 / p95)", "",
            "Synthetic points grown from the real ones as benchmarks/query.py grows them; "
            "Qdrant Edge exact search (the product's setting), hybrid fusing 100 candidates "
            "per leg; numpy brute force (dense, no filter) as the floor. Median over "
            f"{r['args']['rounds']} interleaved rounds.", ""]  # fmt: skip
    keys = list(sizes[0]["timings"])
    rows = [[k.replace("|", " "), *(
        "{p50:.2f} / {p95:.2f}".format(**s["timings"][k]) for s in sizes),
        f"{f['latency_ms'][k]['a_ms']:.2f} + {f['latency_ms'][k]['b_ms_per_million']:.0f}"]
        for k in keys]  # fmt: skip
    out += table(["search", *(f"{s['n']:,}" for s in sizes), "fit: ms + ms per 1M points"], rows)
    out += ["Calls per round: " + ", ".join(
        f"{s['n']:,}: {s['timings'][keys[0]]['calls']}" for s in sizes) + ". Fit: least "
        "squares over the sizes from 10k.", ""]  # fmt: skip
    out += ["## Bytes and memory against collection size", "",
            "Shard: the collection folder (vectors, BM25 index, payloads, payload indexes, WAL). "
            "Memory: a separate process opens the shard and runs 10 dense searches with and "
            "without a genre filter and 10 BM25 searches; the growth of its RSS from before "
            "opening (RssFile: the shard's files mapped; RssAnon: heap).", ""]  # fmt: skip
    rows = [[f"{s['n']:,}", f"{s['build_s']:.1f}", mb(s["shard"]["disk"]),
             f"{s['shard']['disk'] / s['n']:.0f}", mb(s["memory"]["delta"]["VmRSS"]),
             mb(s["memory"]["delta"]["RssFile"]), mb(s["memory"]["delta"]["RssAnon"]),
             f"{s['memory']['delta']['VmRSS'] / s['n']:.0f}",
             "{:.1f} -> {:.1f}".format(*s["load_1min"])] for s in sizes]  # fmt: skip
    out += table(["points", "build s", "shard MiB", "shard B/point", "RSS MiB", "file MiB",
                  "anon MiB", "RSS B/point", "load"], rows)  # fmt: skip
    if "shard_disk_bytes_per_point" in f:
        out += [f"Marginal, between the two largest sizes: shard "
                f"{f['shard_disk_bytes_per_point']:.0f} B/point on disk, searching process "
                f"{f['VmRSS_bytes_per_point']:.0f} B/point RSS "
                f"({f['RssFile_bytes_per_point']:.0f} mapped files, "
                f"{f['RssAnon_bytes_per_point']:.0f} heap).", ""]  # fmt: skip
        big = sizes[-1]
        out += [
            "Shard at the largest size by component (MiB on disk): "
            + ", ".join(f"{k} {mb(v['disk'])}" for k, v in big["shard_parts"].items())
            + ".",
            "",
        ]
    for h in r["scale"]["hnsw"]:
        out += [f"## HNSW at {h['n']:,} points, m={h['m']}, ef_construct={h['ef_construct']}", "",
                f"benchmarks/query.py's `bench_hnsw`: dense vectors and payloads with their "
                f"indexes, no text vectors, HNSW m={h['m']}, ef_construct={h['ef_construct']}: "
                f"upsert {h['upsert_s']:.0f} s, index build {h['index_s']:.0f} s on "
                f"{m['nproc']} cores ({h['indexed_vectors']:,} indexed, {h['segments']} "
                f"segments); shard {mb(h['shard']['disk'])} MiB = "
                f"{h['shard']['disk'] / h['n']:.0f} B/point; a process searching it (ef 128) "
                f"RSS +{mb(h['memory']['delta']['VmRSS'])} MiB. Load "
                "{:.1f} -> {:.1f}.".format(*h["load_1min"]), ""]  # fmt: skip
        rows = [[x["queries"], x["filter"], x["hnsw_ef"] or "default",
                 f"{x['recall_at_10']:.3f}", "{p50:.2f} / {p95:.2f}".format(**x["search"]),
                 "{p50:.2f} / {p95:.2f}".format(**x["exact_search"])]
                for x in h["runs"]]  # fmt: skip
        out += table(["queries", "filter", "hnsw_ef", "recall@10", "HNSW ms p50 / p95",
                      "exact ms p50 / p95"], rows, 3)  # fmt: skip
        out += [
            "By shard component (MiB on disk): "
            + ", ".join(f"{k} {mb(v['disk'])}" for k, v in h["shard_parts"].items())
            + ".",
            "",
        ]
    out += ["Raw numbers: `scaling.json`, every repeat with its load average."]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", type=Path, default=Path("/work/lib/q"))
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000, 200000])
    parser.add_argument(
        "--hnsw",
        nargs="*",
        default=["50000:16:100", "100000:16:100", "50000:32:256"],
        help="HNSW runs, each points:m:ef_construct",
    )
    parser.add_argument("--calls", type=int, default=60, help="timed calls per round, up to 50k")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "scaling")
    parser.add_argument("--report-only", action="store_true", help="<out>.md from <out>.json")
    args = parser.parse_args()
    if args.report_only:
        saved = json.loads(args.out.with_suffix(".json").read_text())
        args.out.with_suffix(".md").write_text(markdown(saved))
        return
    from benchmarks.query import machine

    started = time.perf_counter()
    report: dict[str, Any] = {
        "what": "per-clip costs of dancesearch for sizing: ingest, annotate, embed, bytes, "
        "search latency and memory against collection size",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    with tempfile.TemporaryDirectory(prefix="dancesearch-scaling-") as tmp_name:
        tmp = Path(tmp_name)
        report["library"] = library_bytes(args.library, args.data)
        report["ingest"] = bench_ingest(args.data.resolve(), tmp, args.repeats)
        copy = tmp / "library"
        shutil.copytree(args.library, copy, ignore=shutil.ignore_patterns(".lock"))
        report["annotate"] = bench_annotate(copy, args.repeats)
        report["embed"] = bench_embed(copy, tmp, args.repeats)
        report["point"] = point_shape(copy)
        report["scale"] = bench_sizes(copy, tmp, args)
    report["fits"] = fits(report["scale"]["sizes"])
    report["seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(f"done in {report['seconds']:.0f} s: {args.out}.md", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
