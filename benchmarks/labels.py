"""Benchmark judged by people's labels: text -> dance on the Bandai Namco dataset-2 takes, whose
content x style labels the dataset's authors gave (not our tagger).

    .venv/bin/python benchmarks/labels.py [--library DIR] [--seeds 0 1 2] [--split test|val]
        [--protocols takes combos source] [--preset default] [--out NAME]

Protocols (per seed; dataset-1 and the other sources keep the library's split, their test
clips stay in the gallery as distractors; dataset-1 test clips move to train):
  takes   unseen takes: per dataset-2 cell takes 5-6 are test, one seeded take of 1-4 is val.
  combos  unseen combinations: 14 of the cells (every content and style kept elsewhere) are
          test with all their takes, 7 more are val, both their motions and label text unseen.
  source  unseen source (diagnostic): no dataset-2 take is trained on; all are test.
Queries: each test cell's labels phrased from benchmarks/labels_queries.toml, `literal`
(label words) and `paraphrase` (no content word of the label but left/right). Relevance:
same content and style 2, same content 1. The gallery is every test clip of the library.

Two gallery conditions. "unlabelled": the test clips' label text is withheld from every
method (the model reads motion; references read the clips' generated captions and tags): what
a new, unlabelled recording meets. "labelled": the product as shipped, where Qdrant's BM25
indexes the clips' labels; there BM25 text mode and the hybrid are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results"
TABLE = ROOT / "benchmarks" / "labels_queries.toml"
METRICS = ("R@1", "R@5", "R@10", "nDCG@10", "AP")
SIDE_WORDS = {"left", "right"}
FUSION_SWEEP = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)  # BM25 weights tried beside the product's

from labels_stats import paired, summarise  # noqa: E402


@dataclass
class Query:
    text: str
    content: str
    style: str
    kind: str  # literal | paraphrase


def label_frame(clips: pd.DataFrame) -> pd.DataFrame:
    """dataset, content, style, take of every clip ("" where the clip has no Bandai labels)."""
    rows = []
    for text in clips["labels"]:
        labels = json.loads(text) if isinstance(text, str) else (text or {})
        rows.append({k: str(labels.get(k, "")) for k in ("dataset", "content", "style", "take")})
    return pd.DataFrame(rows, index=clips.index)


def protocol_split(
    clips: pd.DataFrame, base: dict[str, str], protocol: str, seed: int
) -> dict[str, str]:
    """seq_id -> train | val | test for one protocol and seed (see the module docstring)."""
    lab = label_frame(clips)
    split = dict(base)
    for seq, dataset in zip(clips["seq_id"], lab["dataset"], strict=True):
        if dataset == "dataset-1" and split.get(seq) == "test":
            split[seq] = "train"
    d2 = lab["dataset"] == "dataset-2"
    seqs = clips.loc[d2, "seq_id"]
    cells = lab.loc[d2, "content"] + "|" + lab.loc[d2, "style"]
    rng = np.random.default_rng(seed)
    if protocol == "takes":
        val_take = {c: f"{rng.integers(1, 5):03d}" for c in sorted(set(cells))}
        for seq, cell, take in zip(seqs, cells, lab.loc[d2, "take"], strict=True):
            split[seq] = "test" if take in ("005", "006") else (
                "val" if take == val_take[cell] else "train")  # fmt: skip
    elif protocol == "combos":
        test, val = held_out_cells(sorted(set(cells)), rng)
        for seq, cell in zip(seqs, cells, strict=True):
            split[seq] = "test" if cell in test else "val" if cell in val else "train"
    elif protocol == "source":
        split.update(dict.fromkeys(seqs, "test"))
    else:
        raise ValueError(f"unknown protocol {protocol!r}")
    return split


def held_out_cells(cells: list[str], rng: np.random.Generator) -> tuple[set[str], set[str]]:
    """14 test cells (at most two per content and per style) and 7 val cells (one per style at
    most), leaving every content and style with at least one training cell."""
    order = [cells[i] for i in rng.permutation(len(cells))]
    chosen: list[set[str]] = [set(), set()]
    for target, (n, cap) in enumerate(((14, 2), (7, 1))):
        for cell in order:
            if len(chosen[target]) == n or cell in chosen[0] | chosen[1]:
                continue
            content, style = cell.split("|")
            mine = [c.split("|") for c in chosen[target]]
            left = [c.split("|") for c in cells if c not in chosen[0] | chosen[1] | {cell}]
            if sum(c == content for c, _ in mine) >= cap or sum(s == style for _, s in mine) >= cap:
                continue
            if any(c == content for c, _ in left) and any(s == style for _, s in left):
                chosen[target].add(cell)
    return chosen[0], chosen[1]


def label_queries(cells: list[tuple[str, str]], table: dict[str, Any]) -> list[Query]:
    out = []
    for content, style in cells:
        for kind in ("literal", "paraphrase"):
            forms = zip(table["style"][style][kind], table["content"][content][kind], strict=False)
            out += [Query(s.format(c), content, style, kind) for s, c in forms]
    return out


def relevance(queries: list[Query], gallery: pd.DataFrame) -> np.ndarray:
    """(Q, G) grades: 2 same content and style, 1 same content, 0 otherwise."""
    lab = label_frame(gallery)
    content, style = lab["content"].to_numpy(), lab["style"].to_numpy()
    rel = np.zeros((len(queries), len(gallery)), np.int64)
    for i, q in enumerate(queries):
        same = content == q.content
        rel[i] = same * (1 + (style == q.style))
    return rel


def shared_words(query: Query) -> set[str]:
    """The query's words that share a BM25 term with the label text the product indexes for
    its cell (the verbatim label and its spoken form), side words aside."""
    from dancesearch.annotate.labels import label_captions
    from dancesearch.storage.bm25 import text_vector

    label = " ".join(
        c.text for c in label_captions({"content": query.content, "style": query.style})
    )
    terms = set(text_vector(label, query=True)[0])
    mine = {w.strip(",.:") for w in query.text.split()} - SIDE_WORDS
    return {w for w in mine if w and set(text_vector(w, query=True)[0]) & terms}


# --- the rankers -------------------------------------------------------------------------------
def minilm_matrix(texts: list[str], docs: list[list[str]], minilm: Any) -> np.ndarray:
    """(Q, G) the highest MiniLM cosine between each text and each gallery clip's documents."""
    q = minilm(texts)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    out = np.full((len(texts), len(docs)), -1.0)
    for g, doc in enumerate(docs):
        if doc:
            d = minilm(doc)
            out[:, g] = (q @ (d / np.linalg.norm(d, axis=1, keepdims=True)).T).max(axis=1)
    return out


