"""Shared test setup: real data location, and Prefect kept local, quiet and offline."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.fixtures.shared_data import DATA

pytest_plugins = ["tests.fixtures.searchable"]  # the searchable library, built once a session

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="dancesearch-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def data() -> Path:
    """../shared/data beside the repository, or $DANCESEARCH_TEST_DATA (read-only); tests
    needing it skip without it."""
    if not DATA.is_dir():
        pytest.skip(f"real dance data not found at {DATA}")
    return DATA
