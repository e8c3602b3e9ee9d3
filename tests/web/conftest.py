"""The web tests serve the small real library the search tests build (once per session)."""

from tests.search.conftest import searchable  # noqa: F401