def store_matrices(
    texts: list[str], vectors: np.ndarray, gallery_payloads: list[dict[str, Any]], dense: np.ndarray
) -> dict[str, np.ndarray]:
    """(Q, G) scores of BM25 text mode and of the product's hybrid, through Qdrant Edge: the
    gallery in a scratch collection, every query as `dancesearch query` sends it."""
    from dancesearch.search.query import HYBRID_FUSION, HYBRID_WEIGHTS
    from dancesearch.storage.qdrant import CollectionInfo
    from dancesearch.storage.qdrant_edge import EdgeStore
    from dancesearch.storage.store import Point

    position = {p["clip_id"]: g for g, p in enumerate(gallery_payloads)}
    out = {m: np.full((len(texts), len(gallery_payloads)), -np.inf) for m in ("text", "hybrid")}
    with tempfile.TemporaryDirectory() as tmp, EdgeStore(Path(tmp), "labelsbench") as store:
        info = CollectionInfo("labels", "bench", dense.shape[1], "bench")
        store.create(info)
        store.upsert(
            "labels",
            [Point(p["clip_id"], v, p) for p, v in zip(gallery_payloads, dense, strict=True)],
        )
        n = len(gallery_payloads)
        for i, text in enumerate(texts):
            for hit in store.search_text("labels", text, n):
                out["text"][i, position[hit.clip_id]] = hit.score
            hits = store.hybrid(
                "labels", vectors[i], text, n, None, HYBRID_WEIGHTS, n, HYBRID_FUSION
            )
            for hit in hits:
                out["hybrid"][i, position[hit.clip_id]] = hit.score
    return out


