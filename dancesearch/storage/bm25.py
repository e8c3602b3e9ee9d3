"""The sparse text vector of a point and of a query: BM25 term weights made by Qdrant Edge's
tokeniser (word tokens, lowercase, English stopwords, Snowball stemmer) for both backends.
Qdrant multiplies in the IDF at search time (the collection's sparse vector has the IDF
modifier)."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

TEXT_AVG_TOKENS = 16.0  # BM25 average document length: human text is a few short phrases
# How the sparse text vectors are made; a collection recording another is embedded again. The
# engine's English Snowball stemmer joins waving/wave and sadly/sad but not angrily/angry or
# backwards/back: those word forms are in the clips' label text (annotate/label_words.toml).
TEXT_MODEL = (
    f"qdrant-edge Bm25 0.9.0 k=1.2 b=0.75 avg_len={TEXT_AVG_TOKENS:g} word tokens, lowercase, "
    "english stopwords, snowball english stemmer"
)


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
    if query:  # the page and refinement send the same texts again: tokenise each once
        ids, weights = _query_vector(text)
        return list(ids), list(weights)
    vec = _bm25().embed_document(text)
    return list(vec.indices), list(vec.values)


@lru_cache(maxsize=4096)
def _query_vector(text: str) -> tuple[tuple[int, ...], tuple[float, ...]]:
    vec = _bm25().embed_query(text)
    return tuple(vec.indices), tuple(vec.values)
