"""A collection job is retried for what passes -- a folder held elsewhere, a server not
answering, a crash -- and not for a user's mistake, told apart by the error's type."""

from __future__ import annotations

import pytest
from prefect.states import Completed, Failed

from dancesearch.errors import (
    CollectionHeld,
    ConfigError,
    LibraryError,
    LibraryLocked,
    ServerUnreachable,
)
from dancesearch.flows.deploy import _transient


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (CollectionHeld("x: open in another process"), True),
        (LibraryLocked("x: another process is writing"), True),
        (ServerUnreachable("the server does not answer"), True),
        (RuntimeError("a bug"), True),
        (ConfigError("--qdrant 'x': give http(s)://host:port"), False),
        (LibraryError("x: held by another process, says the text"), False),  # the type decides
    ],
)
def test_passing_failures_are_retried_and_mistakes_are_not(error, retried):
    assert _transient(None, None, Failed(data=error)) is retried  # type: ignore[arg-type]


def test_a_completed_job_is_not_retried():
    assert _transient(None, None, Completed(data={"ok": True})) is False  # type: ignore[arg-type]
