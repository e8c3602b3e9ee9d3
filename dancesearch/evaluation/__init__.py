"""Text -> dance evaluation: the protocols (pure numpy), the offline (in memory) and collection
(through Qdrant) runners, the one report renderer, and the library's evaluation history.
Import the modules themselves; this package imports nothing, so the protocols stay torch-free."""
