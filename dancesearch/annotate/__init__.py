"""Annotation: taxonomy, measured descriptors, tagger, captions, splits (the TD-Data pipeline)."""
