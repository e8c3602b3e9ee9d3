"""A library remembers how it was built: ingest, refresh and annotate reuse its recorded
configuration, and a different clip window re-cuts the whole library or is refused."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from dancesearch.annotate.pipeline import AnnotateConfig
from dancesearch.annotate.recorded import config_record, recorded_config
from dancesearch.cli import main
from dancesearch.clips import ClipConfig
from dancesearch.flows.deploy import refresh
from dancesearch.ingest import IngestConfig, configure
from dancesearch.ingest import recorded_config as recorded_ingest
from dancesearch.storage.library import Library
from tests.fixtures.motions import spin


def take(folder: Path, name: str, seconds: float = 20.0) -> Path:
    """A manifest folder holding one silent take of a body turning on the spot, 30 FPS."""
    folder.mkdir(parents=True)
    np.save(folder / f"{name}.npy", spin(seconds))
    with (folder / "manifest.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["motion", "fps"], [f"{name}.npy", "30"]])
    return folder


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def cuts(library: Path) -> dict[str, list[tuple[int, int]]]:
    """(start_frame, n_frames) of every clip, by sequence."""
    clips = Library(library).clips().sort_values("start_frame")
    return {
        str(seq): list(zip(group["start_frame"], group["n_frames"], strict=True))
        for seq, group in clips.groupby("seq_id")
    }


SIX = [(0, 180), (180, 180), (360, 180), (540, 60)]  # 20 s in 6-s windows, a 2-s tail
TWELVE = [(0, 360), (360, 240)]  # 20 s in 12-s windows, an 8-s tail


def test_configs_are_recorded_and_read_back_without_a_flow(tmp_path):
    assert configure(tmp_path / "new") == IngestConfig()  # a new library: the defaults
    config = IngestConfig(clips=ClipConfig(window_s=6, stride_s=3, min_s=1))
    assert IngestConfig.from_record(json.loads(json.dumps(config.record()))) == config
    lib = Library(tmp_path / "lib", create=True)
    assert recorded_ingest(lib) == IngestConfig() and recorded_config(lib) == AnnotateConfig()
    lib.record("ingest", config.record())
    assert configure(lib.root, min_s=2) == IngestConfig(clips=ClipConfig(6, 3, 2))
    # a window alone strides by itself: no gaps between clips
    assert configure(lib.root, window_s=8) == IngestConfig(clips=ClipConfig(8, 8, 1))
    assert configure(lib.root, window_s=8, stride_s=4) == IngestConfig(clips=ClipConfig(8, 4, 1))
    expert = tmp_path / "experts.csv"
    annotate = AnnotateConfig(seed=7, expert_files=(expert,), rewriter="my.module:rewrite")
    lib.record("annotate", config_record(annotate))
    assert recorded_config(Library(lib.root)) == annotate
    assert Library(lib.root).recorded("ingest")["feature_key"] == config.feature_key()


def test_refresh_and_annotate_reuse_the_record_and_a_new_window_recuts_all(tmp_path):
    a, b = take(tmp_path / "a", "a"), take(tmp_path / "b", "b")
    lib = tmp_path / "lib"
    result = run("ingest", a, "--library", lib, "--window", 6, "--stride", 6)
    assert result.exit_code == 0, result.output
    assert recorded_ingest(Library(lib)).clips == ClipConfig(window_s=6, stride_s=6, min_s=1)
    result = run("annotate", "--library", lib, "--seed", 7)
    assert result.exit_code == 0, result.output

    # refresh adds b cut at the recorded 6 s and annotates its clips (a's keep theirs) with
    # the recorded seed
    report = refresh([str(a), str(b)], library=str(lib), settle_s=0)
    assert report["new_clips"] == 4 and report["annotated_clips"] == 4
    assert cuts(lib) == {"manifest/a": SIX, "manifest/b": SIX}
    assert Library(lib).read_json("annotation")["seed"] == 7

    # an explicit other window re-cuts every item of the library, not only those under b
    result = run("ingest", b, "--library", lib, "--window", 12, "--stride", 12, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["recut"] == "window 6 s -> 12 s, stride 6 s -> 12 s"
    assert summary["items"] == 2 and summary["clips"] == 4
    assert cuts(lib) == {"manifest/a": TWELVE, "manifest/b": TWELVE}
    assert recorded_ingest(Library(lib)).clips == ClipConfig()

    # a re-cut that cannot reach every item is refused, naming both cuts, before any work
    shutil.rmtree(a)
    result = run("ingest", b, "--library", lib, "--window", 6)
    assert result.exit_code == 2 and "window 12 s -> 6 s" in result.output
    assert f"first: {a / 'manifest.csv'}#1" in result.output and "new --library" in result.output
    assert cuts(lib) == {"manifest/a": TWELVE, "manifest/b": TWELVE}

    # a plain annotate keeps the recorded seed; the flag would win
    result = run("annotate", "--library", lib)
    assert result.exit_code == 0, result.output
    assert Library(lib).read_json("annotation")["seed"] == 7


def test_a_plain_annotate_keeps_the_recorded_experts_and_options(tmp_path):
    from dancesearch.annotate.recorded import with_options

    experts = (tmp_path / "a.csv",)
    recorded = AnnotateConfig(seed=7, expert_files=experts, rewriter="my.module:rewrite")
    assert with_options(recorded) == recorded
    other = (tmp_path / "b.csv",)
    changed = with_options(recorded, seed=1, expert_files=other)
    assert (changed.seed, changed.expert_files, changed.rewriter) == (1, other, recorded.rewriter)
    assert with_options(recorded, expert_files=()).expert_files == ()  # --no-experts
