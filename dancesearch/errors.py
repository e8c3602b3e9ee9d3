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
