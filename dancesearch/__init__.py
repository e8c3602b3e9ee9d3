"""dancesearch: text-to-dance search over music + 3D motion clips."""

__version__ = "0.2.0"  # in the ingest cache key: bump when a reader changes what it gives
