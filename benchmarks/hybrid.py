"""Which ranking should `dancesearch query` use by default: the model's dense vectors, BM25 over
what people wrote, or both fused (RRF with several weights, or DBSF)? Measured on the validation
split of a built library through its Qdrant collection -- never the test split.

Two kinds of query:
  captions  every generated (template) caption of a val clip, ranked over the full val gallery,
            one correct clip (templates are not in the stored human text, so BM25 gets no leak);
            people's captions are reported too, flagged: their text is stored in their clip.
  labels    every distinct label a source gave (titles, "a run in a childish style", "waltz"),
            relevant = every val clip carrying it: hit@1, hit@10, mean average precision.

    python benchmarks/hybrid.py --library /path/to/built/library
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dancesearch.dataset import load_clipset
from dancesearch.encoders.inference import query_texts
from dancesearch.evaluation.collection import Scores, collection_scores, evaluate_collection
from dancesearch.metrics import ranks
from dancesearch.search.query import HYBRID_FUSION, HYBRID_WEIGHTS, confidence
from dancesearch.storage.filters import SearchFilter
from dancesearch.storage.library import Library
from dancesearch.storage.open import open_store
from dancesearch.storage.store import Store

RESULTS = Path(__file__).parent / "results"
VARIANTS = {  # name -> (mode, weights, fusion)
    "dense": ("dense", None, "rrf"),
    "text": ("text", None, "rrf"),
    "rrf 1:1": ("hybrid", None, "rrf"),
    "rrf 1:0.5": ("hybrid", (1.0, 0.5), "rrf"),
    "rrf 0.5:1": ("hybrid", (0.5, 1.0), "rrf"),
    "dbsf": ("hybrid", None, "dbsf"),
    "sum 1:0.005": ("hybrid", (1.0, 0.005), "sum"),
    "sum 1:0.01": ("hybrid", (1.0, 0.01), "sum"),
    "sum 1:0.02": ("hybrid", (1.0, 0.02), "sum"),
    "sum 1:0.05": ("hybrid", (1.0, 0.05), "sum"),
    "sum 1:0.1": ("hybrid", (1.0, 0.1), "sum"),
}
COLUMNS = ("R@1", "R@5", "R@10", "MedR", "MnR")


def label_queries(library: Library, split: str) -> tuple[list[str], list[set[str]]]:
    """Distinct label captions of the split's clips and, for each, the clips carrying it."""
    data = load_clipset(library)
    keep = data.clips["split"].to_numpy() == split
    by_text: dict[str, set[str]] = {}
    for i in np.flatnonzero(keep):
        for text, source in zip(data.captions[i], data.caption_sources[i], strict=True):
            if source == "label":
                by_text.setdefault(text, set()).add(str(data.clips["clip_id"].iloc[i]))
    texts = sorted(by_text)
    return texts, [by_text[t] for t in texts]


