"""The library's evaluation history: each evaluation through Qdrant appends one line to
<library>/evaluation/history.jsonl, so a drop in R@K shows over time -- in the page of the
scheduled `evaluate-search` run's Prefect artifact (`page`) and in the file itself."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dancesearch.evaluation.report import markdown as figures_markdown
from dancesearch.storage.library import Library

FILE = Path("evaluation") / "history.jsonl"
SHOWN = ("R@1", "R@5", "R@10", "MedR", "MnR")
DROP_POINTS = 2.0  # R@1 (percentage points) lost since the last run that is worth a warning


def entry(result: dict[str, Any], when: datetime | None = None) -> dict[str, Any]:
    """One history line from an evaluate job's result (collection, fingerprint, split and the
    figures of each ranking mode): the full protocol's figures only."""
    when = when or datetime.now(UTC)
    return {
        "time": when.isoformat(timespec="seconds"),
        "collection": result["collection"],
        "fingerprint": result["fingerprint"],
        "split": result["split"],
        "full": {
            mode: {k: blocks["full"][k] for k in (*SHOWN, "gallery", "queries")}
            for mode, blocks in result["figures"].items()
        },  # fmt: skip
    }


def append(library: Library, line: dict[str, Any]) -> Path:
    """Append one line (a single write: a crash leaves whole lines only)."""
    path = library.root / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(line, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return path


def read(library: Library) -> list[dict[str, Any]]:
    """Every whole line of the history, oldest first (a torn last line is ignored)."""
    path = library.root / FILE
    if not path.is_file():
        return []
    out = []
    for text in path.read_text().splitlines():
        try:
            out.append(json.loads(text))
        except json.JSONDecodeError:
            continue
    return out


def drops(lines: list[dict[str, Any]]) -> list[str]:
    """Warnings for each mode whose R@1 fell by DROP_POINTS or more since the previous run on
    the same split."""
    if not lines:
        return []
    last = lines[-1]
    before = [line for line in lines[:-1] if line["split"] == last["split"]]
    if not before:
        return []
    out = []
    for mode, now in last["full"].items():
        was = before[-1]["full"].get(mode)
        if was and was["R@1"] - now["R@1"] >= DROP_POINTS:
            out.append(f"{mode} R@1 fell from {was['R@1']:.1f} to {now['R@1']:.1f} on "
                       f"{last['split']} since {before[-1]['time']}")  # fmt: skip
    return out


def markdown(lines: list[dict[str, Any]], last: int = 10) -> str:
    """The last runs as a markdown table (newest first): R@1 / MnR per mode."""
    if not lines:
        return "No evaluations yet."
    modes = list(lines[-1]["full"])
    head = "| time (UTC) | split | model | " + " | ".join(
        f"{m} R@1 | {m} MnR" for m in modes
    ) + " |"  # fmt: skip
    rows = [head, "|---" * (3 + 2 * len(modes)) + "|"]
    for line in reversed(lines[-last:]):
        cells = [line["time"].replace("T", " ")[:16], line["split"], line["fingerprint"]]
        for m in modes:
            f = line["full"].get(m)
            cells += [f"{f['R@1']:.1f}", f"{f['MnR']:.1f}"] if f else ["", ""]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def page(
    name: str, result: dict[str, Any], split: str, lines: list[dict[str, Any]]
) -> tuple[str, list[str]]:
    """The markdown of an evaluation of library `name` through Qdrant (an evaluate job's
    result) followed by the history `lines` (this run's included), and the warnings of R@1
    drops, which the page carries too."""
    warnings = drops(lines)
    text = "\n\n".join([
        f"# Evaluation of {name} (model {result['fingerprint']})",
        figures_markdown(result["figures"], split, blocks=("full",), via="Qdrant"),
        *[f"**Warning:** {w}" for w in warnings],
        "## History", markdown(lines),
    ])  # fmt: skip
    return text, warnings
