"""The one markdown table of evaluation figures, for a model evaluated in memory (beside its
caption-matching reference) and for the ranking modes of a collection evaluated through
Qdrant alike: per protocol block a row for each ranker, then chance, then the references."""

from __future__ import annotations

from dancesearch.evaluation.protocols import Figures

COLUMNS = ("R@1", "R@5", "R@10", "MedR", "MnR")


def markdown(
    rankers: dict[str, Figures],
    split: str,
    references: dict[str, Figures] | None = None,
    blocks: tuple[str, ...] | None = None,
    via: str | None = None,
) -> str:
    """rankers: who -> figures (a model's name, or the modes "dense", "text", "hybrid");
    references: rows shown under chance (caption matching), never for dance -> text;
    blocks: the protocol blocks to show (None: every block of the first ranker) -- with one
    block, the table has no protocol column; via: what ranked ("Qdrant"), for the title."""
    references = references or {}
    first = next(iter(rankers.values()))
    shown = blocks or tuple(first)
    full = first["full"]
    lines = [
        f"Text -> dance{f' through {via}' if via else ''} on the {split} split: "
        f"{int(full['gallery'])} clips, {int(full['queries'])} queries"
        f"{f', the {shown[0]} protocol' if len(shown) == 1 else ''}; "
        "ties ranked pessimistically.",
        "",
    ]
    head = ["who", "gallery", *COLUMNS]
    if len(shown) > 1:
        head = ["protocol", *head]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for block in shown:
        figures = first[block]
        rows = [(who, f[block]) for who, f in rankers.items() if block in f]
        if "chance R@1" in figures:
            rows.append(("chance", {k: figures[f"chance {k}"] for k in COLUMNS}))
        if block != "dance->text":
            rows += [(who, f[block]) for who, f in references.items() if block in f]
        for who, f in rows:
            cells = [who, str(int(figures["gallery"])), *(f"{f[k]:.1f}" for k in COLUMNS)]
            if len(shown) > 1:
                cells = [block, *cells]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
