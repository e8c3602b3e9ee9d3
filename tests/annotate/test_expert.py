import json

import pytest

from dancesearch.annotate.expert import apply_expert, load_expert
from dancesearch.annotate.taxonomy import TagAssignment, Tagset, load_taxonomy
from dancesearch.errors import SourceError

TAX = load_taxonomy()
CLIP_SEQ = {"s1@0": "s1", "s1@360": "s1", "s2@0": "s2"}


def _auto() -> dict[str, Tagset]:
    """Automatic tags of three clips, and a genre from the source's label."""
    tagsets = {}
    for clip_id in CLIP_SEQ:
        tagsets[clip_id] = Tagset(
            clip_id,
            {
                "tempo.fast": TagAssignment("tempo.fast", "auto", 131.0),
                "legs.jump": TagAssignment("legs.jump", "auto", 2.0),
                "genre.waltz": TagAssignment("genre.waltz", "human", "waltz"),
            },
        )
    return tagsets


def test_csv_rows_per_sequence_and_per_clip(tmp_path):
    path = tmp_path / "anna.csv"
    path.write_text(
        "clip_id,seq_id,tags,annotator\n"
        "s1@0,,tempo.slow|-legs.jump,\n"  # per-clip rows win over per-sequence ones
        ",s1,tempo.moderate | arms.hold,Ben\n"
    )
    rows = load_expert(path, TAX)
    assert [(r.clip_id, r.seq_id, r.annotator) for r in rows] == [
        ("s1@0", None, "anna.csv"),
        (None, "s1", "Ben"),
    ]
    tagsets = _auto()
    changes, warnings = apply_expert(tagsets, rows, CLIP_SEQ, TAX)
    assert warnings == []
    clip = tagsets["s1@0"].tags
    assert set(clip) == {"tempo.slow", "arms.hold", "genre.waltz"}  # exclusive tempo replaced
    assert clip["tempo.slow"] == TagAssignment(
        "tempo.slow", "expert", "anna.csv line 2", "anna.csv"
    )
    assert clip["arms.hold"].annotator == "Ben" and clip["arms.hold"].source == "expert"
    other = tagsets["s1@360"].tags
    assert set(other) == {"tempo.moderate", "arms.hold", "legs.jump", "genre.waltz"}
    assert set(tagsets["s2@0"].tags) == {"tempo.fast", "legs.jump", "genre.waltz"}  # untouched
    # a change is one tag set or removed. s1@0: -fast +moderate, +hold, -jump, -moderate +slow;
    # s1@360: -fast +moderate, +hold
    assert changes == 6 + 3


def test_json_relabels_a_genre_and_warns_of_unknown_clips(tmp_path):
    path = tmp_path / "review.json"
    rows = [
        {"seq_id": "s2", "tags": ["genre.Hip Hop", "-tempo.fast"], "annotator": "Cy"},
        {"clip_id": "nope@0", "tags": ["legs.spin"]},
    ]
    path.write_text(json.dumps(rows))
    tagsets = _auto()
    changes, warnings = apply_expert(tagsets, load_expert(path, TAX), CLIP_SEQ, TAX)
    tags = tagsets["s2@0"].tags
    assert set(tags) == {"genre.hip-hop", "legs.jump"}  # the human genre label is replaced
    assert tags["genre.hip-hop"].source == "expert" and tags["genre.hip-hop"].annotator == "Cy"
    assert changes == 3
    assert warnings == ["review.json entry 2: unknown clip 'nope@0', row skipped"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "clip_id,tags\ns1@0,tempo.slow\ns1@360,legs.moonwalk\n",
            "line 3: unknown tag 'legs.moonwalk'",
        ),
        ("clip_id,seq_id,tags\ns1@0,s1,tempo.slow\n", "line 2: give exactly one of clip_id"),
        ("clip_id,tags\ns1@0,tempo.slow|tempo.fast\n", "line 2: tempo.fast, tempo.slow are in"),
        ("clip,tags\ns1@0,tempo.slow\n", "needs a 'tags' column"),
    ],
)
def test_bad_rows_name_the_file_and_row(tmp_path, text, problem):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(SourceError) as e:
        load_expert(path, TAX)
    assert str(e.value).startswith(str(path)) and problem in str(e.value)


def test_bad_json_names_the_entry(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"clip_id": "a", "tags": ["arms.raise"]}, {"clip_id": "b"}]))
    with pytest.raises(SourceError, match="bad.json: entry 2: no 'tags'"):
        load_expert(path, TAX)
    path.write_text("[{")
    with pytest.raises(SourceError, match="bad.json: not valid JSON"):
        load_expert(path, TAX)
