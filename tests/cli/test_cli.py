"""The `dancesearch` commands as a user runs them: clear one-line errors, summaries, stats."""

import json

import pytest
from click.testing import CliRunner

from dancesearch.cli import main
from tests.fixtures.library_fixtures import snapshot


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def library(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    src = tmp / "m2d"
    src.mkdir()
    for name in ("DANCE_W_24", "DANCE_C_8"):
        (src / name).symlink_to(data / "m2d" / name)
    result = run("ingest", src, "--library", tmp / "lib", "--json")
    assert result.exit_code == 0, result.output
    before = snapshot(tmp / "lib")
    yield tmp / "lib", json.loads(result.stdout)
    assert snapshot(tmp / "lib") == before, "a test changed the module's library"


def test_ingest_summary_and_stats_agree(library):
    lib, summary = library
    assert summary["sequences"] == 2 and summary["clips"] == 9 and summary["skipped"] == []
    stats = json.loads(run("library", "stats", "--library", lib, "--json").stdout)
    by_genre = {row["genre"]: row for row in stats["genre"]}
    assert by_genre["waltz"]["sequences"] == 1 and by_genre["cha-cha"]["clips"] == 5
    assert by_genre["all"]["sequence_min"] == pytest.approx((38.8 + 50.84) / 60, abs=0.01)
    assert {row["music"] for row in stats["music"]} == {"with music", "all"}
    text = run("library", "stats", "--library", lib).output
    assert "## by source" in text and "m2d" in text


def test_render_writes_a_png_with_the_clip(library, tmp_path):
    lib, _ = library
    out = tmp_path / "strip.png"
    result = run("render", "m2d/DANCE_W_24@000000", "--library", lib, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: p.mkdir() or p, "folder is empty"),
        (lambda p: p.mkdir() or (p / "notes.txt").touch() or p, "unknown format"),
    ],
)
def test_bad_ingest_paths_give_one_clear_line(tmp_path, setup, message):
    path = setup(tmp_path / "input")
    result = run("ingest", path, "--library", tmp_path / "lib")
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: ") and message in result.output
    assert str(path) in result.output and "Traceback" not in result.output


def test_stats_and_render_on_a_missing_library_or_clip(library, tmp_path):
    result = run("library", "stats", "--library", tmp_path / "nothing")
    assert result.exit_code == 2 and "not a dancesearch library" in result.output
    lib, _ = library
    result = run("render", "m2d/NOPE@000000", "--library", lib, "--out", tmp_path / "x.png")
    assert result.exit_code == 2 and "no clip 'm2d/NOPE@000000'" in result.output


def test_unknown_format_option_is_refused():
    result = run("ingest", ".", "--format", "mp4")
    assert result.exit_code == 2 and "Invalid value for '--format'" in result.output
