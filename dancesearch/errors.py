"""Exception types, one per kind of user mistake. The CLI prints them as one line."""

from __future__ import annotations

from pathlib import Path


class DancesearchError(Exception):
    """Base of every error the user can cause and fix."""


class SourceError(DancesearchError):
    """An input file or folder cannot be read: names the file and what is wrong."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(DancesearchError):
    """A command-line argument or configuration value is invalid."""


class LibraryError(DancesearchError):
    """The clip library on disk is missing, locked or inconsistent."""


class HeldElsewhere(LibraryError):
    """Another process holds what this one needs for now: worth waiting for or retrying."""


class LibraryLocked(HeldElsewhere):
    """Another process is writing to the library (its .lock)."""


class CollectionHeld(HeldElsewhere):
    """Another process has the library's embedded (Qdrant Edge) collection open."""


class ServerUnreachable(LibraryError):
    """A server this process hands work to (the page's server, a Qdrant server) does not
    answer: a passing condition, worth retrying."""
