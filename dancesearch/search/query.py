"""Queries over a library's current collection: a text ranked by the model's dance vectors
(dense), by BM25 over what people wrote (text) or both fused by reciprocal rank (hybrid);
filters checked against the values the collection holds; at most N clips per recording; the
words each result matched; and a hint of how clearly the top result stands out.

Imports stay light (no torch): this is what `dancesearch query` runs per keystroke of a user.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dancesearch.errors import ConfigError
from dancesearch.storage.bm25 import text_vector
from dancesearch.storage.filters import SearchFilter
from dancesearch.storage.qdrant import CollectionInfo, Payload

if TYPE_CHECKING:
    from dancesearch.encoders.onnx_text import QueryEncoder
    from dancesearch.storage.library import Library
    from dancesearch.storage.store import Hit, Store

MODES = ("dense", "text", "hybrid")
DEFAULT_MODE = "hybrid"  # measured best: benchmarks/results/hybrid.md
# hybrid = cosine + 0.05 x BM25 in one Qdrant formula query, chosen on val splits for what
# people type: on the label benchmark's queries (benchmarks/results/labels_selection.md) 0.05
# beat 0.02 on nDCG@10 for literal and paraphrased labels alike, and on source labels it lifts
# hit@1 from 92.7 to 96.0 (benchmarks/results/hybrid.md). It costs generated captions 0.7 R@1
# and 3 R@10 against 0.02 (RRF and DBSF cost more). BM25's scale grows with log(collection
# size): re-measure the weight when a library grows tenfold.
HYBRID_FUSION = "sum"
HYBRID_WEIGHTS = (1.0, 0.05)
MAX_LIMIT = 500
MAX_QUERY_CHARS = 2000
POOL = 50  # scores the confidence hint compares the top result with
VECTOR_CACHE = 1024  # query texts whose vectors a Searcher remembers
# standard deviations above the pool for "clear" and "some", set on the val split, where the
# top result was right for 56 % of "clear" captions, 18 % of "some", 9 % of the rest
CLEAR, SOME = 3.5, 2.5


@dataclass(frozen=True)
class Result:
    """One ranked clip: rank from 1, score (higher is better; its scale depends on the mode),
    the clip's payload, and the query words found in its text, tags or labels."""

    rank: int
    clip_id: str
    score: float
    payload: Payload
    matched: tuple[str, ...] = ()


@dataclass(frozen=True)
class Confidence:
    """How far the top score stands above the next POOL scores, in their standard deviations."""

    z: float
    level: str  # "clear", "some" or "none"

    @property
    def hint(self) -> str:
        return {
            "clear": "the top result stands out clearly",
            "some": "the top results stand out a little",
            "none": "the results score alike: add words or filters to narrow them",
        }[self.level]


@dataclass
class Results:
    """A ranked answer and what produced it."""

    query: str  # the text, or "like <clip id>"
    mode: str
    where: SearchFilter
    results: list[Result]
    candidates: int  # clips the filter allows
    confidence: Confidence | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode,
            "filter": {f.name: getattr(self.where, f.name) for f in fields(self.where)},
            "candidates": self.candidates,
            "confidence": None
            if self.confidence is None
            else {
                "z": round(self.confidence.z, 2),
                "level": self.confidence.level,
                "hint": self.confidence.hint,
            },  # fmt: skip
            "notes": self.notes,
            "results": [r.__dict__ for r in self.results],
        }


