"""The table schema: rows built from records come back, through Parquet, as the same values."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dancesearch.clips import Clip
from dancesearch.skeleton import Sequence
from dancesearch.storage import schema


def parquet(rows: list[dict], tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "table.parquet"
    pd.DataFrame(rows).to_parquet(path, index=False)
    return pd.read_parquet(path)


def clip(**changes) -> Clip:
    base = dict(
        clip_id="bvh/take@000360", seq_id="bvh/take", source="bvh", start_frame=360,
        n_frames=180, has_music=False, music_path=None, music_start_s=None, genre=None,
        performer="Ann", group="bvh/take", labels={"style": "sharp", "category": "dance"},
        descriptions=["a turn"], licence="CC BY 4.0", credit="Ann Example",
    )  # fmt: skip
    return Clip(**{**base, **changes})


def test_clip_rows_have_the_schema_columns_and_parse_back(tmp_path):
    silent, with_music = clip(), clip(clip_id="x@0", has_music=True, music_path="s.wav",
                                     music_start_s=1.5, genre="waltz")  # fmt: skip
    rows = [schema.clip_row(silent, bpm=None), schema.clip_row(with_music, bpm=98.5)]
    assert all(tuple(row) == schema.CLIP_COLUMNS for row in rows)
    first, second = schema.records(parquet(rows, tmp_path), schema.clip_record)
    assert first["labels"] == {"category": "dance", "style": "sharp"}
    assert first["descriptions"] == ["a turn"]
    assert first["genre"] is None and first["bpm"] is None and first["music_start_s"] is None
    assert (first["start_s"], first["duration_s"]) == (12.0, 6.0)
    assert type(first["n_frames"]) is int and type(first["has_music"]) is bool
    assert (second["genre"], second["bpm"], second["music_start_s"]) == ("waltz", 98.5, 1.5)


def test_sequence_rows_round_trip(tmp_path):
    seq = Sequence(
        seq_id="bvh/take", source="bvh", path=Path("/data/take.bvh"),
        joints=np.zeros((90, 22, 3), np.float32), fps=30.0,
        joint_quality=("exact",) * 20 + ("approximated", "interpolated"),
        labels={"content": "walk"}, descriptions=["walking"],
    )  # fmt: skip
    row = schema.sequence_row(seq, Path("/data/take.bvh"), "bvh", bpm=None)
    assert tuple(row) == schema.SEQUENCE_COLUMNS
    (back,) = schema.records(parquet([row], tmp_path), schema.sequence_record)
    assert back["joint_quality"] == list(seq.joint_quality)
    assert back["labels"] == {"content": "walk"} and back["descriptions"] == ["walking"]
    assert back["duration_s"] == 3.0 and back["music_path"] is None and back["group"] == "bvh/take"


@pytest.mark.parametrize(
    ("evidence", "stored"),
    [(0.25, (0.25, None)), (3, (3.0, None)), ("waltz", (None, "waltz")), (None, (None, None))],
)
def test_tag_evidence_is_a_number_or_a_label(tmp_path, evidence, stored):
    row = schema.tag_row("c@0", "genre.waltz", "auto", evidence, None)
    frame = schema.tags_frame([row, schema.tag_row("c@0", "legs.kick", "expert", 0.5, "Bo")])
    assert list(frame.columns) == list(schema.TAG_COLUMNS) and row["facet"] == "genre"
    first, second = schema.records(parquet(frame.to_dict("records"), tmp_path), schema.tag_record)
    assert (first["evidence"], first["label"]) == stored and first["annotator"] is None
    assert second["annotator"] == "Bo"


def test_caption_tags_parse_back_as_a_list_and_empty_tables_keep_columns(tmp_path):
    row = schema.caption_row("c@0", "a fast waltz", "style", "template", ("genre.waltz",))
    (back,) = schema.records(parquet([row], tmp_path), schema.caption_record)
    assert back == {"clip_id": "c@0", "caption": "a fast waltz", "type": "style",
                    "source": "template", "tags": ["genre.waltz"]}  # fmt: skip
    assert list(schema.captions_frame([]).columns) == list(schema.CAPTION_COLUMNS)
    assert list(schema.tags_frame([]).columns) == list(schema.TAG_COLUMNS)


def test_item_rows_and_plain_values():
    row = schema.item_row("/d/a.bvh", "bvh", "ab12", "cd34", "skipped", "bad header", "2024")
    assert tuple(row) == schema.ITEM_COLUMNS
    assert [schema.plain(v) for v in (np.float32(1.5), np.int64(2), float("nan"), pd.NA)] == [
        1.5, 2, None, None,
    ]  # fmt: skip
