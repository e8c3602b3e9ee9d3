"""What dancesearch keeps in Qdrant: collection naming, what a collection records, the point
payload and text vector, and the filter spec. The `Store` both backends implement is in
store.py: Qdrant Edge in-process in <library>/qdrant/ (the default) and a Qdrant server.

A point is one clip: id a UUID5 of its clip id, a dense vector "dance" (cosine) and a sparse
vector "text" (BM25 term frequencies of its human text; Qdrant applies the IDF).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from dancesearch.errors import ConfigError

if TYPE_CHECKING:
    from dancesearch.storage.library import Library

DENSE = "dance"  # vector names inside a point
SPARSE = "text"
RRF_K = 60  # the k of reciprocal rank fusion, 1 / (k + rank)
NAMESPACE = uuid.UUID("5b0e3a4c-7d1f-5c8e-9a2b-3f6d4e8c1a70")  # of point ids; never change it
KEYWORD_FIELDS = ("clip_id", "genre", "performer", "source", "tags", "has_music", "tempo", "split")
FLOAT_FIELDS = ("bpm",)
HUMAN_SOURCES = ("human", "label", "expert")  # captions a person (or the source) wrote
ANNOTATION_SOURCES = ("auto", "expert", "human", "label")
TEXT_AVG_TOKENS = 16.0  # BM25 average document length: human text is a few short phrases
# How the sparse text vectors are made; a collection recording another is embedded again. The
# engine's English Snowball stemmer joins waving/wave and sadly/sad but not angrily/angry or
# backwards/back: those word forms are in the clips' label text (annotate/label_words.toml).
TEXT_MODEL = (
    f"qdrant-edge Bm25 0.9.0 k=1.2 b=0.75 avg_len={TEXT_AVG_TOKENS:g} word tokens, lowercase, "
    "english stopwords, snowball english stemmer"
)

Payload = dict[str, Any]


# --- names ------------------------------------------------------------------------------------
def point_id(clip_id: str) -> str:
    """The point id of a clip: a UUID5 of its clip id, the same in every collection."""
    return str(uuid.uuid5(NAMESPACE, clip_id))


def collection_prefix(uid: str) -> str:
    """The start of every collection name of the library with this uid."""
    return f"dancesearch-{uid[:8]}-"


def collection_name(uid: str, fingerprint: str, suffix: str = "") -> str:
    """`dancesearch-<uid[:8]>-<fingerprint>[-<suffix>]`: a library's collection for one checkpoint.

    suffix: set it to rebuild a checkpoint's collection beside the current one, then `switch`.
    """
    name = collection_prefix(uid) + fingerprint + (f"-{suffix}" if suffix else "")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", fingerprint + suffix):
        raise ConfigError(f"collection name {name!r}: use letters, digits, '-' and '_' only")
    return name


@dataclass(frozen=True)
class CollectionInfo:
    """What a collection records about how its vectors were made."""

    name: str
    fingerprint: str  # of the checkpoint whose dense vectors it holds
    vector_size: int
    model: str  # the checkpoint's model name, for people reading the collection list
    text_model: str = TEXT_MODEL  # how the sparse text vectors were made
    checkpoint: str = ""  # where the checkpoint is: relative to the library, or absolute
    facets: dict[str, Any] = field(default_factory=dict)  # filter values the points hold

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionInfo:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


# --- payloads ---------------------------------------------------------------------------------
def clip_payload(
    clip: Payload, tags: list[Payload], captions: list[Payload], split: str | None
) -> Payload:
    """The payload of one clip: its catalogue record (schema.clip_record), tag and caption
    records (schema.tag_record, schema.caption_record) and the split of its sequence.

    has_music is "yes"/"no" (Qdrant Edge does not match a bool payload); bpm, start_s and
    duration_s are in beats per minute and seconds; human_text feeds the sparse text vector.
    """
    labels = clip["labels"] or {}
    tag_names = sorted({str(t["tag"]) for t in tags})
    tempo = next((t.split(".", 1)[1] for t in tag_names if t.startswith("tempo.")), None)
    title = labels.get("title")
    human = [c["caption"] for c in captions if c["source"] in HUMAN_SOURCES]
    sources = {t["source"] for t in tags} | {c["source"] for c in captions}
    return {
        "clip_id": clip["clip_id"],
        "seq_id": clip["seq_id"],
        "source": clip["source"],
        "genre": clip["genre"],
        "performer": clip["performer"],
        "bpm": clip["bpm"],
        "tempo": tempo,
        "tags": tag_names,
        "has_music": "yes" if clip["has_music"] else "no",
        "start_s": clip["start_s"],
        "duration_s": clip["duration_s"],
        "annotations": [s for s in ANNOTATION_SOURCES if s in sources],
        "captions": [c["caption"] for c in captions],
        "human_text": human_text([*human, title, clip["genre"]]),
        "title": title,
        "labels": labels,
        "licence": clip["licence"],
        "credit": clip["credit"],
        "split": split,
    }


def payloads(library: Library) -> list[Payload]:
    """The payload of every clip of a library, in catalogue order."""
    from dancesearch.storage import schema  # with pandas: not on the query path

    tags: dict[str, list[Payload]] = defaultdict(list)
    for t in schema.records(library.table("tags"), schema.tag_record):
        tags[t["clip_id"]].append(t)
    captions: dict[str, list[Payload]] = defaultdict(list)
    for c in schema.records(library.table("captions"), schema.caption_record):
        captions[c["clip_id"]].append(c)
    splits = {s["seq_id"]: s["split"] for s in schema.records(library.table("splits"))}
    return [
        clip_payload(c, tags[c["clip_id"]], captions[c["clip_id"]], splits.get(c["seq_id"]))
        for c in schema.records(library.clips(), schema.clip_record)
    ]


def human_text(texts: Iterable[str | None]) -> str:
    """Texts joined by ". ", each once (case aside), blanks left out."""
    seen: dict[str, str] = {}
    for text in texts:
        if text and text.strip():
            seen.setdefault(text.strip().lower(), text.strip())
    return ". ".join(seen.values())


def content_hash(payload: Payload, vector: np.ndarray) -> str:
    """Hash of a point's payload (its content_hash aside) and dense vector (D,) as float32, so
    an incremental embed can skip points that have not changed."""
    body = {k: v for k, v in payload.items() if k != "content_hash"}
    h = hashlib.sha1(json.dumps(body, sort_keys=True).encode())
    h.update(np.ascontiguousarray(vector, dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


@cache
def _bm25() -> Any:
    import qdrant_edge  # its BM25 tokeniser (English stemming and stopwords) serves both backends

    config = qdrant_edge.Bm25Config(
        k=1.2,
        b=0.75,
        avg_len=TEXT_AVG_TOKENS,
        tokenizer=qdrant_edge.TokenizerType.Word,
        language="english",  # its stopwords
        lowercase=True,
        stemmer=qdrant_edge.SnowballParams(qdrant_edge.SnowballLanguage.English),
    )  # what TEXT_MODEL says
    return qdrant_edge.Bm25(config)


def text_vector(text: str, query: bool = False) -> tuple[list[int], list[float]]:
    """Sparse (term ids, weights) of a text: BM25 term-frequency weights for a document, weight
    1 per distinct term for a query. Qdrant multiplies in the IDF at search time."""
    vec = _bm25().embed_query(text) if query else _bm25().embed_document(text)
    return list(vec.indices), list(vec.values)


# --- search -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """Payload field `key` equals one of `values` (for a list field: contains one of them)."""

    key: str
    values: tuple[str, ...]
    negate: bool = False  # the field holds none of them


@dataclass(frozen=True)
class Range:
    """Payload field `key` lies in [gte, lte]; None leaves a side open."""

    key: str
    gte: float | None
    lte: float | None


Condition = Match | Range


@dataclass(frozen=True)
class SearchFilter:
    """Which clips a search may return; empty fields do not filter. A clip passes when it has
    one of the genres, performers, sources and splits given, bpm in [bpm_min, bpm_max] (beats
    per minute), every one of the tags, none of the excluded values, and music or not as
    has_music says."""

    genres: tuple[str, ...] = ()
    performers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    bpm_min: float | None = None
    bpm_max: float | None = None
    tags: tuple[str, ...] = ()
    has_music: bool | None = None
    splits: tuple[str, ...] = ()
    not_genres: tuple[str, ...] = ()
    not_performers: tuple[str, ...] = ()
    not_sources: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()

    def conditions(self) -> list[Condition]:
        """The filter as conditions that must all hold."""
        any_of = (("genre", self.genres), ("performer", self.performers),
                  ("source", self.sources), ("split", self.splits))  # fmt: skip
        out: list[Condition] = [Match(key, tuple(v)) for key, v in any_of if v]
        out += [Match("tags", (tag,)) for tag in self.tags]  # all of them
        none_of = (("genre", self.not_genres), ("performer", self.not_performers),
                   ("source", self.not_sources), ("tags", self.not_tags))  # fmt: skip
        out += [Match(key, tuple(v), negate=True) for key, v in none_of if v]
        if self.has_music is not None:
            out.append(Match("has_music", ("yes" if self.has_music else "no",)))
        if self.bpm_min is not None or self.bpm_max is not None:
            out.append(Range("bpm", self.bpm_min, self.bpm_max))
        return out
