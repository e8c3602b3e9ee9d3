"""dancesearch: text-to-dance search over music + 3D motion clips."""

__version__ = "0.1.0"
