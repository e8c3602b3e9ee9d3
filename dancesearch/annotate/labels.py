"""Source labels as searchable text: every label a source carries becomes a caption.

Bandai's content and style, G1's take titles and style words, manifest titles, genre labels:
people wrote these words, so they are kept verbatim (and titles also split into words) and
never paraphrased; a template never invents a label's words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from dancesearch.annotate.captions import Caption

# Label keys that are bookkeeping, not description.
_NOT_TEXT = ("dataset", "take", "dance_id", "trial", "format", "rig", "tags")


def split_words(title: str) -> str:
    """'J_Dance8_WestCoast' -> 'J Dance 8 West Coast': underscores, hyphens, CamelCase, digits."""
    text = re.sub(r"[_\-]+", " ", title)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    text = re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", text)
    return " ".join(text.split())


def _phrase(content: str, style: str | None) -> str:
    what = content.replace("-", " ")
    article = "an" if what[:1].lower() in "aeiou" else "a"
    if style in (None, "", "normal"):
        return f"{article} {what}"
    return f"{article} {what} in a {style.replace('-', ' ')} style"


def label_captions(labels: Mapping[str, str], genre: str | None = None) -> list[Caption]:
    """Captions (type "label", source "label") from a clip's labels and genre label.

    labels: the sequence's labels (content, style, title, category, ...); genre: the genre label.
    Bandai content x style reads "a run in a tired style"; a title is kept as written and also
    split into words; a style word is kept as written (and split when it is CamelCase), with
    the category after it ("Side Kick karate"); a genre label is kept as written.
    """
    texts: list[str] = []
    content, style = labels.get("content"), labels.get("style")
    if content:
        texts += [_phrase(content, style)]
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