class Searcher:
    """Search one library's current collection. Open with `Searcher.open`; close when done."""

    def __init__(
        self, library: Library, store: Store, info: CollectionInfo, encoder: QueryEncoder | None
    ) -> None:
        self.library, self.store, self.info, self._encoder = library, store, info, encoder
        self._vectors: dict[str, np.ndarray] = {}
        self._counts: dict[SearchFilter, int] = {}  # a collection never changes once built
        self._lock = threading.Lock()

    @classmethod
    def open(cls, library: str | Path, qdrant: str | None = None) -> Searcher:
        """The library's store and current collection, and the text encoder of the checkpoint
        that collection was embedded with (loaded on the first text query)."""
        from dancesearch.storage.library import Library
        from dancesearch.storage.open import open_store

        lib = Library(library)
        store = open_store(qdrant, lib)
        try:
            name = store.current()
            info = store.info(name) if name else None
            if info is None:
                raise ConfigError(
                    f"{store.where}: no collection to search; run `dancesearch embed --library "
                    f"{library}` (or `dancesearch build`)"
                )
            store.require(info.fingerprint)  # the text vectors are this install's
            store.count(info.name)  # opens it now: held by another process fails here
        except BaseException:
            store.close()
            raise
        return cls(lib, store, info, None)

    def switched(self, info: CollectionInfo) -> Searcher:
        """A Searcher over another collection of the same store; the text encoder is kept when
        that collection was embedded with the same checkpoint."""
        same = info.fingerprint == self.info.fingerprint
        return Searcher(self.library, self.store, info, self._encoder if same else None)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def encoder(self) -> QueryEncoder:
        if self._encoder is None:
            from dancesearch.encoders.onnx_text import QueryEncoder

            folder = self.library.resolve_checkpoint(self.info.checkpoint) / "text"
            encoder = QueryEncoder.load(folder)
            if encoder.fingerprint != self.info.fingerprint:
                raise ConfigError(
                    f"{folder}: the text encoder of checkpoint {encoder.fingerprint} does not "
                    f"match collection {self.info.name} ({self.info.fingerprint}); embed again"
                )
            self._encoder = encoder
        return self._encoder

    def vector(self, text: str) -> np.ndarray:
        """The text's (E,) vector, remembered: refining a query re-runs the same text."""
        with self._lock:  # the web app searches from several threads
            vector = self._vectors.get(text)
        if vector is None:
            vector = self.encoder.encode([text])[0]
            with self._lock:
                if len(self._vectors) >= VECTOR_CACHE:
                    del self._vectors[next(iter(self._vectors))]  # the oldest
                self._vectors[text] = vector
        return vector

    # ---- queries --------------------------------------------------------------------------
    def search(
        self,
        text: str,
        where: SearchFilter | None = None,
        mode: str = DEFAULT_MODE,
        limit: int = 10,
        per_sequence: int | None = None,
    ) -> Results:
        """The `limit` best clips for a text among those the filter allows; per_sequence: at
        most that many windows of one recording."""
        text = check_text(text)
        where = self.check(where or SearchFilter())
        check_limit(limit)
        if mode not in MODES:
            raise ConfigError(f"--mode {mode!r}: choose one of {', '.join(MODES)}")
        vector = self.vector(text) if mode != "text" else None
        name = self.info.name

        def fetch(n: int) -> list[Hit]:
            if vector is None:
                return self.store.search_text(name, text, n, where)
            if mode == "dense":
                return self.store.search(name, vector, n, where)
            return self.store.hybrid(
                name, vector, text, n, where, HYBRID_WEIGHTS, max(n, 100), HYBRID_FUSION
            )

        out = self._rank(fetch, where, limit, per_sequence, text, mode)
        if mode == "text" and not out.results:
            out.notes.append("no clip's text has these words: try --mode dense or hybrid")
        return out

    def similar(
        self,
        clip_id: str,
        where: SearchFilter | None = None,
        limit: int = 10,
        per_sequence: int | None = None,
    ) -> Results:
        """The clips whose dance vectors are nearest to a stored clip's, itself left out."""
        where = self.check(where or SearchFilter())
        check_limit(limit)
        name = self.info.name
        if not self.store.count(name, SearchFilter()):
            raise ConfigError(f"{self.store.where}: collection {name} is empty")

        def fetch(n: int) -> list[Hit]:
            return self.store.more_like(name, clip_id, n, where)

        return self._rank(fetch, where, limit, per_sequence, f"like {clip_id}", "dense")

    def _rank(
        self, fetch: Any, where: SearchFilter, limit: int, per_sequence: int | None,
        query: str, mode: str,
    ) -> Results:  # fmt: skip
        total = self.count(where)
        want = max(limit, POOL) if per_sequence is None else max(limit * 4, POOL)
        while True:
            hits = fetch(min(want, MAX_LIMIT * 4))
            kept = hits if per_sequence is None else cap_per_sequence(hits, per_sequence)
            if len(kept) >= limit or len(hits) >= total or want >= MAX_LIMIT * 4:
                break
            want *= 4
        words = query_words(query) if not query.startswith("like ") else []
        results = [
            Result(i + 1, h.clip_id, float(h.score), h.payload, matched_words(words, h.payload))
            for i, h in enumerate(kept[:limit])
        ]
        notes = []
        if total == 0:
            notes.append("no clip passes these filters")
        return Results(query, mode, where, results, total, confidence([h.score for h in kept]),
                       notes)  # fmt: skip

    def count(self, where: SearchFilter) -> int:
        """How many clips pass the filter, remembered: a collection is written once, before
        readers switch to it, so its counts never change."""
        with self._lock:
            total = self._counts.get(where)
        if total is None:
            total = self.store.count(self.info.name, where)
            with self._lock:
                if len(self._counts) >= VECTOR_CACHE:
                    del self._counts[next(iter(self._counts))]  # the oldest
                self._counts[where] = total
        return total

    # ---- filters ---------------------------------------------------------------------------
    def check(self, where: SearchFilter) -> SearchFilter:
        """The filter spelled as the collection holds it (see check_filter)."""
        return check_filter(where, self.info.facets)


