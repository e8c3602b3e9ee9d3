"""The whole sample data, as a user ingests it: stats agree with the data READMEs (slow)."""

import pytest

from dancesearch.flows.ingest import ingest
from dancesearch.storage.library import Library
from dancesearch.storage.stats import library_stats

# (sequences, minutes) per source and minutes per genre, as the READMEs under ../shared/data give
README_SOURCES = {"m2d": (43, 46.17), "g1": (39, 19.11), "bandai": (56, 5.98), "cmu": (6, 2.54)}
README_GENRES = {"waltz": 26.81, "rumba": 11.68, "cha-cha": 6.02, "tango": 1.67, "salsa": 2.54}


@pytest.mark.slow
def test_ingesting_all_shared_data_matches_the_readmes(data, tmp_path):
    summary = ingest(str(data), library=str(tmp_path / "lib"), progress=False)
    assert summary.skipped == []
    assert sorted(folder.rsplit("/", 1)[-1] for folder, _ in summary.unreadable) == [
        "finedance",  # metadata only: no motion/ folder
        "m2d_choreonet",  # annotations, used by annotate
    ]
    tables = library_stats(Library(tmp_path / "lib"))
    by_source = tables["source"].set_index("source")
    for source, (sequences, minutes) in README_SOURCES.items():
        assert by_source.loc[source, "sequences"] == sequences
        assert by_source.loc[source, "sequence_min"] == pytest.approx(minutes, abs=0.05)
        # windowing loss: short tails, short takes, static or broken windows
        assert minutes * 0.9 < by_source.loc[source, "clip_min"] <= minutes
    by_genre = tables["genre"].set_index("genre")
    for genre, minutes in README_GENRES.items():
        assert by_genre.loc[genre, "sequence_min"] == pytest.approx(minutes, abs=0.05)
