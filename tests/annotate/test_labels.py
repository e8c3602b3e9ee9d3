"""Source labels as searchable text: verbatim, titles also split into words, nothing invented."""

from __future__ import annotations

import pytest

from dancesearch.annotate.labels import label_captions, label_words, said, split_words


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


def test_bandai_content_and_style_verbatim_then_as_said() -> None:
    assert texts({"content": "run", "style": "tired", "take": "001"}) == [
        "a run in a tired style",
        "run tiredly",
    ]
    assert texts({"content": "walk-back", "style": "normal"}) == ["a walk back", "walk backwards"]
    assert texts({"content": "walk-back", "style": "angry"}) == [
        "a walk back in an angry style",  # the article agrees with the word after it
        "walk backwards angrily",
    ]
    assert texts({"content": "raise-up-left-hand", "style": "elderly"}) == [
        "a raise up left hand in an elderly style",
        "raise the left hand up like an old, elderly person",
    ]
    assert texts({"content": "walk", "style": "normal"}) == ["a walk"]  # nothing new to say
    caps = label_captions({"content": "wave-right-hand", "style": "youthful"})
    assert [c.text for c in caps] == [
        "a wave right hand in a youthful style",
        "wave the right hand youthfully",
    ]
    assert {(c.type, c.source, c.tags) for c in caps} == {("label", "label", ())}


def test_labels_the_word_list_does_not_know_are_read_as_their_words() -> None:
    assert texts({"content": "arm-swing", "style": "not-confident"}) == [
        "an arm swing in a not confident style",
        "arm swing unconfidently",
    ]
    assert said("sideStep", "bouncy") == "side step bouncy"
    assert texts({"content": "side-step", "style": "bouncy"}) == ["a side step in a bouncy style"]


BANDAI = {  # every label of Bandai's dataset-1 and dataset-2
    "content": {"bow", "bye", "byebye", "call", "dance-long", "dance-short", "dash", "guide",
                "kick", "punch", "respond", "run", "slash", "walk", "walk-back", "walk-left",
                "walk-right", "walk-turn-left", "walk-turn-right", "wave-both-hands",
                "wave-left-hand", "wave-right-hand", "raise-up-both-hands", "raise-up-left-hand",
                "raise-up-right-hand"},
    "style": {"active", "angry", "childish", "chimpira", "feminine", "giant", "happy",
              "masculinity", "musical", "normal", "not-confident", "old", "proud", "sad", "tired",
              "elderly", "exhausted", "masculine", "youthful"},
}  # fmt: skip


def test_the_word_list_says_every_bandai_label_and_only_those() -> None:
    words = label_words()
    assert {k: set(v) for k, v in words.items()} == BANDAI
    assert all(words["content"].values())
    assert [k for k, v in words["style"].items() if not v] == ["normal"]
    assert said("walk-turn-left", "normal") == "walk and turn left"
    assert said("dash", "chimpira") == "dash at a sprint like a thug (chimpira)"


def test_genre_and_other_labels_are_kept_verbatim_and_bookkeeping_is_not() -> None:
    labels = {"category": "dance", "dance_id": "W_8", "mood": "Dreamy", "format": "bvh"}
    assert texts(labels, "waltz") == ["waltz", "Dreamy"]


def test_every_word_comes_from_a_label() -> None:
    labels = {"category": "karate", "style": "Front Kick", "title": "M_Move18"}
    source_words = {w.lower() for v in labels.values() for w in split_words(v).split()}
    for text in texts(labels):
        assert {w.lower() for w in text.split()} <= source_words | {"m_move18"}
