"""The flows on a Dask cluster: a library ingested on a local two-worker cluster is the one the
default threads make, table for table and array for array; annotate writes the same annotations
there; Dask workers find item results cached by a threads run; a bad --runner is one line and
exit status 2.

Runs without ../shared/data: the synthetic sources of library_fixtures.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import dancesearch.ingest as ingest_lib
from dancesearch.cli import main
from dancesearch.errors import ConfigError
from dancesearch.flows.annotate import annotate
from dancesearch.flows.ingest import ingest
from dancesearch.flows.runner import RUNNER_ENV, RunnerSpec, parse_runner, task_runner
from dancesearch.ingest import Summary
from tests.fixtures.library_fixtures import ITEMS, copy_library, write_sources

# What differs between two runs over the same data on any runner, so is not compared:
#   items.ingested_at              the time the item was committed
#   annotation.json annotated_at   the time of the run
#   library.json uid               each library's own, by design
# Row order differs as well (results are committed as tasks finish), so rows are compared
# sorted by their key columns. Source paths are the same: both libraries read one data folder.
VARYING = {"items": ["ingested_at"]}
KEYS = ("clip_id", "seq_id", "item", "tag", "caption", "unit")


@dataclass(frozen=True)
class Pair:
    data: Path
    threads: Path  # ingested on the default runner
    dask: Path  # ingested on a local Dask cluster
    summary: Summary  # of the Dask run


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    root = tmp_path_factory.mktemp("runners")
    data = write_sources(root / "data")
    here: list[str] = []  # sequences processed in this process
    real = ingest_lib.process_sequence

    def probe(seq: Any, *args: Any) -> Any:
        here.append(seq.seq_id)
        return real(seq, *args)

    hash_seed = os.environ.get("PYTHONHASHSEED")
    with pytest.MonkeyPatch.context() as mp:
        # a worker imports dancesearch.ingest afresh, so only this process sees the probe
        mp.setattr(ingest_lib, "process_sequence", probe)
        ingest(str(data), library=str(root / "threads"), progress=False, runner="threads")
        assert sorted(here) == sorted(ITEMS.values())
        here.clear()
        summary = ingest(str(data), library=str(root / "dask"), progress=False, runner="dask")
        assert here == []
    assert os.environ.get("PYTHONHASHSEED") == hash_seed  # Dask's changes are undone
    return Pair(data, root / "threads", root / "dask", summary)


def tables(root: Path) -> dict[str, pd.DataFrame]:
    """Every Parquet table of a library, by path, less VARYING columns, rows sorted by key."""
    out = {}
    for path in sorted(root.rglob("*.parquet")):
        name = str(path.relative_to(root).with_suffix(""))
        frame = pd.read_parquet(path).drop(columns=VARYING.get(name, []))
        keys = [k for k in KEYS if k in frame.columns]
        out[name] = frame.sort_values(keys).reset_index(drop=True) if len(frame) else frame
    return out


def arrays(root: Path) -> dict[str, tuple[str, tuple[int, ...], bytes]]:
    """Every stored array of a library (motion .npy, each member of a features .npz), by path,
    as dtype, shape and raw bytes (an .npz file's own bytes hold zip timestamps)."""
    out = {}
    for path in sorted([*root.rglob("*.npy"), *root.rglob("*.npz")]):
        name = str(path.relative_to(root))
        if path.suffix == ".npy":
            members = {"": np.load(path)}
        else:
            with np.load(path) as npz:
                members = {key: npz[key] for key in npz.files}
        for key, a in members.items():
            out[f"{name}:{key}"] = (a.dtype.str, a.shape, a.tobytes())
    return out


def assert_same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_a_library_ingested_on_a_local_dask_cluster_is_the_one_threads_make(pair: Pair) -> None:
    assert pair.summary.skipped == [] and pair.summary.clips == len(ITEMS)
    expected = tables(pair.threads)
    assert sorted(expected) == ["clips", "items", "sequences"]
    assert_same_tables(tables(pair.dask), expected)
    threads_arrays, dask_arrays = arrays(pair.threads), arrays(pair.dask)
    assert len(threads_arrays) == 4 * len(ITEMS)  # motion; features: motion, music, beats
    assert sorted(dask_arrays) == sorted(threads_arrays)
    different = [name for name in threads_arrays if dask_arrays[name] != threads_arrays[name]]
    assert different == []
    recorded = [json.loads((p / "library.json").read_text()) for p in (pair.threads, pair.dask)]
    assert recorded[0]["ingest"] == recorded[1]["ingest"]
    assert recorded[0]["uid"] != recorded[1]["uid"]


def test_annotate_on_a_local_dask_cluster_writes_the_annotations_threads_write(
    pair: Pair, tmp_path: Path
) -> None:
    on_threads = copy_library(pair.threads, tmp_path / "threads")
    on_dask = copy_library(pair.threads, tmp_path / "dask")
    annotate(str(on_threads), runner="threads")
    report = annotate(str(on_dask), runner="dask")
    assert report.clips == len(ITEMS)
    assert_same_tables(tables(on_dask), tables(on_threads))
    recorded = [
        json.loads((p / "annotations" / "annotation.json").read_text())
        for p in (on_threads, on_dask)
    ]
    for r in recorded:
        r.pop("annotated_at")  # the time of the run
    assert recorded[0] == recorded[1]


def test_dask_workers_reuse_item_results_cached_by_a_threads_run(
    pair: Pair, tmp_path: Path
) -> None:
    """Results persist in Prefect's local storage, named in the settings each task carries:
    an item done on threads whose commit was lost is not recomputed on Dask."""
    lib = copy_library(pair.threads, tmp_path / "lib")  # same uid: same cache keys
    expected = tables(lib)
    for name in ("items", "sequences", "clips"):
        (lib / f"{name}.parquet").unlink()  # as if the run died before its commit
    written = {p: p.stat().st_mtime_ns for p in lib.rglob("*.np[yz]")}
    summary = ingest(str(pair.data), library=str(lib), progress=False, runner="dask")
    assert summary.skipped == [] and summary.clips == len(ITEMS)
    assert {p: p.stat().st_mtime_ns for p in lib.rglob("*.np[yz]")} == written  # not redone
    assert_same_tables(tables(lib), expected)


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["ingest", "{data}", "--runner", "spark://head:7077"], {}, "--runner 'spark://head:7077'"),
        (["annotate", "--runner", "dask://scheduler"], {}, "--runner 'dask://scheduler'"),
        (["build", "{data}", "--runner", "dask"], {RUNNER_ENV: "x"}, None),  # given: it wins
        (["annotate"], {RUNNER_ENV: "dask:8786"}, f"{RUNNER_ENV}='dask:8786'"),
    ],
)
def test_a_bad_runner_is_one_line_and_exit_status_2_before_any_work(
    args: list[str], env: dict[str, str], named: str | None, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    argv = [a.format(data=tmp_path / "nowhere") for a in args] + ["--library", str(lib)]
    result = CliRunner().invoke(main, argv, env=env)
    if named is None:  # a good --runner: the command goes on, to fail on the missing path
        assert result.exit_code == 2 and "does not exist" in result.output, result.output
        return
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"error: {named}: expected threads, dask (a local cluster), dask://HOST:PORT or "
        "tcp://HOST:PORT (a scheduler)\n"
    )
    assert not lib.exists()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, RunnerSpec("threads")),
        ("threads", RunnerSpec("threads")),
        ("dask", RunnerSpec("dask")),
        ("dask://scheduler:8786", RunnerSpec("dask", "tcp://scheduler:8786")),
        ("tcp://10.0.0.5:8786", RunnerSpec("dask", "tcp://10.0.0.5:8786")),
    ],
)
def test_runner_forms(spec: str | None, expected: RunnerSpec, monkeypatch) -> None:
    monkeypatch.delenv(RUNNER_ENV, raising=False)
    assert parse_runner(spec) == expected


@pytest.mark.parametrize(
    "spec", ["Dask", "dask://:8786", "dask://host", "dask://host:99999", "dask://h:1/x", "h:1"]
)
def test_malformed_runners_are_refused(spec: str) -> None:
    with pytest.raises(ConfigError, match="--runner"):
        parse_runner(spec)


def test_the_environment_names_the_runner_when_none_is_given(monkeypatch) -> None:
    monkeypatch.setenv(RUNNER_ENV, "dask://scheduler:8786")
    assert parse_runner(None) == RunnerSpec("dask", "tcp://scheduler:8786")
    assert parse_runner("threads") == RunnerSpec("threads")  # --runner wins


def test_a_local_cluster_has_two_single_threaded_worker_processes() -> None:
    runner = task_runner("dask")
    assert runner.cluster_kwargs == {
        "n_workers": 2,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
    }
    assert task_runner("dask://scheduler:8786").address == "tcp://scheduler:8786"
