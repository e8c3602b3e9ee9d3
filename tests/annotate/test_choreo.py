import json
import shutil
from itertools import pairwise

import pytest

from dancesearch.annotate.choreo import (
    Dance,
    find_choreography,
    load_choreography,
    units_for_clip,
)
from dancesearch.errors import SourceError


@pytest.fixture(scope="module")
def dances(data):
    return load_choreography(data / "m2d_choreonet")


def test_units_of_the_readme_example(dances):
    w14 = dances["DANCE_W_14"]
    first, second = units_for_clip(w14, 0.0, 12.0)[:2]
    # README: W-1-1 covers song frames 0-102, W-22-1 103-153 (25 FPS)
    assert (first.name, first.beats, second.name, second.beats) == ("W-1-1", 6, "W-22-1", 3)
    assert first.start_s == 0.0 and first.end_s == pytest.approx(1231 / 72 * 6 / 25)
    assert 102 / 25 < second.start_s < 103 / 25 and 153 / 25 < second.end_s < 154 / 25


def test_a_clip_gets_the_units_of_its_window(dances):
    w14 = dances["DANCE_W_14"]
    units = units_for_clip(w14, 12.0, 12.0)
    assert units[0].start_s == 0.0 and units[-1].end_s == 12.0  # clamped to the clip
    assert all(a.end_s == pytest.approx(b.start_s) for a, b in pairwise(units))
    song = [u for u in w14.spans() if u[2] > 12.0 and u[1] < 24.0]
    assert [u.name for u in units] == [u[0] for u in song]
    assert units_for_clip(w14, 60.0, 12.0) == []  # past the end (1231 frames = 49.2 s)


def test_m2d_music_offset_lines_up_with_the_first_unit(dances):
    w8 = dances["DANCE_W_8"]  # m2d config: start_position 61; the clip's music starts there
    (first, *_) = units_for_clip(w8, 61 / 25, 12.0)
    assert first.name == w8.movements[0] and first.start_s == 0.0


def test_every_m2d_dance_has_an_entry(data, dances):
    folders = sorted(p.name for p in (data / "m2d").glob("DANCE_*") if p.is_dir())
    assert len(folders) == 43 and set(folders) <= set(dances)


def test_found_beside_the_m2d_folder(data, tmp_path):
    assert find_choreography([data / "m2d" / "DANCE_W_8"]) == data / "m2d_choreonet"
    assert find_choreography([data / "cmu" / "60_10.bvh"]) is None  # not an m2d dance
    assert find_choreography([tmp_path / "m2d" / "DANCE_W_8"]) is None


def test_broken_files_name_the_file(data, tmp_path):
    folder = tmp_path / "choreography"
    folder.mkdir()
    text = (data / "m2d_choreonet" / "choreography" / "C.json").read_text()
    (folder / "C.json").write_text(text[: len(text) // 2])
    with pytest.raises(SourceError, match="C.json.*not valid JSON"):
        load_choreography(tmp_path)
    entries = json.loads(text)
    entries[0]["durations"] = entries[0]["durations"][:-1]
    (folder / "C.json").write_text(json.dumps(entries))
    with pytest.raises(SourceError, match=r"C.json: DANCE_C_\d+: \d+ movements but \d+ durations"):
        load_choreography(tmp_path)
    shutil.rmtree(folder)
    with pytest.raises(SourceError, match="no choreography"):
        load_choreography(tmp_path)


def test_a_unit_grazing_the_clip_edge_does_not_count():
    # two 1-s units (25 song frames per beat at 25 FPS); the clip starts 0.04 s before unit 2
    dance = Dance("DANCE_X_1", 0, 50, ("A-1-1", "A-2-1"), (1.0, 1.0))
    units = units_for_clip(dance, music_start_s=0.96, duration_s=1.0)
    assert [u.name for u in units] == ["A-2-1"]
