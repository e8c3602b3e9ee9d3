"""A small searchable library built from real data once per session, the way a user builds one:
Bandai's labelled moves (silent) and two m2d ballroom dances with music, ingested and annotated
by the CLI, a tiny default-preset model trained on it, and `dancesearch embed`."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dancesearch.cli import main
from dancesearch.encoders.registry import PRESETS

M2D = ("DANCE_W_1", "DANCE_C_2")


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def tiny_default(steps: int = 8, seed: int = 0):
    config = PRESETS["default"]
    return replace(
        config,
        model=replace(config.model, d_model=16, heads=2, ff_dim=32),
        train=replace(config.train, batch_size=16, max_steps=steps, eval_every=4, seed=seed),
    )


@pytest.fixture(scope="session")
def searchable(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The library folder, its current collection embedded with models/default."""
    from dancesearch.storage.library import Library
    from dancesearch.train import train

    lib = tmp_path_factory.mktemp("search") / "lib"
    for path in (data / "bandai", *(data / "m2d" / d for d in M2D)):
        result = run("ingest", path, "--library", lib)
        assert result.exit_code == 0, result.output
    result = run("annotate", "--library", lib)
    assert result.exit_code == 0, result.output
    train(Library(lib), tiny_default(), lib / "models" / "default", progress=False)
    result = run("embed", "--library", lib)
    assert result.exit_code == 0, result.output
    return lib


@pytest.fixture
def library_copy(searchable: Path, tmp_path: Path) -> Path:
    """A copy of the searchable library a test may change."""
    copy = tmp_path / "lib"
    shutil.copytree(searchable, copy)
    return copy
