"""Indexing: embedding a library's clips into a new Qdrant collection and switching readers
to it."""
