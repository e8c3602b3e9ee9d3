"""Word forms in text search: a query word finds the clips whose labels it names, whether the
engine's stemmer joins the forms (waving / wave) or the clip's label text holds the form people
type (angrily for style angry, backwards for content walk-back)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from dancesearch.annotate.labels import label_captions
from dancesearch.storage.bm25 import text_vector
from dancesearch.storage.library import Library
from dancesearch.storage.open import open_store
from dancesearch.storage.qdrant import CollectionInfo, collection_name
from dancesearch.storage.schema import clip_payload
from dancesearch.storage.store import Point, Store

DATASET_1 = {
    "content": ["bow", "bye", "byebye", "call", "dance-long", "dance-short", "dash", "guide",
                "kick", "punch", "respond", "run", "slash", "walk", "walk-back", "walk-left",
                "walk-right"],
    "style": ["active", "angry", "childish", "chimpira", "feminine", "giant", "happy",
              "masculinity", "musical", "normal", "not-confident", "old", "proud", "sad", "tired"],
}  # fmt: skip
DATASET_2 = {
    "content": ["walk", "walk-turn-left", "walk-turn-right", "run", "wave-both-hands",
                "wave-left-hand", "wave-right-hand", "raise-up-both-hands", "raise-up-left-hand",
                "raise-up-right-hand"],
    "style": ["active", "elderly", "exhausted", "feminine", "masculine", "normal", "youthful"],
}  # fmt: skip
DIM = 4

Labels = dict[str, str]
# query word -> which labels it must find (every clip so labelled, and only those)
WORDS: dict[str, Callable[[Labels], bool]] = {
    "angrily": lambda lab: lab["style"] == "angry",
    "waving": lambda lab: lab["content"].startswith("wave-"),
    "backwards": lambda lab: lab["content"] == "walk-back",
    "sadly": lambda lab: lab["style"] == "sad",
    "happily": lambda lab: lab["style"] == "happy",
    "proudly": lambda lab: lab["style"] == "proud",
    "tiredly": lambda lab: lab["style"] == "tired",
    "tired": lambda lab: lab["style"] == "tired",
    "raising": lambda lab: lab["content"].startswith("raise-up-"),
    "turning": lambda lab: lab["content"].startswith("walk-turn-"),
    "elderly": lambda lab: lab["style"] in ("old", "elderly"),
    "masculine": lambda lab: lab["style"] in ("masculinity", "masculine"),
    "unconfidently": lambda lab: lab["style"] == "not-confident",
    "thug": lambda lab: lab["style"] == "chimpira",
}


def labelled_payload(content: str, style: str, dataset: str = "dataset-1") -> dict[str, Any]:
    """The payload of a Bandai clip with these labels, its captions as annotate writes them."""
    labels = {"dataset": dataset, "content": content, "style": style, "take": "001"}
    seq_id = f"bandai/{dataset}_{content}_{style}_001"
    record = {
        "clip_id": f"{seq_id}@000000", "seq_id": seq_id, "source": "bandai", "genre": None,
        "performer": None, "bpm": None, "has_music": False, "labels": labels, "start_s": 0.0,
        "duration_s": 5.0, "licence": "CC BY-NC 4.0", "credit": "Bandai Namco Research",
    }  # fmt: skip
    captions = [{"caption": "a generated template caption", "source": "template"}]
    captions += [{"caption": c.text, "source": c.source} for c in label_captions(labels)]
    return clip_payload(record, [], captions, "train")


def every_labelled_payload() -> list[dict[str, Any]]:
    return [
        labelled_payload(content, style, dataset)
        for dataset, names in (("dataset-1", DATASET_1), ("dataset-2", DATASET_2))
        for content in names["content"]
        for style in names["style"]
    ]


def terms(text: str, query: bool = False) -> set[int]:
    return set(text_vector(text, query=query)[0])


def test_each_query_word_is_a_term_of_the_document_it_names() -> None:
    document = terms(labelled_payload("walk-back", "angry")["human_text"], query=False)
    query = terms("walking backwards angrily", query=True)
    assert len(query) == 3 and query <= document  # each word scores
    for word in ["walking", "backwards", "angrily"]:
        assert terms(word, query=True) and terms(word, query=True) <= document, word
    for word, names in WORDS.items():
        for p in every_labelled_payload():
            hit = terms(word, query=True) <= terms(p["human_text"])
            assert hit == names(p["labels"]), (word, p["human_text"])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str]]:
    """A Qdrant Edge collection of one clip per Bandai content x style."""
    library = Library(tmp_path_factory.mktemp("words") / "lib", create=True)
    rng = np.random.default_rng(0)
    with open_store(None, library) as s:
        info = CollectionInfo(collection_name(s.uid, "abc123def456"), "abc123def456", DIM, "test")
        s.create(info)
        points = [
            Point(p["clip_id"], rng.normal(size=DIM).astype(np.float32), p)
            for p in every_labelled_payload()
        ]
        s.upsert(info.name, points)
        yield s, info.name


@pytest.mark.parametrize("word", list(WORDS))
def test_text_search_finds_every_clip_so_labelled_and_no_other(
    store: tuple[Store, str], word: str
) -> None:
    s, name = store
    hits = s.search_text(name, word, limit=1000)
    expected = {p["clip_id"] for p in every_labelled_payload() if WORDS[word](p["labels"])}
    assert {h.clip_id for h in hits} == expected


def test_walking_backwards_angrily_ranks_the_angry_walk_back_first(
    store: tuple[Store, str],
) -> None:
    s, name = store
    hits = s.search_text(name, "walking backwards angrily", limit=3)
    assert hits[0].clip_id == "bandai/dataset-1_walk-back_angry_001@000000"