# --- one protocol at one seed -----------------------------------------------------------------
def run_protocol(
    library: Any, protocol: str, seed: int, presets: list[str], split_name: str, table: Any
) -> dict[str, Any]:
    """Per-query figures of every ranker on one protocol and seed: {ranker: {metric: (Q,)}},
    with the queries and their clusters."""
    import torch

    from dancesearch.catalogue import payloads
    from dancesearch.dataset import load_clipset
    from dancesearch.encoders.inference import embed_gallery, encode_texts
    from dancesearch.encoders.registry import preset
    from dancesearch.encoders.text import minilm_cache, text_cache
    from dancesearch.evaluation.references import rule_tag_scores
    from dancesearch.metrics import graded
    from dancesearch.storage.schema import human_text
    from dancesearch.train import train

    clips = library.clips()
    base = dict(library.table("splits")[["seq_id", "split"]].itertuples(index=False))
    split = protocol_split(clips, base, protocol, seed)
    data = load_clipset(library, split)
    gallery = data.subset(np.flatnonzero(data.clips["split"] == split_name))
    lab = label_frame(gallery.clips)
    d2 = lab["dataset"] == "dataset-2"
    cells = sorted(set(zip(lab.loc[d2, "content"], lab.loc[d2, "style"], strict=True)))
    queries = label_queries(cells, table)
    texts = [q.text for q in queries]
    rel = relevance(queries, gallery.clips)
    ids = list(gallery.clips["clip_id"])
    by_id = {p["clip_id"]: p for p in payloads(library)}
    labelled = [dict(by_id[c], split=split_name) for c in ids]
    unlabelled = []
    for c, caps, sources in zip(ids, gallery.captions, gallery.caption_sources, strict=True):
        kept = [t for t, s in zip(caps, sources, strict=True) if s == "human"]
        p = by_id[c]
        unlabelled.append(
            dict(p, split=split_name, human_text=human_text([*kept, p["title"], p["genre"]]))
        )
    minilm = minilm_cache()
    pairs = zip(gallery.captions, gallery.caption_sources, strict=True)
    docs = [[t for t, s in zip(caps, src, strict=True) if s != "label"] for caps, src in pairs]
    tags_of = library.table("tags").groupby("clip_id")["tag"].apply(set).to_dict()
    scores: dict[str, np.ndarray] = {
        "caption matching": minilm_matrix(texts, docs, minilm),
        "rule tags": rule_tag_scores(texts, [frozenset(tags_of.get(c, ())) for c in ids]),
    }
    seconds: dict[str, float] = {}
    for name in presets:
        config = preset(name)
        config = replace(config, train=replace(config.train, seed=seed))
        torch.manual_seed(seed)
        result = train(library, config, split_of=split, progress=False)
        seconds[name] = result.seconds
        model, ckpt = result.checkpoint.model(), result.checkpoint
        dense = embed_gallery(model, gallery, ckpt.norm).vectors.numpy()
        tv = encode_texts(model, texts, None if config.model.text.finetune else text_cache(config))
        vectors = tv.numpy()
        scores[name] = vectors @ dense.T
        if name == presets[-1]:  # the product's rankings, with this model's vectors
            for cond, pl in (("unlabelled", unlabelled), ("labelled", labelled)):
                for mode, sim in store_matrices(texts, vectors, pl, dense).items():
                    scores[f"{mode} ({cond})"] = sim
                if split_name == "val":  # the hybrid weight is chosen on val alone
                    text = scores[f"text ({cond})"]
                    bm25 = np.where(np.isfinite(text), text, 0)
                    for w in FUSION_SWEEP:  # cosine + w x BM25, as the "sum" fusion scores it
                        scores[f"sum {w:g} ({cond})"] = scores[name] + w * bm25
    figures = {name: graded(sim, rel, seed=seed) for name, sim in scores.items()}
    figures["chance"] = graded(np.zeros_like(rel, dtype=float), rel, draws=200, seed=seed)
    return {
        "protocol": protocol, "seed": seed, "split": split_name, "gallery": len(ids),
        "cells": len(cells), "queries": [q.__dict__ for q in queries], "seconds": seconds,
        "figures": {n: {k: np.round(v, 2).tolist() for k, v in f.items()}
                    for n, f in figures.items()},
    }  # fmt: skip


