"""The web tests serve the searchable library of tests/fixtures/searchable.py (built once a
session, shared with the search tests)."""
