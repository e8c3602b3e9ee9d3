"""Search: queries -- dense, BM25 text or hybrid, filtered, refined, explained -- over a
library's current Qdrant collection."""
