"""Payloads built from the shared synthetic library (read-only), stored and searched in Qdrant
Edge in a folder of the test's own."""

from __future__ import annotations

import numpy as np

from dancesearch.catalogue import payloads
from dancesearch.storage.filters import SearchFilter
from dancesearch.storage.library import Library
from dancesearch.storage.open import open_store
from dancesearch.storage.qdrant import CollectionInfo, collection_name
from dancesearch.storage.store import Point


def test_payloads_of_a_library_are_stored_and_found(synthetic, tmp_path):
    built = payloads(Library(synthetic.library))
    by_id = {p["clip_id"]: p for p in built}
    assert sorted(by_id) == ["finedance/001@000000", "finedance/002@000000", "manifest/walk@000000"]
    walk = by_id["manifest/walk@000000"]
    assert (walk["genre"], walk["performer"], walk["has_music"]) == ("waltz", "Ann", "yes")
    assert (walk["source"], walk["split"], walk["licence"]) == ("manifest", "train", "CC BY 4.0")
    assert "genre.waltz" in walk["tags"] and {"auto", "human", "label"} <= set(walk["annotations"])
    assert "a calm walk forward" in walk["captions"] and "a calm walk forward" in walk["human_text"]
    assert "flowing" not in walk["human_text"]  # template captions are not human text
    assert by_id["finedance/001@000000"]["labels"]["song"] == "Song One"

    # stored beside, never inside, the shared library
    with open_store(None, Library(tmp_path / "lib", create=True)) as store:
        info = CollectionInfo(collection_name(store.uid, "fp0000000000"), "fp0000000000", 4, "t")
        store.create(info)
        rng = np.random.default_rng(0)
        store.upsert(info.name, [Point(p["clip_id"], rng.normal(size=4), p) for p in built])
        assert [h.clip_id for h in store.search_text(info.name, "walking")] == [walk["clip_id"]]
        assert store.count(info.name, SearchFilter(genres=("waltz",), has_music=True)) == 1
        assert store.count(info.name, SearchFilter(sources=("finedance",))) == 2
