"""Source labels as searchable text: every label a source carries becomes a caption.

Bandai's content and style, G1's take titles and style words, manifest titles, genre labels:
people wrote these words, so they are kept verbatim (and titles also split into words); a
template never invents a label's words. Bandai's content and style are also said as a person
would say them ("walk backwards angrily"), from the hand-written label_words.toml, so a text
search finds the word forms people type.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from dancesearch.annotate.captions import Caption

LABEL_WORDS_PATH = Path(__file__).with_name("label_words.toml")

# Label keys that are bookkeeping, not description.
_NOT_TEXT = ("dataset", "take", "dance_id", "trial", "format", "rig", "tags")


def split_words(title: str) -> str:
    """'J_Dance8_WestCoast' -> 'J Dance 8 West Coast': underscores, hyphens, CamelCase, digits."""
    text = re.sub(r"[_\-]+", " ", title)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    text = re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", text)
    return " ".join(text.split())


def _a(words: str) -> str:
    """The indefinite article before words: "an elderly", "a tired"."""
    return "an" if words[:1].lower() in ("a", "e", "i", "o", "u") else "a"


def _phrase(content: str, style: str | None) -> str:
    """The verbatim labels as a phrase: 'a raise up left hand in an elderly style'."""
    what = content.replace("-", " ")
    if style in (None, "", "normal"):
        return f"{_a(what)} {what}"
    how = style.replace("-", " ")
    return f"{_a(what)} {what} in {_a(how)} {how} style"


@cache
def label_words() -> dict[str, dict[str, str]]:
    """label_words.toml: {"content": {label: readable form}, "style": {label: readable form}}."""
    data = tomllib.loads(LABEL_WORDS_PATH.read_text())
    return {
        key: {str(k): str(v) for k, v in data.get(key, {}).items()} for key in ("content", "style")
    }


def label_words_key() -> str:
    """Names this version of label_words.toml, so annotations written with another are redone."""
    return hashlib.sha1(LABEL_WORDS_PATH.read_bytes()).hexdigest()[:16]


def said(content: str, style: str | None) -> str:
    """Content and style as a person would say them: 'walk backwards angrily', 'raise the left
    hand up like an old, elderly person'. A label label_words.toml does not list (a new
    source's) is read as its own words."""
    words = label_words()
    what = words["content"].get(content, split_words(content).lower())
    how = words["style"].get(style, split_words(style).lower()) if style else ""
    return f"{what} {how}".strip()


def _word_set(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def label_captions(labels: Mapping[str, str], genre: str | None = None) -> list[Caption]:
    """Captions (type "label", source "label") from a clip's labels and genre label.

    labels: the sequence's labels (content, style, title, category, ...); genre: the genre label.
    Bandai content x style reads "a run in a tired style", then as said ("run tiredly", see
    `said`) where that adds a word; a title is kept as written and also
    split into words; a style word is kept as written (and split when it is CamelCase), with
    the category after it ("Side Kick karate"); a genre label is kept as written.
    """
    texts: list[str] = []
    content, style = labels.get("content"), labels.get("style")
    if content:
        verbatim, spoken = _phrase(content, style), said(content, style)
        texts.append(verbatim)
        if not _word_set(spoken) <= _word_set(verbatim):  # else it adds no word to search for
            texts.append(spoken)
    elif style:
        category = labels.get("category", "")
        texts += [f"{style} {category}".strip(), f"{split_words(style)} {category}".strip()]
    title = labels.get("title")
    if title:
        texts += [title, split_words(title)]
    if genre:
        texts.append(genre)
    for key, value in labels.items():  # any other descriptive label, as written
        if key not in ("content", "style", "title", "category", *_NOT_TEXT) and value:
            texts.append(str(value))
    out: list[Caption] = []
    seen: set[str] = set()
    for text in texts:
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(Caption(text, "label", "label", ()))
    return out
