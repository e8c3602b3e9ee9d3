"""`open_store`: the one place that picks a library's Qdrant backend -- as qdrant-client's
`QdrantClient` picks its local or remote implementation -- so that the backends, which import
the `Store` base, never import each other."""

from __future__ import annotations

import re

from dancesearch.errors import ConfigError
from dancesearch.storage.library import Library
from dancesearch.storage.store import Store


def open_store(qdrant: str | None, library: Library) -> Store:
    """The store of a library's collections. qdrant: None for Qdrant Edge in <library>/qdrant/,
    "http(s)://host:6333" for a server (API key from $DANCESEARCH_QDRANT_API_KEY), ":memory:"
    for qdrant-client's in-memory mode, which speaks the server's API."""
    if qdrant is None:
        from dancesearch.storage.qdrant_edge import EdgeStore

        return EdgeStore(library.root / "qdrant", library.uid)
    if qdrant == ":memory:" or re.match(r"https?://", qdrant):
        from dancesearch.storage.qdrant_server import ServerStore

        return ServerStore(qdrant, library.uid)
    raise ConfigError(f"--qdrant {qdrant!r}: give http(s)://host:port or :memory:, or leave it out")