# --- the report --------------------------------------------------------------------------------
REFERENCES = ("chance", "caption matching", "rule tags", "text (unlabelled)")
PRODUCT = ("text (labelled)", "hybrid (labelled)", "hybrid (unlabelled)")


def pooled(
    runs: list[dict[str, Any]], kind: str | None
) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray]:
    """Per-query figures of every ranker over the runs' seeds (queries of `kind`, or all), and
    each query's cluster (its content x style cell: the recordings it is about)."""
    figures: dict[str, dict[str, list[float]]] = {}
    clusters: list[str] = []
    for run in runs:
        keep = [kind is None or q["kind"] == kind for q in run["queries"]]
        clusters += [
            f"{q['content']}|{q['style']}" for q, k in zip(run["queries"], keep, strict=True) if k
        ]
        for name, f in run["figures"].items():
            for metric, values in f.items():
                kept = [v for v, k in zip(values, keep, strict=True) if k]
                figures.setdefault(name, {}).setdefault(metric, []).extend(kept)
    return {n: {m: np.array(v) for m, v in f.items()} for n, f in figures.items()}, np.array(
        clusters
    )


def markdown(runs: list[dict[str, Any]], presets: list[str]) -> str:
    model = presets[-1]
    lines = [
        "# Judged by people's labels",
        "",
        "Text -> dance on Bandai Namco dataset-2, queries phrased from the dataset authors' "
        "content x style labels (`benchmarks/labels_queries.toml`), relevance 2 = same content "
        "and style, 1 = same content. R@K and AP count grade-2 clips; nDCG@10 uses the grades. "
        "Ties broken at random (expected values). Mean over seeds "
        f"{sorted({r['seed'] for r in runs})} and queries, [95 % bootstrap interval over "
        "content x style cells]. Generated by `benchmarks/labels.py` on a library of all of "
        f"`../shared/data` ({os.cpu_count()} CPU cores; training times below are wall seconds).",
        "",
        "Gallery text: *no labels* withholds the test clips' label text from every ranker (the "
        "model reads motion; the references read the clips' generated captions and tags), as "
        "for a new, unlabelled recording; *labels indexed* is the product as shipped, BM25 "
        "over the clips' labels, where text mode and the hybrid are compared.",
        "",
    ]
    for protocol in dict.fromkeys(r["protocol"] for r in runs):
        mine = [r for r in runs if r["protocol"] == protocol]
        r0 = mine[0]
        secs = {k: np.mean([r["seconds"][k] for r in mine]) for k in r0["seconds"]}
        lines += [
            f"## {PROTOCOL_TITLES[protocol]}",
            "",
            f"Split `{r0['split']}`: gallery {r0['gallery']} clips (every {r0['split']} clip of "
            f"the library), {np.mean([r['cells'] for r in mine]):.0f} dataset-2 cells, "
            f"{len(r0['queries'])} queries per seed. Training time per model (s): "
            + ", ".join(f"{k} {v:.0f}" for k, v in secs.items())
            + ".",
            "",
        ]
        for kind in ("literal", "paraphrase"):
            figures, clusters = pooled(mine, kind)
            lines += [f"**{kind} queries** ({len(clusters)} over all seeds)", "",
                      "| ranker | gallery text | " + " | ".join(METRICS) + " |",
                      "|---|---|" + "---|" * len(METRICS)]  # fmt: skip
            for name in [*REFERENCES, *presets, *PRODUCT]:
                if name not in figures:
                    continue
                cells = []
                for m in METRICS:
                    mean, lo, hi = summarise(figures[name][m], clusters)
                    cells.append(f"{mean:.1f} [{lo:.1f}, {hi:.1f}]")
                cond = "labels indexed" if "(labelled)" in name else "no labels"
                label = name.replace(" (labelled)", "").replace(" (unlabelled)", "")
                label = {"text": "BM25 text mode", "hybrid": "hybrid (product default)"}.get(
                    label, label
                )
                bold = name == model
                label = f"**{label}**" if bold else label
                lines.append(f"| {label} | {cond} | " + " | ".join(cells) + " |")
            lines.append("")
        lines += ["Paired per-query differences (mean ± SE clustered by cell; **beats** = "
                  "more than 2 SE above 0):", "",
                  "| comparison | queries | ΔR@1 | ΔnDCG@10 |", "|---|---|---|---|"]  # fmt: skip
        pairs = [(model, other, None) for other in (*presets[:-1], "caption matching", "rule tags")]
        pairs += [("hybrid (labelled)", "text (labelled)", "paraphrase"),
                  ("hybrid (labelled)", "text (labelled)", "literal")]  # fmt: skip
        for a, b, kind in pairs:
            figures, clusters = pooled(mine, kind)
            if a not in figures or b not in figures:
                continue
            cells = []
            for m in ("R@1", "nDCG@10"):
                d, se = paired(figures[a][m], figures[b][m], clusters)
                verdict = "**beats**" if d > 2 * se else "does not beat"
                cells.append(f"{d:+.1f} ± {se:.1f} ({verdict})")
            lines.append(f"| {a} − {b} | {kind or 'all'} | " + " | ".join(cells) + " |")
        lines.append("")
    overlap = sorted({w for r in runs for q in r["queries"] if q["kind"] == "paraphrase"
                      for w in shared_words(Query(**q))})  # fmt: skip
    lines += [f"Paraphrase words that share a BM25 term with their label (left/right aside): "
              f"{', '.join(overlap) if overlap else 'none'}.", ""]  # fmt: skip
    return "\n".join(lines)


