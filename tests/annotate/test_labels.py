"""Source labels as searchable text: verbatim, titles also split into words, nothing invented."""

from __future__ import annotations

import pytest

from dancesearch.annotate.labels import label_captions, split_words


@pytest.mark.parametrize(
    ("title", "words"),
    [
        ("B_SpinKarate", "B Spin Karate"),
        ("J_Dance8_WestCoast", "J Dance 8 West Coast"),
        ("J_ShortDance16_JazzWalk", "J Short Dance 16 Jazz Walk"),
        ("walk-back", "walk back"),
        ("Side Kick", "Side Kick"),
        ("DWG", "DWG"),
    ],
)
def test_titles_split_into_words(title: str, words: str) -> None:
    assert split_words(title) == words


def texts(labels: dict[str, str], genre: str | None = None) -> list[str]:
    return [c.text for c in label_captions(labels, genre)]


def test_g1_title_and_style_become_captions() -> None:
    labels = {"category": "karate", "style": "Spin", "title": "B_SpinKarate"}
    assert texts(labels) == ["Spin karate", "B_SpinKarate", "B Spin Karate"]
    caps = label_captions(labels)
    assert {(c.type, c.source) for c in caps} == {("label", "label")}
    assert all(c.tags == () for c in caps)  # people's words claim no tag


def test_camel_case_style_is_kept_and_split() -> None:
    assert texts({"category": "dance", "style": "WestCoast"}) == [
        "WestCoast dance",
        "West Coast dance",
    ]


def test_bandai_content_and_style() -> None:
    assert texts({"content": "run", "style": "tired", "take": "001"}) == ["a run in a tired style"]
    assert texts({"content": "walk-back", "style": "normal"}) == ["a walk back"]
    assert texts({"content": "arm-swing", "style": "not-confident"}) == [
        "an arm swing in a not confident style"
    ]


def test_genre_and_other_labels_are_kept_verbatim_and_bookkeeping_is_not() -> None:
    labels = {"category": "dance", "dance_id": "W_8", "mood": "Dreamy", "format": "bvh"}
    assert texts(labels, "waltz") == ["waltz", "Dreamy"]


def test_every_word_comes_from_a_label() -> None:
    labels = {"category": "karate", "style": "Front Kick", "title": "M_Move18"}
    source_words = {w.lower() for v in labels.values() for w in split_words(v).split()}
    for text in texts(labels):
        assert {w.lower() for w in text.split()} <= source_words | {"m_move18"}