def check_filter(where: SearchFilter, facets: dict[str, Any]) -> SearchFilter:
    """The filter with each value spelled as the collection holds it (case aside; a tag may be
    given without its facet, "jump" for "legs.jump"); ConfigError naming the option and
    listing the valid values for one the collection does not hold. facets: the filter values
    the collection holds (CollectionInfo.facets)."""
    fixed: dict[str, Any] = {}
    for name, facet, option in FILTER_FACETS:
        values = getattr(where, name)
        if values:
            fixed[name] = tuple(spell(v, facets.get(facet, []), option) for v in values)
    if where.bpm_min is not None and where.bpm_max is not None and where.bpm_min > where.bpm_max:
        bpm = f"{where.bpm_min:g}:{where.bpm_max:g}"
        raise ConfigError(f"bpm {bpm}: the minimum is above the maximum")
    return replace(where, **fixed)


FILTER_FACETS = (  # (SearchFilter field, facet, name in messages: the CLI option and API key)
    ("genres", "genre", "genre"), ("not_genres", "genre", "genre"),
    ("performers", "performer", "performer"), ("not_performers", "performer", "performer"),
    ("sources", "source", "source"), ("not_sources", "source", "source"),
    ("tags", "tags", "tag"), ("not_tags", "tags", "tag"), ("splits", "split", "split"),
)  # fmt: skip


def spell(value: str, valid: list[str], option: str) -> str:
    """The valid value meant by `value`: equal case aside, or the one tag ending in .value."""
    by_lower = {v.lower(): v for v in valid}
    key = value.strip().lower()
    if key in by_lower:
        return by_lower[key]
    ends = [v for v in valid if v.lower().endswith("." + key)]
    if len(ends) == 1:
        return ends[0]
    listed = ", ".join(valid) if len(valid) <= 60 else ", ".join(valid[:60]) + ", ..."
    hint = f" (did you mean {' or '.join(ends)}?)" if ends else ""
    raise ConfigError(f"{option} {value!r}: not in this library{hint}; valid: {listed}")


def check_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ConfigError("the query is empty: type what you want to see")
    if len(text) > MAX_QUERY_CHARS:
        raise ConfigError(f"the query has {len(text)} characters; at most {MAX_QUERY_CHARS}")
    return text


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ConfigError(f"--limit {limit}: give a number from 1 to {MAX_LIMIT}")


def parse_bpm(text: str) -> tuple[float | None, float | None]:
    """ "80:120", "80:" or ":120" -> (min, max) in beats per minute."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)?\s*:\s*(\d+(?:\.\d+)?)?\s*", text or "")
    if not m or (m.group(1) is None and m.group(2) is None):
        raise ConfigError(f"--bpm {text!r}: give MIN:MAX in beats per minute, e.g. 80:120 or 100:")
    low, high = (float(g) if g is not None else None for g in m.groups())
    if low is not None and high is not None and low > high:
        raise ConfigError(f"--bpm {text!r}: the minimum is above the maximum")
    return low, high


def cap_per_sequence(hits: list[Hit], n: int) -> list[Hit]:
    """Hits in order, at most n from one recording (seq_id)."""
    seen: dict[str, int] = {}
    out = []
    for h in hits:
        seq = str(h.payload.get("seq_id"))
        if seen.get(seq, 0) < n:
            seen[seq] = seen.get(seq, 0) + 1
            out.append(h)
    return out


def confidence(scores: list[float]) -> Confidence | None:
    """How many standard deviations the top score stands above the next POOL scores."""
    rest = np.asarray(scores[1 : POOL + 1], dtype=float)
    if len(rest) < 5:
        return None
    z = float((scores[0] - rest.mean()) / max(rest.std(), 1e-9))
    return Confidence(z, "clear" if z >= CLEAR else "some" if z >= SOME else "none")


def query_words(text: str) -> list[str]:
    """The words of a query that BM25 keeps (stopwords dropped), in order, each once."""
    words = dict.fromkeys(re.findall(r"[\w']+", text.lower()))
    return [w for w in words if text_vector(w, query=True)[0]]


def matched_words(words: list[str], payload: Payload) -> tuple[str, ...]:
    """The query words found, stemmed as BM25 stems them, in a clip's human text, captions,
    tags, genre, performer or labels."""
    if not words:
        return ()
    tags = " ".join(str(t).replace(".", " ").replace("_", " ") for t in payload.get("tags") or [])
    labels = " ".join(str(v) for v in (payload.get("labels") or {}).values())
    text = " ".join([str(payload.get("human_text") or ""), *map(str, payload.get("captions") or []),
                     tags, str(payload.get("genre") or ""), str(payload.get("performer") or ""),
                     labels])  # fmt: skip
    terms = set(text_vector(text)[0])
    return tuple(w for w in words if set(text_vector(w, query=True)[0]) <= terms)
