"""Search: the fast text encoder of a checkpoint (ONNX, no torch), embedding a library into its
Qdrant collection, and queries -- dense, BM25 text or hybrid, filtered, refined, explained."""
