"""An item's input hash covers every file its reader consults, so ingest notices edits."""

import json
import shutil

from dancesearch.ingest import input_hash
from tests.fixtures.smpl_fixtures import write_aistpp, write_finedance, write_wav


def test_finedance_song_labels_and_splits_count(tmp_path):
    write_finedance(tmp_path, numbers=("001",))
    item = tmp_path / "motion" / "001.npy"
    before = input_hash(item, "finedance")
    write_wav(tmp_path / "music_wav" / "001.wav", 5.0)
    after_song = input_hash(item, "finedance")
    (tmp_path / "label_json" / "001.json").write_text(json.dumps({"style2": "Popping"}))
    after_labels = input_hash(item, "finedance")
    (tmp_path / "splits.json").write_text(json.dumps({"cross_genre": {"test": ["001"]}}))
    assert len({before, after_song, after_labels, input_hash(item, "finedance")}) == 4


def test_aistpp_song_counts(tmp_path):
    write_aistpp(tmp_path)
    item = tmp_path / "motions" / "gBR_sBM_cAll_d04_mBR0_ch01.pkl"
    before = input_hash(item, "aistpp")
    write_wav(tmp_path / "wavs" / "mBR0.wav", 9.0)
    assert input_hash(item, "aistpp") != before


def test_cmu_descriptions_count_and_unrelated_files_do_not(data, tmp_path):
    for name in ("60_10_scaled.bvh", "descriptions.csv"):
        shutil.copy(data / "cmu" / name, tmp_path / name)
    item = tmp_path / "60_10_scaled.bvh"
    before = input_hash(item, "bvh")
    (tmp_path / "notes.txt").write_text("unrelated")
    assert input_hash(item, "bvh") == before
    with open(tmp_path / "descriptions.csv", "a") as fh:
        fh.write("99_01,99,waltz,Subject #99,\n")
    assert input_hash(item, "bvh") != before
