"""`dancesearch build`, the main job in one command: a searchable library from raw data, then
the example queries; run again over the same data, every step is skipped."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.searchable import run

TINY = """
preset = "default"
[model]
d_model = 16
heads = 2
ff_dim = 32
[train]
batch_size = 16
max_steps = 6
eval_every = 3
"""


def test_build_makes_a_searchable_library_and_a_rerun_skips_every_step(data, tmp_path: Path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    library = tmp_path / "lib"
    args = ("build", data / "bandai", "--library", library, "--config", config)

    first = run(*args)
    assert first.exit_code == 0, first.output
    assert "train: " in first.output and "fingerprint" in first.output
    assert '$ dancesearch query "a run in a childish style"' in first.output
    assert "1. " in first.output.split("a run in a childish style")[1]
    assert (library / "models" / "default" / "text" / "model.onnx").is_file()

    again = run(*args)
    assert again.exit_code == 0, again.output
    assert "56 unchanged, 0 new clips" in again.output
    assert "annotate: unchanged" in again.output
    assert "train: unchanged" in again.output
    assert ": up to date," in again.output
    found = run("query", "a happy walk", "--library", library, "--limit", 3)
    assert found.exit_code == 0 and "walk_happy" in found.output, found.output
