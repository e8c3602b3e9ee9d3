"""Collection jobs run where the collection can be opened: here, or -- while `dancesearch serve`
holds the embedded collection -- in that server, authenticated by the token of serve.json."""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request

import pytest

from dancesearch.errors import ConfigError
from dancesearch.serving.jobs import run_job
from tests.fixtures.searchable import serving


def test_jobs_run_here_or_in_the_server_holding_the_collection_with_the_same_answers(
    library_copy,
):
    here = run_job(library_copy, None, "evaluate", split="val")
    info = run_job(library_copy, None, "info")["collection"]
    assert info["name"] == here["collection"]
    with serving(library_copy) as url:
        handoff = library_copy / "serve.json"
        assert stat.S_IMODE(handoff.stat().st_mode) == 0o600  # it holds the job token
        there = run_job(library_copy, None, "evaluate", split="val")
        assert there["figures"] == here["figures"]  # the same collection, the same figures
        embed = run_job(library_copy, None, "embed")  # nothing changed: nothing written
        assert embed["changed"] is False and embed["collection"] == info["name"]
        # without the token the server refuses
        request = urllib.request.Request(f"{url}/api/jobs/embed", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": "Bearer wrong"})  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403
        # a checkpoint outside the library is refused before anything is loaded
        token = json.loads(handoff.read_text())["token"]
        request = urllib.request.Request(f"{url}/api/jobs/embed", method="POST",
                                         data=json.dumps({"checkpoint": "/etc"}).encode(),
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {token}"})  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as outside:
            urllib.request.urlopen(request, timeout=30)
        assert outside.value.code == 400


def test_an_unknown_job_is_refused(library_copy):
    with pytest.raises(ConfigError, match="expected one of"):
        run_job(library_copy, None, "compact")
