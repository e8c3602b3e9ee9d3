"""`dancesearch embed`: incremental, idempotent, atomic for readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dancesearch.indexing.embed import INPUT_KEY, embed_library
from dancesearch.search.query import Searcher
from dancesearch.storage.library import Library
from dancesearch.storage.open import open_store
from tests.fixtures.searchable import run
from tests.search.test_search import folder_state


def embed_json(library: Path) -> dict:
    result = run("embed", "--library", library, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_rerun_over_an_unchanged_library_writes_nothing(library_copy):
    before = folder_state(library_copy)
    summary = embed_json(library_copy)
    assert not summary["changed"] and summary["embedded"] == 0
    assert folder_state(library_copy) == before


def test_only_changed_clips_are_encoded_and_clips_that_left_are_removed(library_copy):
    lib = Library(library_copy)
    clips = lib.clips()
    gone = clips["seq_id"] == "bandai/dataset-1_walk_happy_001"
    assert 0 < gone.sum() < len(clips)
    lib.write_table("clips", clips[~gone])
    captions = lib.table("captions")
    edited = captions["clip_id"] == clips[~gone]["clip_id"].iloc[0]
    captions.loc[edited.idxmax(), "caption"] = "a brand new human description"
    captions.loc[edited.idxmax(), "source"] = "human"
    lib.write_table("captions", captions)
    with open_store(None, lib) as store:
        old = store.current()

    summary = embed_json(library_copy)
    assert summary["removed"] == gone.sum()
    assert summary["embedded"] == 1  # the clip whose caption changed
    assert summary["copied"] == len(clips) - gone.sum() - 1
    assert summary["collection"] != old and summary["dropped"] == [old]
    with open_store(None, lib) as store:
        assert store.current() == summary["collection"]
        assert store.names() == [summary["collection"]]
        assert store.count(summary["collection"]) == len(clips) - gone.sum()
    out = run("query", "brand new", "--mode", "text", "--library", library_copy, "--json")
    assert json.loads(out.stdout)["results"][0]["clip_id"] == clips[~gone]["clip_id"].iloc[0]


def test_only_the_features_of_the_clips_encoded_are_read(library_copy, monkeypatch):
    lib = Library(library_copy)
    captions = lib.table("captions")
    clip_id = captions["clip_id"].iloc[0]
    captions.loc[0, "caption"] = "a brand new description"
    lib.write_table("captions", captions)
    read: list[str] = []
    load = Library.load_features

    def spy(self: Library, seq_id: str, feature_key: str) -> dict:
        read.append(seq_id)
        return load(self, seq_id, feature_key)

    monkeypatch.setattr(Library, "load_features", spy)
    summary = embed_json(library_copy)
    assert summary["embedded"] == 1 and summary["copied"] == len(lib.clips()) - 1
    assert read == [lib.clip(clip_id)["seq_id"]]  # not every sequence of the library


def test_a_new_text_model_makes_the_text_vectors_again_without_encoding_a_dance(
    library_copy, monkeypatch
):
    from dancesearch.indexing import embed
    from dancesearch.storage import store

    newer = f"{embed.TEXT_MODEL}, newer"
    monkeypatch.setattr(store, "TEXT_MODEL", newer)  # this install makes another text model
    refused = run("query", "walk", "--mode", "text", "--library", library_copy)
    assert refused.exit_code == 2 and "embed again" in refused.output
    monkeypatch.setattr(embed, "TEXT_MODEL", newer)
    summary = embed_json(library_copy)
    assert summary["embedded"] == 0 and summary["copied"] == summary["clips"]
    assert len(summary["dropped"]) == 1
    found = run("query", "walk", "--mode", "text", "--library", library_copy)
    assert found.exit_code == 0, found.output
    assert not embed_json(library_copy)["changed"]


def test_a_failed_embed_leaves_the_current_collection_whole_and_a_rerun_completes(
    library_copy, monkeypatch
):
    lib = Library(library_copy)
    clips = lib.clips()
    lib.write_table("clips", clips.iloc[1:])  # one clip leaves: a new collection is built
    with open_store(None, lib) as store:
        current, count = store.current(), store.count(store.current() or "")

    from dancesearch.storage.store import Store

    real_points = Store.points

    def points_then_crash(self, name):
        for i, p in enumerate(real_points(self, name)):
            if i == 50:
                raise RuntimeError("the machine went away mid-embed")
            yield p

    monkeypatch.setattr(Store, "points", points_then_crash)
    with open_store(None, lib) as store, pytest.raises(RuntimeError):
        embed_library(lib, library_copy / "models" / "default", store)
    with open_store(None, lib) as store:
        assert store.current() == current and store.count(current or "") == count
    with Searcher.open(library_copy) as searcher:
        assert searcher.search("waltz", limit=3).results  # readers never saw the partial one
    monkeypatch.setattr(Store, "points", real_points)
    with open_store(None, lib) as store:
        summary = embed_library(lib, library_copy / "models" / "default", store)
        assert store.count(summary.collection) == len(clips) - 1
        assert set(store.hashes(summary.collection, INPUT_KEY)) == set(clips["clip_id"][1:])
        assert store.names() == [summary.collection]
