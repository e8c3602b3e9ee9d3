"""Annotation end to end on a small real library: every source, the flow and the CLI; and the
batching of descriptors the annotate flow runs in parallel."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dancesearch.annotate.captions import validate
from dancesearch.annotate.pipeline import (
    annotations_current,
    descriptor_batches,
    join_descriptors,
    library_descriptors,
    source_descriptors,
    train_clip_ids,
)
from dancesearch.annotate.tagger import fit_calibration
from dancesearch.annotate.taxonomy import TagAssignment, Tagset, load_taxonomy
from dancesearch.cli import main
from dancesearch.flows.ingest import ingest
from dancesearch.storage.library import Library
from tests.fixtures import motions as fx

PICKS = {
    "m2d": ["DANCE_W_24", "DANCE_C_8", "DANCE_R_2"],
    "cmu": ["60_10_scaled.bvh", "61_10_scaled.bvh", "descriptions.csv"],
    "g1": ["J_Dance2_Salsa.npz", "M_ShortMove13.npz", "labels.csv"],
    "bandai": ["dataset-1_walk_normal_001.bvh", "dataset-1_kick_normal_001.bvh"],
}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def library(data, tmp_path_factory):
    root = tmp_path_factory.mktemp("annotate")
    for source, names in PICKS.items():
        (root / "data" / source).mkdir(parents=True)
        for name in names:
            (root / "data" / source / name).symlink_to(data / source / name)
    (root / "data" / "m2d_choreonet").symlink_to(data / "m2d_choreonet")
    ingest(str(root / "data"), library=str(root / "lib"), progress=False)
    expert = root / "expert.csv"
    expert.write_text(
        "clip_id,tags,annotator\nm2d/DANCE_W_24@000000,tempo.fast|-arms.hold,Ms Expert\n"
    )
    result = run("annotate", "--library", root / "lib", "--expert", expert)
    assert result.exit_code == 0, result.output
    return Library(root / "lib"), result.output


def test_every_clip_is_tagged_and_captioned_with_valid_captions(library):
    lib, _ = library
    clips, tags, captions = lib.clips(), lib.table("tags"), lib.table("captions")
    assert set(captions["clip_id"]) == set(clips["clip_id"])
    taxonomy = load_taxonomy()
    by_clip = {
        cid: Tagset(cid, {r.tag: TagAssignment(r.tag, r.source) for r in g.itertuples()})
        for cid, g in tags.groupby("clip_id")
    }
    written = captions[captions["source"] == "template"]
    assert len(written) >= 2 * len(clips)
    for row in written.itertuples():
        assert validate(row.caption, by_clip[row.clip_id], taxonomy) == [], row.caption
    humans = captions[captions["source"] == "human"]
    assert "salsa dance" in set(humans["caption"])  # CMU's own trial description
    silent = tags.merge(clips[["clip_id", "has_music"]])
    music_facets = {"tempo", "rhythm", "valence", "energy", "musicality"}
    assert not (silent[~silent["has_music"]]["facet"].isin(music_facets)).any()


def test_expert_tags_override_and_keep_provenance(library):
    lib, _ = library
    tags = lib.table("tags")
    clip = tags[tags["clip_id"] == "m2d/DANCE_W_24@000000"].set_index("tag")
    assert clip.loc["tempo.fast", "source"] == "expert"
    assert clip.loc["tempo.fast", "annotator"] == "Ms Expert"
    assert "tempo.slow" not in clip.index and "arms.hold" not in clip.index
    assert clip.loc["genre.waltz", "source"] == "human"


def test_split_keeps_sequences_and_partners_whole(library):
    lib, output = library
    splits = lib.table("splits")
    assert splits.groupby("group")["split"].nunique().max() == 1
    partners = splits[splits["seq_id"].str.startswith("cmu/")]
    assert partners["split"].nunique() == 1  # 60_10 and 61_10 dance together
    assert "## split" in output and "## tag frequencies" in output


def test_the_tagger_thresholds_come_from_the_train_clips_only(library):
    lib, output = library
    descriptors, clips = lib.table("descriptors"), lib.clips()
    train = train_clip_ids(clips, lib.table("splits"))
    assert train  # (one group per genre here, all in train: test_calibration.py holds some out)
    meta = lib.read_json("annotation")
    expected = fit_calibration(descriptors[descriptors["clip_id"].isin(train)], load_taxonomy())
    assert meta["calibration"] == expected.to_dict()
    assert meta["calibration_fit"]["on"] == "train"
    assert "tagger thresholds: fitted on" in output


def test_annotations_written_with_other_label_words_are_out_of_date(library, tmp_path):
    lib, _ = library
    copy = Library(shutil.copytree(lib.root, tmp_path / "lib"))
    assert annotations_current(copy)
    meta = copy.read_json("annotation")
    copy.write_json("annotation", {**meta, "label_words": "an older label_words.toml"})
    assert not annotations_current(copy)  # so build and refresh annotate again


def test_choreography_units_cover_ballroom_clips(library):
    lib, _ = library
    units = lib.table("choreography")
    first = units[units["clip_id"] == "m2d/DANCE_W_24@000000"]
    assert len(first) >= 3 and first["unit"].str.startswith("W-").all()
    assert first["start_s"].min() >= 0 and first["end_s"].max() <= 12.0 + 1e-6


def test_show_and_stats_present_the_annotations(library):
    lib, _ = library
    text = run("library", "show", "m2d/DANCE_W_24@000000", "--library", lib.root).output
    for expected in ("genre.waltz", "tempo.fast", "expert", "captions:", "split:", "Tang"):
        assert expected in text
    details = json.loads(
        run("library", "show", "cmu/60_10_scaled@000360", "--library", lib.root, "--json").stdout
    )
    assert details["annotations_current"] and details["music"] is None
    assert any(c["source"] == "human" for c in details["captions"])
    stats = json.loads(run("library", "stats", "--library", lib.root, "--json").stdout)
    tag_rows = {row["tag"]: row for row in stats["tag"]}
    assert tag_rows["genre.waltz"]["clips"] >= 3 and "share_eligible" in tag_rows["legs.steps"]


def test_a_bad_expert_file_stops_before_any_work(library, tmp_path):
    lib, _ = library
    bad = tmp_path / "bad.csv"
    bad.write_text("clip_id,tags\nm2d/DANCE_W_24@000000,legs.moonwalk\n")
    before = lib.table("tags")
    result = run("annotate", "--library", lib.root, "--expert", bad)
    assert result.exit_code == 2 and "bad.csv" in result.output and "legs.moonwalk" in result.output
    assert lib.table("tags").equals(before)


def test_descriptors_are_measured_in_one_batch_per_source_and_joined(tmp_path):
    lib = Library(tmp_path / "lib", create=True)
    assert descriptor_batches(lib) == []  # no clips: not even a feature key is asked for
    assert join_descriptors([]).empty
    lib.record("ingest", {"feature_key": "k"})
    for seq_id, joints in (("t/a", fx.walk(4.0)), ("s/b", fx.jumps(3.0))):
        lib.save_motion(seq_id, joints)
        lib.save_features(seq_id, "k", motion=np.zeros((len(joints), 1)))
    clips = pd.DataFrame({"clip_id": ["t/a@000000", "s/b@000000"], "seq_id": ["t/a", "s/b"],
                          "source": ["t", "s"], "start_frame": [0, 0], "n_frames": [120, 90],
                          "has_music": [False, False], "bpm": [None, None]})  # fmt: skip
    lib.write_table("clips", clips)
    batches = descriptor_batches(lib)
    assert batches == [("s", "k"), ("t", "k")]
    frames = [source_descriptors(lib, source, key) for source, key in batches]
    assert [list(f["clip_id"]) for f in frames] == [["s/b@000000"], ["t/a@000000"]]
    joined = join_descriptors(frames)
    expected = library_descriptors(lib, clips.iloc[[1, 0]], "k").reset_index(drop=True)
    pd.testing.assert_frame_equal(joined, expected)
