"""One renderer for both kinds of result: a model in memory beside chance and caption matching,
every protocol block; the ranking modes of a collection on the full protocol alone."""

from __future__ import annotations

from dancesearch.evaluation.report import COLUMNS, markdown


def block(r1: float, gallery: float, chance: bool = True) -> dict[str, float]:
    figures = {"R@1": r1, "R@5": 50.0, "R@10": 70.0, "MedR": 5.0, "MnR": 8.0,
               "gallery": gallery, "queries": 150.0}  # fmt: skip
    if chance:
        figures |= {f"chance {k}": 1.0 for k in COLUMNS}
    return figures


def figures(r1: float) -> dict[str, dict[str, float]]:
    return {"full": block(r1, 50), "batch32": block(r1, 32),
            "source: bandai": block(r1, 50, chance=False),
            "dance->text": block(r1, 150, chance=False)}  # fmt: skip


def test_a_model_with_every_block_its_chance_and_its_reference():
    text = markdown({"ckpt": figures(20.0)}, "val", {"caption matching": figures(9.0)})
    lines = text.splitlines()
    assert lines[0].startswith("Text -> dance on the val split: 50 clips, 150 queries;")
    assert lines[2] == "| protocol | who | gallery | " + " | ".join(COLUMNS) + " |"
    rows = [line.split(" | ")[:3] for line in lines[4:]]
    assert rows == [
        ["| full", "ckpt", "50"], ["| full", "chance", "50"], ["| full", "caption matching", "50"],
        ["| batch32", "ckpt", "32"], ["| batch32", "chance", "32"],
        ["| batch32", "caption matching", "32"],
        ["| source: bandai", "ckpt", "50"], ["| source: bandai", "caption matching", "50"],
        ["| dance->text", "ckpt", "150"],  # no reference for dance -> text
    ]  # fmt: skip
    assert lines[4].endswith("| 20.0 | 50.0 | 70.0 | 5.0 | 8.0 |")


def test_the_modes_of_a_collection_on_one_protocol_need_no_protocol_column():
    modes = {"dense": figures(20.0), "text": figures(12.0), "hybrid": figures(22.0)}
    lines = markdown(modes, "test", blocks=("full",), via="Qdrant").splitlines()
    assert lines[0].startswith("Text -> dance through Qdrant on the test split: 50 clips")
    assert "the full protocol" in lines[0]
    assert lines[2] == "| who | gallery | " + " | ".join(COLUMNS) + " |"
    assert [line.split(" | ")[0] for line in lines[4:]] == [
        "| dense", "| text", "| hybrid", "| chance"
    ]  # fmt: skip
