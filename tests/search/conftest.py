"""The search tests use the searchable library of tests/fixtures/searchable.py."""

from tests.fixtures.searchable import run, tiny_default

__all__ = ["run", "tiny_default"]
