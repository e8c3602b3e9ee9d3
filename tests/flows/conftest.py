"""One synthetic library, ingested and annotated by the flows once per test session.

It is read-only: a test that changes a library works on its own copy (copy_library) or builds
its own. Runs without ../shared/data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dancesearch.annotate.pipeline import AnnotateReport
from dancesearch.flows.annotate import annotate
from dancesearch.flows.ingest import ingest
from dancesearch.ingest import Summary
from dancesearch.sources.smpl import REST_JOINTS_ENV
from tests.fixtures.library_fixtures import snapshot, write_sources


@dataclass(frozen=True)
class Built:
    data: Path  # the synthetic source folder
    library: Path
    summary: Summary
    report: AnnotateReport


@pytest.fixture(autouse=True)
def _quick_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second writer gives up after 1 s, so a test that finds the lock taken fails quickly."""
    monkeypatch.setenv("DANCESEARCH_LOCK_WAIT_S", "1")
    monkeypatch.delenv(REST_JOINTS_ENV, raising=False)  # the fixtures ship their rest joints


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """Synthetic FineDance takes and a manifest, through `ingest` then `annotate`; a test that
    changes this library fails the session at teardown."""
    root = tmp_path_factory.mktemp("synthetic")
    data = write_sources(root / "data")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(REST_JOINTS_ENV, raising=False)
        summary = ingest(str(data), library=str(root / "lib"), progress=False)
        report = annotate(library=str(root / "lib"))
    before = snapshot(root)  # the sources and the library
    yield Built(data, root / "lib", summary, report)
    assert snapshot(root) == before, "a test changed the shared synthetic data or library"


@pytest.fixture(scope="session")
def prefect_api_url(synthetic: Built) -> str:
    """The URL of this session's ephemeral Prefect API, for a child process to share it.

    A child that starts its own would spend 10-20 s on it; this one is already up once a flow
    has run here.
    """
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return str(PREFECT_API_URL.value())
    server = SubprocessASGIServer()
    server.start()
    return server.api_url
