"""Which clips an annotate run annotates: only new or changed ones, the others keeping their
stored rows exactly, unless something that decides the annotations changed (then all)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from dancesearch.annotate.pipeline import AnnotateConfig, annotate_library, annotations_current
from dancesearch.annotate.plan import annotation_inputs, plan_annotation, taxonomy_of
from dancesearch.annotate.recorded import record_config
from dancesearch.flows.ingest import ingest
from dancesearch.storage.library import Library

FIRST = ["dataset-1_walk_normal_001.bvh", "dataset-1_kick_normal_001.bvh",
         "dataset-1_run_normal_001.bvh"]  # fmt: skip
ADDED = "dataset-1_walk_happy_001.bvh"
TABLES = ("descriptors", "tags", "captions", "choreography")


def link(data: Path, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(data / "bandai" / name)


@pytest.fixture(scope="module")
def annotated(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three Bandai takes, ingested and annotated with an expert file that also names the
    sequence added later."""
    root = tmp_path_factory.mktemp("plan")
    for name in FIRST:
        link(data, root / "data", name)
    ingest(str(root / "data"), library=str(root / "lib"), progress=False)
    (root / "expert.csv").write_text(
        "seq_id,tags,annotator\nbandai/dataset-1_walk_happy_001,tempo.fast,Ann\n"
    )
    lib = Library(root / "lib")
    config = AnnotateConfig(expert_files=(root / "expert.csv",))
    annotate_library(lib, config)
    record_config(lib, config)
    return root


@pytest.fixture
def copy(annotated: Path, tmp_path: Path) -> Path:
    """A copy of the library and its data folder (the expert file stays where it was)."""
    for name in ("lib", "data"):
        shutil.copytree(annotated / name, tmp_path / "root" / name, symlinks=True)
    return tmp_path / "root"


@pytest.fixture
def config(annotated: Path) -> AnnotateConfig:
    return AnnotateConfig(expert_files=(annotated / "expert.csv",))


def rows(lib: Library, table: str, clip_ids: set[str]) -> pd.DataFrame:
    """The table's rows of these clips, as plain values (a column's dtype may change when new
    rows bring its first value: the values must not)."""
    frame = lib.table(table)
    mine = frame[frame["clip_id"].isin(clip_ids)].reset_index(drop=True).astype(object)
    return mine.where(mine.notna(), None)


def test_a_rerun_with_nothing_new_annotates_nothing_and_writes_nothing(copy, config):
    lib = Library(copy / "lib")
    plan = plan_annotation(lib, config)
    assert plan.nothing and len(plan.kept) == len(lib.clips())
    assert annotations_current(lib)
    before = {p: p.read_bytes() for p in (copy / "lib" / "annotations").iterdir()}
    report = annotate_library(lib, config)
    assert report.clips == 0 and report.calibration.startswith("reused")
    assert {p: p.read_bytes() for p in (copy / "lib" / "annotations").iterdir()} == before


def test_a_new_file_is_the_only_one_measured_tagged_and_captioned(copy, config, data, monkeypatch):
    lib = Library(copy / "lib")
    old = set(lib.clips()["clip_id"])
    before = {t: rows(lib, t, old) for t in TABLES}
    split_before = lib.table("splits")
    link(data, copy / "data", ADDED)
    ingest(str(copy / "data"), library=str(lib.root), progress=False)
    assert not annotations_current(lib)
    plan = plan_annotation(lib, config)
    new = set(lib.clips()["clip_id"]) - old
    assert new and not plan.full and set(plan.todo) == new and plan.kept == old
    measured: list[str] = []
    load = Library.load_motion
    monkeypatch.setattr(Library, "load_motion", lambda self, s: measured.append(s) or load(self, s))
    report = annotate_library(lib, config)
    assert set(measured) == {"bandai/dataset-1_walk_happy_001"}  # the new sequence only
    assert report.clips == len(new) and report.kept == len(old)
    for table in TABLES:
        pd.testing.assert_frame_equal(rows(lib, table, old), before[table])
    splits = lib.table("splits").set_index("seq_id")
    pd.testing.assert_frame_equal(
        splits.loc[split_before["seq_id"]], split_before.set_index("seq_id")
    )
    assert "bandai/dataset-1_walk_happy_001" in splits.index
    tags = rows(lib, "tags", new)
    assert ("tempo.fast", "expert") in set(zip(tags["tag"], tags["source"], strict=True))
    assert set(rows(lib, "captions", new)["clip_id"]) == new
    assert annotations_current(lib)


def test_a_changed_file_is_annotated_again_and_a_removed_one_dropped(copy, config):
    lib = Library(copy / "lib")
    clips = lib.clips()
    walk, kick = "bandai/dataset-1_walk_normal_001", "bandai/dataset-1_kick_normal_001"
    items = lib.table("items")
    items.loc[items["item"].str.endswith("walk_normal_001.bvh"), "input_hash"] = "0" * 16
    lib.write_table("items", items)  # as if the walk's file had been rewritten
    lib.write_table("clips", clips[clips["seq_id"] != kick])
    plan = plan_annotation(lib, config)
    assert not plan.full and plan.removed == (clips["seq_id"] == kick).sum()
    assert set(plan.todo) == set(clips.loc[clips["seq_id"] == walk, "clip_id"])
    annotate_library(lib, config)
    assert set(lib.table("tags")["clip_id"]) == set(clips.loc[clips["seq_id"] != kick, "clip_id"])
    assert annotations_current(lib)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda lib, c: (c, replace(c, seed=1)), "seed 0 -> 1"),
        (lambda lib, c: (c, replace(c, recalibrate=True)), "recalibrate asked for"),
        (lambda lib, c: (c, replace(c, captions_per_clip=3)), "captions_per_clip 6 -> 3"),
        (lambda lib, c: (c, replace(c, expert_files=())), "expert_files"),
        (lambda lib, c: (lib.record("ingest", {"feature_key": "other"}), c), "feature_key"),
        (
            lambda lib, c: (
                lib.write_json(
                    "annotation",
                    {k: v for k, v in lib.read_json("annotation").items() if k != "inputs"},
                ),
                c,
            ),
            "do not record what they were made from",
        ),
        (
            lambda lib, c: (
                lib.write_json(
                    "annotation", {**lib.read_json("annotation"), "calibration_fit": {"on": "all"}}
                ),
                c,
            ),
            "thresholds must be refitted",
        ),
    ],
)
def test_what_decides_the_annotations_makes_a_full_run(copy, config, change, why):
    lib = Library(copy / "lib")
    _, config = change(lib, config)
    plan = plan_annotation(lib, config)
    assert plan.full and why in plan.why, plan.why
    assert plan.todo == list(lib.clips()["clip_id"])


def test_an_edited_expert_file_changes_the_inputs(copy, tmp_path):
    lib = Library(copy / "lib")
    path = tmp_path / "expert.csv"
    path.write_text("seq_id,tags\n")
    config = AnnotateConfig(expert_files=(path,))
    before = annotation_inputs(lib, config, taxonomy_of(config))
    path.write_text("seq_id,tags\nbandai/dataset-1_walk_normal_001,tempo.slow\n")
    assert (
        annotation_inputs(lib, config, taxonomy_of(config))["expert_files"]
        != (before["expert_files"])
    )
