"""Storage: the clip library on disk and, later, the Qdrant collections."""
