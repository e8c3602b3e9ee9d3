"""Tables and a plot from the runs of benchmarks/retrieval.py (see there)."""

from __future__ import annotations

import json
import platform
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

PAPER, DEFAULT, PROBE = "customdancer-paper", "default", "linear-probe"
METRICS = ("R@1", "R@5", "R@10", "MedR", "MnR")
EXTRA = (
    ("one caption per clip", "R@1"),
    ("one caption per clip", "R@10"),
    ("one caption per clip", "MedR"),
    ("threshold", "R@1"),
    ("threshold", "R@10"),
    ("batch32", "R@1"),
    ("queries: people", "R@10"),
    ("queries: templates", "R@10"),
    ("clips: with music", "R@10"),
    ("clips: silent", "R@10"),
    ("dance->text", "R@10"),
)


def _ms(values: list[float], digits: int = 1) -> str:
    v = np.asarray(values, dtype=float)
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def _se(values: list[float]) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0


def fixed_tables(runs: list[dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        if r["fold"] is None:
            by_name[r["name"]].append(r)
    if not by_name:
        return [], {}
    first = next(iter(by_name.values()))[0]
    full, cm = first["model"]["full"], first["caption_matching"]["full"]
    seeds = sorted({r["seed"] for rs in by_name.values() for r in rs})
    lines = [
        f"### Fixed split: test gallery of {int(full['gallery'])} clips, "
        f"{int(full['queries'])} queries (every test caption), seeds {seeds}",
        "",
        "Full-gallery text -> dance, mean ± std over seeds. Chance and caption matching "
        "(MiniLM similarity of the query to each clip's *other* captions: no motion, no music) "
        "are references.",
        "",
        "| model | " + " | ".join(METRICS) + " | train s | best step |",
        "|---|" + "---|" * (len(METRICS) + 2),
        "| chance | " + " | ".join(f"{full['chance ' + k]:.1f}" for k in METRICS) + " | | |",
        "| caption matching | " + " | ".join(f"{cm[k]:.1f}" for k in METRICS) + " | | |",
    ]
    if first.get("rule_tags"):
        rt = first["rule_tags"]["full"]
        lines.append("| rule tags | " + " | ".join(f"{rt[k]:.1f}" for k in METRICS) + " | | |")
    if "ceiling R@1" in full:
        lines.append(f"| duplicate-caption ceiling | {full['ceiling R@1']:.1f} | | | | | | |")
    summary: dict[str, Any] = {"gallery": full["gallery"], "queries": full["queries"]}
    for name, rs in by_name.items():
        cells = [_ms([r["model"]["full"][k] for r in rs]) for k in METRICS]
        secs = _ms([r["seconds"] for r in rs], 0)
        steps = _ms([r["best_step"] for r in rs], 0)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {secs} | {steps} |")
        summary[name] = {
            k: float(np.mean([r["model"]["full"][k] for r in rs])) for k in METRICS
        } | {"seconds": float(np.mean([r["seconds"] for r in rs]))}
    lines += [
        "",
        "Other protocols and breakdowns (R@K in %, mean ± std over seeds): one caption per clip "
        "is comparable with TMR's figures (each clip's first generated caption, ties averaged); "
        "threshold counts every clip the query is true of (the same caption, or every tag a "
        "generated caption claims); batch32 ranks within seeded batches of 32 clips; people = "
        "human-written and source-label queries.",
        "",
        "| model | " + " | ".join(f"{p} {k}" for p, k in EXTRA) + " |",
        "|---|" + "---|" * len(EXTRA),
    ]
    ref = first["caption_matching"]
    chance_row = [
        f"{first['model'][p]['chance ' + k]:.1f}" if f"chance {k}" in first["model"][p] else ""
        for p, k in EXTRA
    ]
    lines.append("| chance | " + " | ".join(chance_row) + " |")
    lines.append(
        "| caption matching | "
        + " | ".join(
            f"{ref[p][k]:.1f}" if p in ref and p != "dance->text" else "" for p, k in EXTRA
        )
        + " |"
    )
    if first.get("rule_tags"):
        rt = first["rule_tags"]
        cells = [f"{rt[p][k]:.1f}" if p in rt and p != "dance->text" else "" for p, k in EXTRA]
        lines.append("| rule tags | " + " | ".join(cells) + " |")
    for name, rs in by_name.items():
        cells = [
            _ms([r["model"][p][k] for r in rs]) if p in rs[0]["model"] else "" for p, k in EXTRA
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines, summary


def cv_tables(runs: list[dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """Per model and fold, the mean over its seeds; then mean ± SE over folds, and the paired
    per-fold differences against the paper."""
    cells: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        if r["fold"] is not None:
            cells[r["name"]][r["fold"]].append(r)
    if not cells:
        return [], {}
    names = list(cells)
    folds = sorted(cells[names[0]])
    seeds = sorted({r["seed"] for per in cells.values() for rs in per.values() for r in rs})

    def fold_mean(name: str, fold: int, key: str, block: str = "model") -> float:
        return float(np.mean([r[block]["full"][key] for r in cells[name][fold]]))

    galleries = [int(cells[names[0]][f][0]["model"]["full"]["gallery"]) for f in folds]
    lines = [
        f"### {len(folds)}-fold cross-validation over whole sequence groups, seeds {seeds}",
        "",
        f"Test galleries per fold: {galleries} clips ({sum(galleries)} in all: every clip is "
        "tested once; every caption of a fold's test clips is a query). Each fold's figure is "
        "the mean over the seeds; mean ± standard error over folds.",
        "",
        "| model | " + " | ".join(METRICS) + " |",
        "|---|" + "---|" * len(METRICS),
    ]

    def row(label: str, values: dict[str, list[float]]) -> str:
        return (
            f"| {label} | "
            + " | ".join("{:.1f} ± {:.1f}".format(*_se(values[k])) for k in METRICS)
            + " |"
        )

    first = names[0]
    chance = {
        k: [cells[first][f][0]["model"]["full"]["chance " + k] for f in folds] for k in METRICS
    }
    lines.append(row("chance", chance))
    ref = {k: [fold_mean(first, f, k, "caption_matching") for f in folds] for k in METRICS}
    lines.append(row("caption matching", ref))
    if cells[first][folds[0]][0].get("rule_tags"):
        rt = {k: [fold_mean(first, f, k, "rule_tags") for f in folds] for k in METRICS}
        lines.append(row("rule tags", rt))
    if "ceiling R@1" in cells[first][folds[0]][0]["model"]["full"]:
        ceiling = [cells[first][f][0]["model"]["full"]["ceiling R@1"] for f in folds]
        lines.append(f"| duplicate-caption ceiling | {np.mean(ceiling):.1f} (R@1) | | | | |")
    summary: dict[str, Any] = {"galleries": galleries, "seeds": seeds}
    for name in names:
        values = {k: [fold_mean(name, f, k) for f in folds] for k in METRICS}
        lines.append(row(name, values))
        summary[name] = {k: _se(v) for k, v in values.items()}
    for ref_name in (PAPER, PROBE):
        if ref_name not in cells:
            continue
        lines += [
            "",
            f"Paired per-fold differences against {ref_name} (positive R@1 and negative MnR are "
            "better); 'beats' needs both means beyond twice their standard error.",
            "",
            "| model | ΔR@1 per fold | ΔR@1 mean ± SE | ΔMnR per fold | ΔMnR mean ± SE "
            f"| beats {ref_name} |",
            "|---|---|---|---|---|---|",
        ]
        for name in names:
            if name in (PAPER, ref_name):
                continue
            d1 = [fold_mean(name, f, "R@1") - fold_mean(ref_name, f, "R@1") for f in folds]
            dm = [fold_mean(name, f, "MnR") - fold_mean(ref_name, f, "MnR") for f in folds]
            (m1, s1), (mm, sm) = _se(d1), _se(dm)
            beats = m1 > 2 * s1 and mm < -2 * sm
            lines.append(
                f"| {name} | {', '.join(f'{d:+.1f}' for d in d1)} | {m1:+.2f} ± {s1:.2f} | "
                f"{', '.join(f'{d:+.1f}' for d in dm)} | {mm:+.2f} ± {sm:.2f} | "
                f"{'yes' if beats else 'no'} |"
            )
            summary[f"{name} - {ref_name}"] = {"R@1": (m1, s1), "MnR": (mm, sm), "beats": beats}
    return lines, summary


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        if r["fold"] is None:
            by_name[r["name"]].append(r)
    if not by_name:
        return
    names = list(by_name)
    fig, ax = plt.subplots(figsize=(11, 4))
    x = np.arange(len(names))
    for i, k in enumerate(("R@1", "R@5", "R@10")):
        vals = [[r["model"]["full"][k] for r in by_name[n]] for n in names]
        ax.bar(
            x + (i - 1) * 0.27,
            [np.mean(v) for v in vals],
            0.27,
            yerr=[np.std(v) for v in vals],
            label=k,
        )
    first = by_name[names[0]][0]
    for i, k in enumerate(("R@1", "R@5", "R@10")):
        ax.axhline(first["model"]["full"]["chance " + k], color=f"C{i}", ls=":", lw=1)
        ax.axhline(first["caption_matching"]["full"][k], color=f"C{i}", ls="--", lw=1)
    ax.set_xticks(x, names, rotation=35, ha="right")
    ax.set_ylabel("text -> dance recall, % (test)")
    ax.set_title("Fixed split, mean ± std over seeds; dotted: chance, dashed: caption matching")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(runs: list[dict[str, Any]], args: Any, out: Path, seconds: float) -> None:
    fixed, fixed_summary = fixed_tables(runs)
    cv, cv_summary = cv_tables(runs)
    total_train = sum(r["seconds"] for r in runs)
    header = [
        "# Text -> dance retrieval on the real library",
        "",
        "`benchmarks/retrieval.py` (see its docstring). Machine: "
        f"{platform.machine()}, {__import__('os').cpu_count()} cores, CPU only; "
        f"{args.workers} runs in parallel, one thread each. {len(runs)} runs, "
        f"{total_train / 60:.1f} min of training and evaluation in all, about "
        f"{total_train / 60 / args.workers:.0f} min of wall time. Ties are ranked "
        "pessimistically; every figure is on the full test gallery unless the protocol says.",
        "",
    ]
    embeds = [r for r in runs if r.get("embed_library_s")]
    if embeds:
        secs = [r["embed_library_s"] for r in embeds]
        header += [
            f"Embedding the whole library ({embeds[0]['library_clips']} clips) with the default "
            f"model: median {np.median(secs):.1f} s (one thread, per seed: "
            f"{', '.join(f'{s:.1f}' for s in secs)} s).",
            "",
        ]
    text = "\n".join([*header, *fixed, "", *cv, "", "![recall per model](retrieval.png)", ""])
    (out / "retrieval.md").write_text(text)
    (out / "retrieval.json").write_text(
        json.dumps({"fixed": fixed_summary, "cv": cv_summary}, indent=1)
    )
    plot(runs, out / "retrieval.png")
    print(text)
