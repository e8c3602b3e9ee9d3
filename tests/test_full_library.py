"""The whole sample data, as a user ingests and annotates it (slow: about 70 s).

Stats agree with the data READMEs; every tag fires on 2-80 % of the clips it applies to, or has
a recorded reason; the split keeps sequences whole.
"""

import pytest

from dancesearch.annotate.pipeline import tag_frequencies
from dancesearch.flows.annotate import annotate
from dancesearch.flows.ingest import ingest
from dancesearch.storage.library import Library
from dancesearch.storage.stats import library_stats

# (sequences, minutes) per source and minutes per genre, as the READMEs under ../shared/data give
# (bandai: ../bandai 56 takes, 5.98 min, and ../bandai-extra 538 takes, 11.75 + 37.04 min)
README_SOURCES = {"m2d": (43, 46.17), "g1": (39, 19.11), "bandai": (594, 54.77), "cmu": (6, 2.54)}
README_GENRES = {"waltz": 26.81, "rumba": 11.68, "cha-cha": 6.02, "tango": 1.67, "salsa": 2.54}


# tags allowed outside 2-80 % on this data, and why
RARE_OR_COMMON = {
    "space.backward": "only Bandai's walk-back takes travel backwards; one is under 2 s",
    "genre.tango": "DANCE_T_5 is the only complete tango in m2d",
    "genre.salsa": "CMU's salsa couples are 2.5 of the 122 minutes: 15 of 982 clips",
}


@pytest.fixture(scope="module")
def full(data, tmp_path_factory):
    lib = tmp_path_factory.mktemp("full") / "lib"
    summary = ingest(str(data), library=str(lib), progress=False)
    report = annotate(str(lib))
    return Library(lib), summary, report


@pytest.mark.slow
def test_ingesting_all_shared_data_matches_the_readmes(full):
    library, summary, _ = full
    assert summary.skipped == []
    assert sorted(folder.rsplit("/", 1)[-1] for folder, _ in summary.unreadable) == [
        "finedance",  # metadata only: no motion/ folder
        "m2d_choreonet",  # annotations, used by annotate
    ]
    tables = library_stats(library)
    by_source = tables["source"].set_index("source")
    for source, (sequences, minutes) in README_SOURCES.items():
        assert by_source.loc[source, "sequences"] == sequences
        assert by_source.loc[source, "sequence_min"] == pytest.approx(minutes, abs=0.05)
        # windowing loss: short tails, short takes, static or broken windows
        assert minutes * 0.9 < by_source.loc[source, "clip_min"] <= minutes
    by_genre = tables["genre"].set_index("genre")
    for genre, minutes in README_GENRES.items():
        assert by_genre.loc[genre, "sequence_min"] == pytest.approx(minutes, abs=0.05)


@pytest.mark.slow
def test_every_tag_is_neither_everywhere_nor_nowhere(full):
    library, _, report = full
    freq = tag_frequencies(library).set_index("tag")
    outside = freq[(freq["share_eligible"] > 0.8) | (freq["share_eligible"] < 0.02)]
    assert set(outside.index) <= set(RARE_OR_COMMON), outside
    assert report.clips == len(library.clips()) and report.captions >= 5 * report.clips


@pytest.mark.slow
def test_the_split_keeps_sequences_whole_and_test_undominated(full):
    library, _, report = full
    splits = library.table("splits")
    assert splits.groupby("group")["split"].nunique().max() == 1
    assert report.split_problems == ["genres in train but not in test: tango (groups: 1)"]
