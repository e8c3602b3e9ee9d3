"""Storage: the clip library on disk (tables, arrays, configs) and its Qdrant collections."""
