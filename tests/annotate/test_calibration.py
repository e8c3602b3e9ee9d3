"""The tagger's thresholds: fitted on the train split's clips only, stored with the library and
reused by later runs (new clips are tagged with them, existing clips keep their tags) until
`annotate --recalibrate` or a new taxonomy version refits them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from dancesearch.annotate.pipeline import (
    AnnotateConfig,
    annotate_library,
    calibrate,
    train_clip_ids,
)
from dancesearch.annotate.tagger import fit_calibration
from dancesearch.annotate.taxonomy import load_taxonomy
from dancesearch.cli import main
from dancesearch.flows.ingest import ingest
from dancesearch.storage.library import Library

FIRST = [  # walks, runs and a dash in several styles: the train split gets a spread of motion
    "dataset-1_walk_normal_001.bvh",
    "dataset-1_walk_tired_001.bvh",
    "dataset-1_walk_proud_001.bvh",
    "dataset-1_walk_old_001.bvh",
    "dataset-1_run_normal_001.bvh",
    "dataset-1_run_sad_001.bvh",
    "dataset-1_run_giant_001.bvh",
    "dataset-1_dash_normal_001.bvh",
]
ADDED = [  # faster, bigger moves than most of FIRST: a refit that saw them would move thresholds
    "dataset-1_dash_angry_001.bvh",
    "dataset-1_dash_happy_001.bvh",
    "dataset-1_run_active_001.bvh",
    "dataset-1_run_chimpira_001.bvh",
    "dataset-1_kick_normal_001.bvh",
    "dataset-1_punch_normal_001.bvh",
]


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def link(data: Path, folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).symlink_to(data / "bandai" / name)


def tag_rows(tags: pd.DataFrame, clip_ids: set[str]) -> set[tuple[object, ...]]:
    mine = tags[tags["clip_id"].isin(clip_ids)]
    return set(mine.astype(str).itertuples(index=False, name=None))


def train_fit(library: Library) -> dict:
    """fit_calibration over the stored descriptors of the clips the stored split puts in train."""
    descriptors = library.table("descriptors")
    train = train_clip_ids(library.clips(), library.table("splits"))
    return fit_calibration(
        descriptors[descriptors["clip_id"].isin(train)], load_taxonomy()
    ).to_dict()


@dataclass(frozen=True)
class Grown:
    root: Path
    first: dict  # annotation.json after the first annotate
    first_tags: pd.DataFrame
    first_output: str
    second_output: str


@pytest.fixture(scope="module")
def grown(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Grown:
    """A Bandai library annotated, then grown by more files, ingested and annotated again."""
    root = tmp_path_factory.mktemp("calibration")
    link(data, root / "data", FIRST)
    ingest(str(root / "data"), library=str(root / "lib"), progress=False)
    first = run("annotate", "--library", root / "lib")
    assert first.exit_code == 0, first.output
    lib = Library(root / "lib")
    meta, tags = lib.read_json("annotation"), lib.table("tags")
    link(data, root / "data", ADDED)
    ingest(str(root / "data"), library=str(root / "lib"), progress=False)
    second = run("annotate", "--library", root / "lib")
    assert second.exit_code == 0, second.output
    return Grown(root, meta, tags, first.output, second.output)


def test_the_first_annotate_fits_on_the_train_clips_only(grown: Grown) -> None:
    assert "tagger thresholds: fitted on" in grown.first_output
    fit = grown.first["calibration_fit"]
    assert fit["on"] == "train" and 0 < fit["clips"] < len(FIRST)  # some clips are held out


def test_a_second_annotate_reuses_the_stored_thresholds_and_keeps_existing_tags(
    grown: Grown,
) -> None:
    lib = Library(grown.root / "lib")
    meta = lib.read_json("annotation")
    assert "tagger thresholds: reused" in grown.second_output
    assert meta["calibration"] == grown.first["calibration"]
    assert meta["calibration_fit"] == grown.first["calibration_fit"]
    old = set(grown.first_tags["clip_id"])
    assert tag_rows(lib.table("tags"), old) == tag_rows(grown.first_tags, old)
    new = set(lib.clips()["clip_id"]) - old
    assert new and new <= set(lib.table("tags")["clip_id"])  # the new clips are tagged
    # the reuse matters: the grown train split alone would give other thresholds
    assert train_fit(lib)["thresholds"] != meta["calibration"]["thresholds"]


def test_recalibrate_refits_on_the_train_clips_of_now(grown: Grown, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    shutil.copytree(grown.root / "lib", root)
    result = run("annotate", "--library", root, "--recalibrate")
    assert result.exit_code == 0, result.output
    assert "tagger thresholds: fitted on" in result.output and "recalibrate" in result.output
    lib = Library(root)
    meta = lib.read_json("annotation")
    assert meta["calibration"] == train_fit(lib)
    assert meta["calibration"]["thresholds"] != grown.first["calibration"]["thresholds"]
    assert meta["calibration_fit"]["clips"] > grown.first["calibration_fit"]["clips"]
    # --recalibrate is for one run: the next plain annotate reuses the new thresholds
    again = run("annotate", "--library", root)
    assert "tagger thresholds: reused" in again.output
    assert lib.read_json("annotation")["calibration"] == meta["calibration"]


def test_a_held_out_clip_with_extreme_descriptors_moves_no_threshold(
    grown: Grown, tmp_path: Path
) -> None:
    shutil.copytree(grown.root / "lib", tmp_path / "lib")
    lib = Library(tmp_path / "lib")
    descriptors = lib.table("descriptors")
    train = train_clip_ids(lib.clips(), lib.table("splits"))
    held_out = descriptors.index[~descriptors["clip_id"].isin(train)]
    assert len(held_out) and len(train)
    extreme = descriptors.copy()
    numeric = extreme.select_dtypes("number").columns
    extreme.loc[held_out[0], numeric] = extreme[numeric].abs().max() * 1000 + 1000

    report = annotate_library(lib, AnnotateConfig(recalibrate=True), descriptors=extreme)
    stored = lib.read_json("annotation")["calibration"]
    assert report.calibration.startswith("fitted on") and stored == train_fit(lib)
    assert (
        stored
        == fit_calibration(
            descriptors[descriptors["clip_id"].isin(train)], load_taxonomy()
        ).to_dict()
    )
    # what the old behaviour (all clips) would have stored differs
    assert fit_calibration(extreme, load_taxonomy()).to_dict()["thresholds"] != stored["thresholds"]


def test_the_calibration_is_refitted_for_a_new_taxonomy_or_an_all_clips_fit() -> None:
    taxonomy = load_taxonomy()
    descriptors = pd.DataFrame({"clip_id": ["a", "b", "c", "d"], "body_speed": [1.0, 2, 3, 40]})
    cal, fit, text = calibrate(descriptors, {"a", "b", "c"}, taxonomy)
    assert fit["on"] == "train" and fit["clips"] == 3 and "none stored" in text
    assert cal.to_dict() == fit_calibration(descriptors[:3], taxonomy).to_dict()
    stored = {"calibration": cal.to_dict(), "calibration_fit": fit}
    again, _, text = calibrate(descriptors, {"a", "b", "c", "d"}, taxonomy, stored)
    assert text.startswith("reused") and again.to_dict() == cal.to_dict()
    older = {**stored, "calibration": {**cal.to_dict(), "taxonomy_version": "0"}}
    assert "taxonomy 0 ->" in calibrate(descriptors, {"a"}, taxonomy, older)[2]
    before_split = {"calibration": cal.to_dict()}  # stored before train-only fitting
    assert "fitted on all clips" in calibrate(descriptors, {"a"}, taxonomy, before_split)[2]
    cal, fit, text = calibrate(descriptors, set(), taxonomy)  # no train clips: all of them
    assert fit == {**fit, "on": "all", "clips": 4}
    assert cal.to_dict() == fit_calibration(descriptors, taxonomy).to_dict()
