"""What dancesearch keeps in Qdrant: collection naming, what a collection records and the
hash of a point's content. The clip payload is built in schema.py, the sparse text vector in
bm25.py, the filter in filters.py; the `Store` both backends implement is in store.py, and
open.py picks a backend: Qdrant Edge in-process in <library>/qdrant/ (the default) or a Qdrant
server.

A point is one clip: id a UUID5 of its clip id, a dense vector "dance" (cosine) and a sparse
vector "text" (BM25 term frequencies of its human text; Qdrant applies the IDF).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dancesearch.errors import ConfigError
from dancesearch.storage.bm25 import TEXT_MODEL

DENSE = "dance"  # vector names inside a point
SPARSE = "text"
RRF_K = 60  # the k of reciprocal rank fusion, 1 / (k + rank)
NAMESPACE = uuid.UUID("5b0e3a4c-7d1f-5c8e-9a2b-3f6d4e8c1a70")  # of point ids; never change it
KEYWORD_FIELDS = ("clip_id", "genre", "performer", "source", "tags", "has_music", "tempo", "split")
FLOAT_FIELDS = ("bpm",)

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


def content_hash(payload: Payload, vector: np.ndarray) -> str:
    """Hash of a point's payload (its content_hash aside) and dense vector (D,) as float32, so
    an incremental embed can skip points that have not changed."""
    body = {k: v for k, v in payload.items() if k != "content_hash"}
    h = hashlib.sha1(json.dumps(body, sort_keys=True).encode())
    h.update(np.ascontiguousarray(vector, dtype=np.float32).tobytes())
    return h.hexdigest()[:16]
