import json

import pandas as pd
import pytest

from dancesearch.annotate.splits import check_splits, extend_splits, make_splits, split_table
from dancesearch.errors import ConfigError
from dancesearch.sources.finedance import split_labels


def _seq(seq_id, genre=None, performer=None, group=None, minutes=1.0, source="x", **labels):
    return {
        "seq_id": seq_id,
        "source": source,
        "group": group or seq_id,
        "genre": genre,
        "performer": performer,
        "duration_s": minutes * 60,
        "labels": json.dumps({"category": "dance", **labels}),
    }


@pytest.fixture
def library():
    """Genres of 30, 10, 4 and 3 groups, two performers, partner pairs and a lone tango."""
    rows = [_seq(f"w/{i}", "waltz", minutes=1 + i % 3) for i in range(30)]
    rows += [
        _seq(f"r/{i}", "rumba", ("Ann", "Bob")[i % 2], minutes=0.5 + i / 10) for i in range(10)
    ]
    for i in range(4):  # partners: two recordings of one dance share a group
        for who in ("60", "61"):
            rows.append(_seq(f"s/{who}_{i}", "salsa", f"subject {who}", group=f"s/trial_{i}"))
    rows += [_seq(f"c/{i}", "cha-cha", ("Ann", "Ann", "Bob")[i]) for i in range(3)]
    rows.append(_seq("t/0", "tango"))
    return pd.DataFrame(rows)


def test_whole_groups_go_to_one_split(library):
    splits = make_splits(library)
    assert list(splits["seq_id"]) == list(library["seq_id"])
    assert (splits.groupby("group")["split"].nunique() == 1).all()
    assert splits[splits["seq_id"].str.startswith("s/")].groupby("group").size().eq(2).all()
    assert not [p for p in check_splits(library, splits) if "is in" in p]


def test_seeded_and_deterministic(library):
    a, b, c = make_splits(library, seed=0), make_splits(library, seed=0), make_splits(library, 1)
    pd.testing.assert_frame_equal(a, b)
    assert (a["split"] != c["split"]).any()


def test_every_genre_with_three_groups_is_in_every_split(library):
    splits = make_splits(library).merge(library[["seq_id", "genre"]], on="seq_id")
    for genre in ("waltz", "rumba", "salsa", "cha-cha"):  # cha-cha: 2 Ann + 1 Bob, pooled
        assert set(splits.loc[splits["genre"] == genre, "split"]) == {"train", "val", "test"}
    assert set(splits.loc[splits["genre"] == "tango", "split"]) == {"train"}  # 1 group
    waltz = splits[splits["genre"] == "waltz"].merge(library[["seq_id", "duration_s"]])
    share = waltz.groupby("split")["duration_s"].sum() / waltz["duration_s"].sum()
    assert share["train"] == pytest.approx(0.8, abs=0.05)
    assert share["test"] == pytest.approx(0.1, abs=0.05)


def test_bad_fractions_are_refused(library):
    with pytest.raises(ConfigError):
        make_splits(library, fractions=(0.5, 0.1, 0.1))
    with pytest.raises(ConfigError):
        make_splits(library, fractions=(0.0, 0.5, 0.5))


def test_finedance_keeps_its_official_cross_genre_split(data, library):
    official = json.loads((data / "finedance" / "splits.json").read_text())["cross_genre"]
    rows = [
        _seq(f"finedance/{n:03d}", ("jazz", "popping", "kpop")[n % 3], source="finedance",
             **split_labels(f"{n:03d}", {"cross_genre": official}))
        for n in range(1, 212)
    ]  # fmt: skip
    table = pd.concat([library, pd.DataFrame(rows)], ignore_index=True)
    splits = make_splits(table, seed=3).set_index("seq_id")["split"]
    fine = splits[splits.index.str.startswith("finedance/")]
    expected_test = {f"finedance/{n}" for n in official["test"]} - {
        f"finedance/{n}"
        for n in official["excluded"]  # 120 and 130: excluded wins
    }
    assert set(fine[fine == "test"].index) == expected_test
    assert set(fine[fine == "excluded"].index) == {f"finedance/{n}" for n in official["excluded"]}
    assert (fine == "val").sum() == 0  # cross_genre has no validation part
    assert (fine == "train").sum() == 211 - len(expected_test) - len(official["excluded"])
    assert (splits[~splits.index.str.startswith("finedance/")] == "val").any()