def label_figures(
    store: Store, library: Library, split: str, mode: str, weights, fusion: str
) -> dict[str, float]:
    """hit@1, hit@10 and mean average precision of the label queries."""
    from dancesearch import checkpoint as ckpt_io

    name = store.current() or ""
    info = store.info(name)
    assert info is not None
    folder = library.resolve_checkpoint(info.checkpoint)
    ckpt = ckpt_io.load(folder)
    texts, relevant = label_queries(library, split)
    vectors = query_texts(ckpt, folder)(texts)  # as the caption queries: as `query` encodes
    where = SearchFilter(splits=(split,))
    n = store.count(name, where)
    hit1, hit10, ap = [], [], []
    for text, vector, rel in zip(texts, vectors, relevant, strict=True):
        if mode == "dense":
            hits = store.search(name, vector, n, where)
        elif mode == "text":
            hits = store.search_text(name, text, n, where)
        else:
            hits = store.hybrid(name, vector, text, n, where, weights, n, fusion)
        ranked = [h.clip_id for h in hits]
        found = [k for k, c in enumerate(ranked) if c in rel]
        hit1.append(bool(found) and found[0] == 0)
        hit10.append(bool(found) and found[0] < 10)
        ap.append(sum((j + 1) / (k + 1) for j, k in enumerate(found)) / len(rel))
    return {
        "queries": len(texts),
        "hit@1": 100 * float(np.mean(hit1)),
        "hit@10": 100 * float(np.mean(hit10)),
        "mAP": 100 * float(np.mean(ap)),
        "chance mAP": 100 * float(np.mean([len(r) / n for r in relevant])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", required=True, type=Path)
    parser.add_argument("--split", default="val")
    args = parser.parse_args()
    library = Library(args.library)
    out: dict[str, dict] = {}
    start = time.perf_counter()
    with open_store(None, library) as store:
        for name, (mode, weights, fusion) in VARIANTS.items():
            figures = evaluate_collection(
                library, store, args.split, (mode,), weights=weights, fusion=fusion
            )
            blocks = figures[mode]
            out[name] = {
                "templates": blocks["queries: templates"],
                "people": blocks.get("queries: people", {}),
                "full": blocks["full"],
                "labels": label_figures(store, library, args.split, mode, weights, fusion),
            }
            print(name, {k: round(v, 1) for k, v in out[name]["templates"].items()})
        scores = collection_scores(
            library,
            store,
            args.split,
            ("dense", "hybrid"),
            weights=HYBRID_WEIGHTS,
            fusion=HYBRID_FUSION,
        )
        out["confidence"] = {m: calibration(scores, m) for m in ("dense", "hybrid")}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hybrid.json").write_text(json.dumps(out, indent=2) + "\n")
    out = json.loads((RESULTS / "hybrid.json").read_text())
    (RESULTS / "hybrid.md").write_text(report(out, args.split, time.perf_counter() - start))


def calibration(scores: Scores, mode: str) -> dict[str, dict[str, float]]:
    """Per confidence level (as `query` prints it): the share of caption queries at that level
    and their R@1 / R@5 -- does "stands out clearly" mean the top result is more often right?"""
    sim = scores.by_mode[mode]
    own = np.zeros_like(sim, dtype=bool)
    own[np.arange(len(sim)), scores.queries.clip] = True
    rank = ranks(sim, own)
    levels = []
    for row in sim:
        c = confidence(sorted(row.tolist(), reverse=True))
        levels.append(c.level if c else "none")
    level = np.array(levels)
    return {
        name: {
            "share": 100 * float(np.mean(level == name)),
            "R@1": 100 * float(np.mean(rank[level == name] <= 1)) if (level == name).any() else 0,
            "R@5": 100 * float(np.mean(rank[level == name] <= 5)) if (level == name).any() else 0,
        }
        for name in ("clear", "some", "none")
    }


def report(out: dict[str, dict], split: str, seconds: float) -> str:
    calib = out.pop("confidence")
    first = next(iter(out.values()))
    full, labels = first["full"], first["labels"]
    lines = [
        f"# Dense, text or hybrid ranking ({split} split, through Qdrant Edge)",
        "",
        f"Gallery: every {split} clip ({int(full['gallery'])}); ties ranked pessimistically; "
        f"{seconds:.0f} s. Generated by `benchmarks/hybrid.py`.",
        "",
        f"## Template captions ({int(first['templates']['queries'])} queries, one correct clip)",
        "",
        "| ranking | " + " | ".join(COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
        "| chance | " + " | ".join(f"{full[f'chance {k}']:.1f}" for k in COLUMNS) + " |",
    ]
    lines += [f"| {n} | " + " | ".join(f"{f['templates'][k]:.1f}" for k in COLUMNS) + " |"
              for n, f in out.items()]  # fmt: skip
    lines += [
        "",
        f"## Label queries ({labels['queries']} distinct labels; relevant: every clip carrying "
        f"it; chance mAP {labels['chance mAP']:.1f})",
        "",
        "| ranking | hit@1 | hit@10 | mAP |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | {f['labels']['hit@1']:.1f} | {f['labels']['hit@10']:.1f} | "
              f"{f['labels']['mAP']:.1f} |" for n, f in out.items()]  # fmt: skip
    people = first["people"]
    if people:
        lines += [
            "",
            f"## People's captions ({int(people['queries'])} queries) -- not a fair test of "
            "text or hybrid: the caption itself is stored in its clip's human text",
            "",
            "| ranking | " + " | ".join(COLUMNS) + " |",
            "|---|" + "---|" * len(COLUMNS),
        ]
        lines += [f"| {n} | " + " | ".join(f"{f['people'][k]:.1f}" for k in COLUMNS) + " |"
                  for n, f in out.items()]  # fmt: skip
    lines += ["", "## The rule that picks the default", "", choice(out)]
    lines += [
        "",
        "## Does the confidence hint mean something? (all captions, the query defaults)",
        "",
        "The level `query` prints from how far the top score stands above the next 50 "
        f"(here: the {split} gallery). R@1 / R@5 of the queries at each level:",
        "",
        "| ranking | level | share of queries | R@1 | R@5 |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {mode} | {level} | {f['share']:.0f} % | {f['R@1']:.1f} | {f['R@5']:.1f} |"
              for mode, levels in calib.items() for level, f in levels.items()]  # fmt: skip
    return "\n".join(lines) + "\n"


def choice(out: dict[str, dict]) -> str:
    """The hybrid variant with the best label mAP among those within 1 point of dense R@1 and
    0.5 of its MnR on template captions; compared with what `dancesearch query` uses."""
    dense = out["dense"]["templates"]
    fair = {
        n: f for n, f in out.items()
        if n not in ("dense", "text")
        and f["templates"]["R@1"] >= dense["R@1"] - 1.0
        and f["templates"]["MnR"] <= dense["MnR"] + 0.5
    }  # fmt: skip
    if not fair:
        return "No hybrid variant keeps dense ranking's figures on captions: dense is the default."
    best = max(fair, key=lambda n: fair[n]["labels"]["mAP"])
    used = f"{HYBRID_FUSION} {HYBRID_WEIGHTS[0]:g}:{HYBRID_WEIGHTS[1]:g}"
    return (
        "Among the hybrid variants within 1 point of dense R@1 and 0.5 of its MnR on template "
        f"captions, the best label mAP is **{best}** ({fair[best]['labels']['mAP']:.1f}, dense "
        f"{out['dense']['labels']['mAP']:.1f}). `dancesearch query` uses {used}"
        + (" -- the same." if used == best else " -- re-check the setting.")
    )


if __name__ == "__main__":
    main()