PROTOCOL_TITLES = {
    "takes": "Unseen takes (train takes 1-4 of every cell, test takes 5-6)",
    "combos": "Unseen combinations (14 content x style cells held out, motion and label text)",
    "source": "Unseen source (diagnostic: no dataset-2 take trained on)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", default=str(ROOT / "library"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--protocols", nargs="+", default=["takes", "combos", "source"])
    parser.add_argument("--presets", nargs="+", default=["linear-probe", "default"])
    parser.add_argument("--split", default="test", choices=["test", "val"])
    parser.add_argument("--out", default="labels")
    parser.add_argument("--report", action="store_true", help="rewrite the report from the runs")
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (1 on a busy machine)"
    )
    args = parser.parse_args()
    import torch

    from dancesearch.storage.library import Library

    torch.set_num_threads(args.threads)
    library = Library(args.library)
    table = tomllib.loads(TABLE.read_text())
    runs_path = RESULTS / f"{args.out}_runs.jsonl"
    runs = []
    if args.report:
        runs = [json.loads(line) for line in runs_path.read_text().splitlines()]
        args.protocols = []
    for protocol in args.protocols:
        for seed in args.seeds:
            started = time.perf_counter()
            run = run_protocol(library, protocol, seed, args.presets, args.split, table)
            runs.append(run)
            with runs_path.open("a") as f:
                f.write(json.dumps(run) + "\n")
            print(f"{protocol} seed {seed}: {time.perf_counter() - started:.0f} s", flush=True)
    text = markdown(runs, args.presets)
    (RESULTS / f"{args.out}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
