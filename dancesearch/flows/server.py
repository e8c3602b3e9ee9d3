"""The Prefect server that scheduled deployments need: the one PREFECT_API_URL names, or a
local one that `dancesearch deploy` starts on loopback (Prefect's temporary in-process server
runs no scheduler, so schedules would never fire)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from dancesearch.errors import ConfigError

LOCAL_PORT = 4200
STARTUP_S = 180.0  # a first start migrates its database: slow on two busy cores


def healthy(api_url: str, timeout_s: float = 5.0) -> bool:
    """Whether a Prefect API answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout_s) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start_local(
    port: int, log: Path, wait_s: float = STARTUP_S, home: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `prefect server start` on 127.0.0.1:port, its output to `log`; wait until it
    answers. home: its PREFECT_HOME (database, settings), else the user's. Raises ConfigError
    naming the log when it does not start."""
    prefect = shutil.which("prefect", path=str(Path(sys.executable).parent)) or "prefect"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    if home is not None:
        env["PREFECT_HOME"] = str(home)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + wait_s
    while not healthy(url, 2.0):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise ConfigError(f"the Prefect server did not start on {url}; see {log}")
        time.sleep(1.0)
    return process


def ensure(log: Path, port: int = LOCAL_PORT) -> tuple[str, subprocess.Popen[bytes] | None]:
    """The API URL to use and the server process started for it (None when one was running).

    PREFECT_API_URL set: that server, which must answer. Unset: a server already on the local
    port, else a new one there."""
    given = os.environ.get("PREFECT_API_URL")
    if given:
        if not healthy(given):
            raise ConfigError(f"PREFECT_API_URL={given}: the Prefect server does not answer")
        return given, None
    url = f"http://127.0.0.1:{port}/api"
    if healthy(url):
        return url, None
    return url, start_local(port, log)


def stop(process: subprocess.Popen[bytes], wait_s: float = 30.0) -> None:
    process.terminate()
    try:
        process.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