def test_check_flags_a_group_split_apart_and_a_dominated_test_split():
    seqs = pd.DataFrame(
        [_seq(f"a/{i}", "waltz", "Ann", minutes=3) for i in range(4)]
        + [_seq(f"b/{i}", "tango", "Bob") for i in range(4)]
        + [_seq("p/1", "tango", "Bob", group="p"), _seq("p/2", "tango", "Cy", group="p")]
    )
    split = ["train", "train", "test", "val", "train", "train", "test", "val", "train", "test"]
    problems = check_splits(seqs, pd.DataFrame({"seq_id": seqs["seq_id"], "split": split}))
    assert any("group p is in test and train" in p for p in problems)
    assert any("dominated by genre 'waltz'" in p for p in problems)
    assert any("dominated by performer 'Ann'" in p for p in problems)
    fair = ["train", "train", "test", "val", "train", "train", "test", "val", "test", "test"]
    assert check_splits(seqs, pd.DataFrame({"seq_id": seqs["seq_id"], "split": fair})) == []


def test_check_warns_of_genres_missing_from_test(library):
    problems = check_splits(library, make_splits(library))
    assert problems == ["genres in train but not in test: tango (groups: 1)"]


def test_split_table_counts_clips_per_genre_and_split(library):
    splits = make_splits(library)
    clips = pd.DataFrame(
        [
            {**row, "clip_id": f"{row['seq_id']}@{k}"}
            for row in library.to_dict("records")
            for k in range(1 + len(row["seq_id"]) % 3)
        ]
    )
    clips.loc[0, "genre"] = None  # falls back to the category label
    table = split_table(clips, splits)
    assert list(table.columns) == ["train", "val", "test", "total"]
    assert table.loc["total", "total"] == len(clips)
    assert (table.drop(index="total").sum() == table.loc["total"]).all()
    assert (table.drop(columns="total").sum(axis=1) == table["total"]).all()
    assert table.loc["dance", "total"] == len(clips[clips["seq_id"] == clips.loc[0, "seq_id"]])


def test_test_split_is_not_dominated_where_the_library_is(library):
    splits = make_splits(library).merge(library[["seq_id", "genre", "duration_s"]])
    test = splits[splits["split"] == "test"]
    waltz = library.loc[library["genre"] == "waltz", "duration_s"].sum()
    assert waltz / library["duration_s"].sum() > 0.7
    assert test.loc[test["genre"] == "waltz", "duration_s"].sum() <= test["duration_s"].sum() / 2
    assert "waltz" in set(test["genre"])


def _grown(library):
    """library less one waltz, plus 20 waltzes, a third recording of a salsa trial and four
    groups of a new genre."""
    rows = [_seq(f"w/new{i}", "waltz", minutes=1 + i % 2) for i in range(20)]
    rows.append(_seq("s/62_0", "salsa", "subject 62", group="s/trial_0"))
    rows += [_seq(f"f/{i}", "foxtrot", minutes=2) for i in range(4)]
    return pd.concat([library[library["seq_id"] != "w/0"], pd.DataFrame(rows)], ignore_index=True)


def test_a_grown_library_keeps_every_stored_split_and_places_the_new_groups(library):
    stored = make_splits(library)
    grown = _grown(library)
    extended = extend_splits(grown, stored)
    assert list(extended["seq_id"]) == list(grown["seq_id"])  # w/0 left with its sequence
    old = extended[extended["seq_id"].isin(stored["seq_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, stored[stored["seq_id"] != "w/0"].reset_index(drop=True))
    # made afresh, the split would have moved some stored sequences: that is what is avoided
    fresh = make_splits(grown).set_index("seq_id")["split"]
    assert (fresh.reindex(old["seq_id"]).to_numpy() != old["split"].to_numpy()).any()
    by_seq = extended.set_index("seq_id")
    assert by_seq.loc["s/62_0", "split"] == by_seq.loc["s/60_0", "split"]  # its group's
    assert set(by_seq.loc[[f"f/{i}" for i in range(4)], "split"]) == {"train", "val", "test"}
    # the new waltzes top the stratum up towards its shares
    waltz = extended.merge(grown[["seq_id", "genre", "duration_s"]])
    waltz = waltz[waltz["genre"] == "waltz"]
    share = waltz.groupby("split")["duration_s"].sum() / waltz["duration_s"].sum()
    assert share["val"] == pytest.approx(0.1, abs=0.02)  # all new ones in train: 0.07
    assert share["test"] == pytest.approx(0.1, abs=0.02)
    assert (extended.groupby("group")["split"].nunique() == 1).all()
    pd.testing.assert_frame_equal(extend_splits(grown, stored), extended)  # deterministic


def test_extending_an_unchanged_library_or_none_stored_is_make_splits(library):
    stored = make_splits(library, seed=2)
    pd.testing.assert_frame_equal(extend_splits(library, stored, seed=2), stored)
    grown = _grown(library)
    pd.testing.assert_frame_equal(extend_splits(grown, pd.DataFrame()), make_splits(grown))
