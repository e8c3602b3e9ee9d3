"""`dancesearch deploy` against a real Prefect server on loopback: the deployments register,
a dance dropped into the watched folder becomes searchable by `dancesearch query` after one
`refresh` run, a second run changes nothing, `evaluate-search` publishes its metrics table as
an artifact, and a vanished watched folder fails the run without touching the library.

Skips, saying why, only where `prefect server start` cannot start.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dancesearch.errors import ConfigError
from dancesearch.flows.deploy import ARTIFACT, deployment_name
from dancesearch.flows.server import start_local, stop
from tests.fixtures.searchable import free_port

BIN = Path(sys.executable).parent
NEW = "DANCE_R_3"  # an m2d rumba with music; the searchable library has no rumba
RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a process that talks to a fresh Prefect server on loopback."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    try:
        server = start_local(port, home / "server.log", home=home)
    except ConfigError as e:
        pytest.skip(f"`prefect server start` could not start here, so the deployments cannot be "
                    f"tested against it: {e}")  # fmt: skip
    env = {**os.environ, "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}  # fmt: skip
    try:
        yield env
    finally:
        stop(server)


def api(env: dict[str, str], path: str, body: Any = None) -> Any:
    """A call to the Prefect server's REST API (GET, or POST with a JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{env['PREFECT_API_URL']}{path}", data=data,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def trigger(env: dict[str, str], deployment: str, **parameters: Any) -> dict[str, Any]:
    """Run a deployment now (with these parameters over its own), as `prefect deployment run`
    does; wait for it to end and return the flow run (its state, its run time)."""
    started = api(env, f"/deployments/name/{deployment}")
    run = api(env, f"/deployments/{started['id']}/create_flow_run", {"parameters": parameters})
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run = api(env, f"/flow_runs/{run['id']}")
        if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return run
        time.sleep(1)
    raise AssertionError(f"{deployment} did not finish within {RUN_TIMEOUT_S} s: {run['state']}")


def logs(env: dict[str, str], run: dict[str, Any], expect: str = "", wait_s: float = 30) -> str:
    """The run's log lines. With `expect`, wait up to wait_s for a line holding it: the run's
    process ships its logs to the server in batches, which may land after its final state."""
    body = {"logs": {"flow_run_id": {"any_": [run["id"]]}}, "sort": "TIMESTAMP_ASC"}
    deadline = time.monotonic() + wait_s
    while True:
        text = "\n".join(line["message"] for line in api(env, "/logs/filter", body))
        if expect in text or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def query(library: Path, *args: str) -> Any:
    out = subprocess.run([str(BIN / "dancesearch"), "query", *args, "--library", str(library),
                          "--json"], capture_output=True, text=True, timeout=120)  # fmt: skip
    return out.returncode, out.stdout + out.stderr


@pytest.fixture
def deployed(library_copy: Path, prefect_env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """`dancesearch deploy` serving a copy of the searchable library and watching an empty
    folder; yields (library, watched folder, name) once its deployments are registered."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    port = free_port()
    log = (tmp_path / "deploy.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "dancesearch"), "deploy", "--library", str(library_copy), "--watch",
         str(incoming), "--port", str(port), "--refresh-every", "1d", "--settle", "1"],
        env=prefect_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    name = deployment_name(library_copy)
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"deploy did not start:\n{(tmp_path / 'deploy.log').read_text()}"
                )
            try:
                api(prefect_env, f"/deployments/name/retrain/{name}")
                break
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        yield library_copy, incoming, name
    finally:
        # what `docker stop` and systemd send (a background job of a script ignores SIGINT)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    assert not (library_copy / "serve.json").exists()


def test_a_dropped_dance_becomes_searchable_and_the_evaluation_is_published(
    deployed, prefect_env, data
):
    library, incoming, name = deployed
    history_file = library / "evaluation" / "history.jsonl"
    evaluated = len(history_file.read_text().splitlines()) if history_file.is_file() else 0
    assert (library / "serve.json").is_file()  # deploy serves the page: queries go through it
    code, out = query(library, "a dance", "--genre", "rumba")
    assert code == 2 and "rumba" in out  # not there yet: the error lists the valid genres

    shutil.copytree(data / "m2d" / NEW, incoming / NEW)
    run = trigger(prefect_env, f"refresh/{name}")
    assert run["state"]["type"] == "COMPLETED", logs(prefect_env, run)
    code, out = query(library, "a dance", "--genre", "rumba")
    assert code == 0, out
    results = json.loads(out)["results"]
    assert results and all(NEW in r["clip_id"] for r in results)

    pointer = (library / "qdrant" / "current.json").read_text()
    again = trigger(prefect_env, f"refresh/{name}")  # nothing new: nothing written
    assert again["state"]["type"] == "COMPLETED", logs(prefect_env, again)
    assert (library / "qdrant" / "current.json").read_text() == pointer
    print(
        f"refresh of one new dance: {run['total_run_time']:.1f} s; "
        f"a refresh with nothing new: {again['total_run_time']:.1f} s"
    )

    # the tiny library's test split holds one clip: evaluate on its largest split
    evaluation = trigger(prefect_env, f"evaluate-search/{name}", split="train")
    assert evaluation["state"]["type"] == "COMPLETED", logs(prefect_env, evaluation)
    (artifact,) = api(prefect_env, "/artifacts/filter",
                      {"artifacts": {"key": {"any_": [ARTIFACT]}}})  # fmt: skip
    assert artifact["type"] == "markdown"
    for row in ("| chance |", "| dense |", "| text |", "| hybrid |", "## History"):
        assert row in artifact["data"]
    history = history_file.read_text().splitlines()
    assert len(history) == evaluated + 1 and json.loads(history[-1])["split"] == "train"

    # the watched folder vanishes: the run fails, saying so, and the library stays searchable
    incoming.rename(incoming.with_name("moved"))
    failed = trigger(prefect_env, f"refresh/{name}")
    assert failed["state"]["type"] == "FAILED"
    assert "does not exist" in logs(prefect_env, failed, expect="does not exist")
    assert query(library, "a dance", "--genre", "rumba")[0] == 0
