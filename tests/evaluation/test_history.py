"""The evaluation history: whole lines only, newest first in the table, and a warning when
R@1 falls."""

from __future__ import annotations

from datetime import UTC, datetime

from dancesearch.evaluation import history
from dancesearch.storage.library import Library


def result(r1: float, split: str = "test") -> dict:
    full = {"R@1": r1, "R@5": 50.0, "R@10": 70.0, "MedR": 5.0, "MnR": 8.0, "gallery": 50.0,
            "queries": 150.0}  # fmt: skip
    figures = {"dense": {"full": full, "threshold": full}, "hybrid": {"full": full}}
    return {"collection": "c", "fingerprint": "abc123", "split": split, "figures": figures}


def test_history_appends_whole_lines_and_warns_when_r1_falls(tmp_path):
    lib = Library(tmp_path / "lib", create=True)
    assert history.read(lib) == [] and history.markdown([]) == "No evaluations yet."
    history.append(lib, history.entry(result(20.0), datetime(2026, 11, 30, 3, tzinfo=UTC)))
    history.append(lib, history.entry(result(19.5, "val")))  # another split: not compared
    history.append(lib, history.entry(result(17.0), datetime(2026, 12, 1, 3, tzinfo=UTC)))
    with (lib.root / history.FILE).open("a") as f:
        f.write('{"time": "2026-12-0')  # a run killed mid-write
    lines = history.read(lib)
    assert [line["split"] for line in lines] == ["test", "val", "test"]
    assert set(lines[0]["full"]) == {"dense", "hybrid"} and "threshold" not in lines[0]["full"]
    warnings = history.drops(lines)
    assert len(warnings) == 2 and "from 20.0 to 17.0" in warnings[0]
    table = history.markdown(lines).splitlines()
    assert table[2].startswith("| 2026-12-01 03:00 | test | abc123 | 17.0 |")  # newest first
    assert len(table) == 2 + 3


def test_no_warning_for_a_small_change():
    lines = [history.entry(result(20.0)), history.entry(result(18.5))]
    assert history.drops(lines) == []


def test_the_published_page_holds_the_figures_the_warnings_and_the_history():
    lines = [history.entry(result(20.0)), history.entry(result(17.0))]
    text, warnings = history.page("mylib", result(17.0), "test", lines)
    assert warnings == history.drops(lines) and len(warnings) == 2
    assert text.startswith("# Evaluation of mylib (model abc123)\n\nText -> dance through Qdrant")
    assert f"**Warning:** {warnings[0]}" in text
    assert text.endswith("## History\n\n" + history.markdown(lines))
    quiet, none = history.page("mylib", result(20.0), "test", lines[:1])
    assert none == [] and "Warning" not in quiet
