"""Does the int8 query encoder find what the float one finds, and how much faster is it?

    python benchmarks/query_precision.py --library library [--calls 300 --rounds 3]

On a built library (its models/default and text export): every caption of the val and test
clips and every query of benchmarks/labels_queries.toml is encoded by the float ONNX graph and
by the int8 one (MatMul weights per channel, what `dancesearch query` runs). Reported:

- agreement: the cosine of the two vectors of each query, and the overlap of their top 10 over
  the library's full gallery (dense ranking, which the Qdrant collection reproduces exactly);
- retrieval: the full protocol (R@1/5/10, MedR, MnR) on val and test with each graph, with the
  paired per-query difference of R@1 and of the rank, its SE clustered by recording;
- speed: encode p50/p95 of one query on one thread (the product's setting), interleaved
  rounds of `calls` queries, the median over rounds.

Writes benchmarks/results/query_int8.md and .json, with the machine, load average and commit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks.labels import label_queries
from benchmarks.labels_stats import paired
from benchmarks.query import machine, stats, table
from dancesearch.dataset import load_clipset
from dancesearch.encoders.export import ensure_text_export, quantize_text_export
from dancesearch.encoders.inference import embed_gallery, load_for, similarity
from dancesearch.encoders.onnx_text import GRAPHS, QueryEncoder
from dancesearch.encoders.text import minilm_cache
from dancesearch.evaluation.protocols import queries_of
from dancesearch.metrics import ranks, summary
from dancesearch.storage.library import Library

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PRECISIONS = tuple(GRAPHS)  # int8, float
K = 10


def label_texts() -> list[str]:
    table_ = tomllib.loads((ROOT / "benchmarks" / "labels_queries.toml").read_text())
    cells = [(c, s) for c in table_["content"] for s in table_["style"]]
    return sorted({q.text for q in label_queries(cells, table_)})


def encode_all(encoder: QueryEncoder, texts: list[str]) -> np.ndarray:
    return np.concatenate([encoder.encode(texts[i : i + 64]) for i in range(0, len(texts), 64)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", type=Path, default=ROOT / "library")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    started = time.time()
    torch.set_num_threads(1)
    lib = Library(args.library)
    folder = lib.root / "models" / "default"
    ckpt = load_for(lib, folder)
    export = ensure_text_export(folder)
    quantize_text_export(export)
    encoders = {p: QueryEncoder.load(export, threads=1, precision=p) for p in PRECISIONS}
    data = load_clipset(lib)
    model = ckpt.model()
    minilm = minilm_cache()

    # agreement over the full gallery
    gallery = embed_gallery(model, data, ckpt.norm)  # (G, E)
    captions = data.clips["split"].isin(["val", "test"]).to_numpy()
    texts = sorted({t for i in np.flatnonzero(captions) for t in data.captions[i]})
    kinds = {"captions (val + test)": texts, "label queries": label_texts()}
    agreement = {}
    for kind, group in kinds.items():
        vec = {p: encode_all(e, group) for p, e in encoders.items()}
        cos = (vec["int8"] * vec["float"]).sum(1)
        sims = {p: similarity(model, torch.from_numpy(v), gallery) for p, v in vec.items()}
        top = {p: np.argsort(-sim, 1)[:, :K] for p, sim in sims.items()}
        exact = sims["float"]
        # how far below the float top 10 the int8 top 10 lies, in the float graph's scores
        lost = np.take_along_axis(exact, top["float"], 1) - np.take_along_axis(
            exact, top["int8"], 1
        )  # (Q, K), rank by rank
        spread = exact.std(1)  # each query's score spread over the gallery
        overlap = np.array([len(set(a) & set(b)) / K for a, b in zip(*top.values(), strict=True)])
        agreement[kind] = {
            "queries": len(group), "cosine mean": float(cos.mean()), "cosine min": float(cos.min()),
            "top-10 overlap mean": float(overlap.mean()), "p5": float(np.percentile(overlap, 5)),
            "min": float(overlap.min()), "same top 1": float(np.mean(
                [a[0] == b[0] for a, b in zip(*top.values(), strict=True)])),
            "score lost / spread": float(np.mean(lost.mean(1) / spread)),
        }  # fmt: skip
        print(kind, agreement[kind], flush=True)

    # retrieval, paired
    retrieval = {}
    for split in ("val", "test"):
        sub = data.subset(np.flatnonzero(data.clips["split"] == split))
        q = queries_of(sub, minilm)
        vectors = embed_gallery(model, sub, ckpt.norm)
        own = np.zeros((len(q.clip), len(sub)), bool)
        own[np.arange(len(q.clip)), q.clip] = True
        rank = {
            p: ranks(similarity(model, torch.from_numpy(encode_all(e, q.texts)), vectors), own)
            for p, e in encoders.items()
        }
        seq = sub.clips["seq_id"].to_numpy()[q.clip]
        hit, hit_se = paired(rank["int8"] == 1, rank["float"] == 1, seq)
        moved, moved_se = paired(rank["int8"], rank["float"], seq)
        retrieval[split] = {
            "queries": len(q.texts), "gallery": len(sub),
            **{p: summary(r) for p, r in rank.items()},
            "dR@1": 100 * hit, "dR@1 SE": 100 * hit_se, "d rank": moved, "d rank SE": moved_se,
            "same rank": float(np.mean(rank["int8"] == rank["float"])),
        }  # fmt: skip
        print(split, {k: v for k, v in retrieval[split].items()}, flush=True)

    # speed, one query at a time on one thread, the precisions interleaved
    probe = kinds["captions (val + test)"][:50] + kinds["label queries"][:50]
    rounds: dict[str, list[dict[str, float]]] = {p: [] for p in PRECISIONS}
    for e in encoders.values():
        for t in probe[:20]:
            e.encode([t])
    loads = []
    for r in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for p, e in encoders.items():
            ms = []
            for i in range(args.calls):
                text = probe[(i + r * 7) % len(probe)]
                t0 = time.perf_counter()
                e.encode([text])
                ms.append(1000 * (time.perf_counter() - t0))
            rounds[p].append(stats(ms))
    speed = {
        p: {q: float(np.median([x[q] for x in rs])) for q in ("p50", "p95")}
        for p, rs in rounds.items()
    }
    sizes = {p: (export / f).stat().st_size for p, f in GRAPHS.items()}
    sizes["float"] += (export / "model.onnx.data").stat().st_size
    load = {p: cold_load(export, p) for p in PRECISIONS}
    result = {
        "machine": machine(), "library": str(args.library), "clips": len(data),
        "load average": loads, "agreement": agreement, "retrieval": retrieval,
        "speed": speed, "bytes": sizes, "session load s": load,
        "seconds": time.time() - started,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "query_int8.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "query_int8.md").write_text(markdown(result))
    print(markdown(result))


def cold_load(export: Path, precision: str, runs: int = 5) -> float:
    """Median seconds to load the encoder (session and tokenizer), as a cold query does."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        QueryEncoder.load(export, threads=1, precision=precision)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "# The int8 query encoder against the float one",
        "",
        f"`benchmarks/query_precision.py --library {Path(r['library']).name}` on {m['commit']}, "
        f"{time.strftime('%Y-%m-%d')}: {m['nproc']} cores ({m['cpu']}), onnxruntime "
        f"{m['versions']['onnxruntime']}; {r['clips']} clips; the 1-minute load average was "
        f"{', '.join(f'{x:.1f}' for x in r['load average'])} at the start of each timed "
        f"round. Run took {r['seconds'] / 60:.0f} min.",
        "",
        "int8: the float graph with every MatMul's weights quantized to int8 per output channel, "
        "activations quantized at run time (onnxruntime dynamic quantization); the embedding "
        "table stays float. Quantizing the embedding lookups as well (onnxruntime's default) "
        "gave cosine 0.96 to the float vectors: not used.",
        "",
        "## Speed: one query on one thread (ms)",
        "",
        *table(
            ["graph", "encode p50", "encode p95", "size MB", "load s"],
            [
                [
                    p,
                    f"{s['p50']:.2f}",
                    f"{s['p95']:.2f}",
                    f"{r['bytes'][p] / 1e6:.0f}",
                    f"{r['session load s'][p]:.2f}",
                ]
                for p, s in r["speed"].items()
            ],
        ),  # fmt: skip
        "## Agreement with the float graph",
        "",
        "Top 10 by dense ranking over the whole library of each query's two vectors. Score "
        "lost: how far below the float top 10 the int8 top 10 lies, rank by rank, in the float "
        "graph's scores, over the spread (SD) of that query's scores over the gallery: near 0 "
        "when the results that changed were near-ties.",
        "",
        *table(
            [
                "queries",
                "n",
                "cosine mean",
                "cosine min",
                "top-10 overlap",
                "p5",
                "min",
                "same top 1",
                "score lost / spread",
            ],
            [
                [
                    k,
                    a["queries"],
                    f"{a['cosine mean']:.4f}",
                    f"{a['cosine min']:.4f}",
                    f"{a['top-10 overlap mean']:.3f}",
                    f"{a['p5']:.2f}",
                    f"{a['min']:.2f}",
                    f"{a['same top 1']:.3f}",
                    f"{a['score lost / spread']:.4f}",
                ]
                for k, a in r["agreement"].items()
            ],
        ),  # fmt: skip
        "## Retrieval (full protocol, each split's full gallery)",
        "",
        "Paired per query: int8 minus float, SE clustered by recording.",
        "",
        *table(
            ["split", "graph", "R@1", "R@5", "R@10", "MedR", "MnR"],
            [
                [s, p, *(f"{f[p][k]:.1f}" for k in ("R@1", "R@5", "R@10", "MedR", "MnR"))]
                for s, f in r["retrieval"].items()
                for p in PRECISIONS
            ],
        ),  # fmt: skip
        *table(
            ["split", "queries", "gallery", "ΔR@1 (points)", "Δ rank", "same rank"],
            [
                [
                    s,
                    f["queries"],
                    f["gallery"],
                    f"{f['dR@1']:+.2f} ± {f['dR@1 SE']:.2f}",
                    f"{f['d rank']:+.2f} ± {f['d rank SE']:.2f}",
                    f"{f['same rank']:.3f}",
                ]
                for s, f in r["retrieval"].items()
            ],
        ),  # fmt: skip
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
