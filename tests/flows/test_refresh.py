"""The `refresh` deployment's flow, run for real: files still being written wait for the next
run, a run with nothing new writes nothing, a run killed mid-way is finished by the next one;
and the deployments `dancesearch deploy` serves, with their schedules and the refusals of bad
options."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from dancesearch.cli import main
from dancesearch.flows.deploy import deployment_name, deployments, refresh
from dancesearch.storage.library import Library
from tests.fixtures.library_fixtures import snapshot

G1 = ("J_ShortDance16_JazzWalk.npz", "M_ShortMove14.npz")


def test_a_file_still_being_written_waits_and_a_run_with_nothing_new_writes_nothing(data, tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    shutil.copy(data / "g1" / "labels.csv", incoming)
    for name in G1:
        shutil.copy(data / "g1" / name, incoming)  # modified just now: "being copied"
    lib = tmp_path / "lib"
    Library(lib, create=True)
    first = refresh([str(incoming)], library=str(lib), settle_s=3600)
    assert first["new_clips"] == 0 and len(first["waiting"]) == 2
    hour_ago = time.time() - 3600
    for f in incoming.iterdir():
        os.utime(f, (hour_ago, hour_ago))
    second = refresh([str(incoming)], library=str(lib), settle_s=3600)
    assert second["new_clips"] == 2 and second["annotated_clips"] == 2
    assert "no collection yet" in second["embed"]  # nothing trained: it says what to run
    before = snapshot(lib)
    third = refresh([str(incoming)], library=str(lib), settle_s=3600)
    assert third["new_clips"] == 0 and "annotated_clips" not in third
    assert snapshot(lib) == before


KILL_SCRIPT = """
import sys
from dancesearch.flows.deploy import refresh
print(refresh([sys.argv[1]], library=sys.argv[2], settle_s=0))
"""


def test_a_refresh_killed_while_embedding_leaves_the_library_searchable_and_the_next_one_finishes(
    library_copy, data, tmp_path
):
    from dancesearch.search.query import Searcher

    incoming = tmp_path / "incoming"
    incoming.mkdir()
    shutil.copytree(data / "m2d" / "DANCE_R_3", incoming / "DANCE_R_3")
    collections = library_copy / "qdrant"
    before = {p.name for p in collections.iterdir()}
    with Searcher.open(library_copy) as s:
        clips, current = s.store.count(s.info.name), s.info.name
    process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(incoming),
                                str(library_copy)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 300
    while not {p.name for p in collections.iterdir()} - before:  # the next collection appears
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        assert time.monotonic() < deadline, "the refresh never began to embed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the run and its Prefect API, as a power cut would
    process.wait()

    with Searcher.open(library_copy) as s:  # readers still see the whole old collection
        assert s.info.name == current and s.store.count(current) == clips
        assert s.search("a dance", limit=3).results
    again = refresh([str(incoming)], library=str(library_copy), settle_s=0)
    new = Library(library_copy).clips()["clip_id"].str.contains("DANCE_R_3").sum()
    assert new > 0 and again["new_clips"] == 0  # ingested before the kill, kept
    with Searcher.open(library_copy) as s:
        assert "rumba" in s.info.facets["genre"]
        assert s.store.count(s.info.name) == clips + new
        assert {p.name for p in collections.iterdir() if p.is_dir()} == {s.info.name}


ANNOTATIONS = ("descriptors", "tags", "captions", "choreography")


def plain_rows(library: Library, table: str, clip_ids: set[str]) -> list[tuple[object, ...]]:
    """A table's rows of these clips, as plain values, in order."""
    frame = library.table(table)
    mine = frame[frame["clip_id"].isin(clip_ids)].astype(object)
    return list(mine.where(mine.notna(), None).itertuples(index=False, name=None))


def test_a_new_file_is_annotated_and_embedded_alone_and_the_rest_stays_as_it_was(
    library_copy, data, tmp_path
):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    lib = Library(library_copy)
    old = set(lib.clips()["clip_id"])
    before = {t: plain_rows(lib, t, old) for t in ANNOTATIONS}
    splits_before = lib.table("splits")
    shutil.copy(data / "bandai" / "dataset-1_bow_musical_001.bvh",
                incoming / "dataset-1_bow_musical_999.bvh")  # fmt: skip
    hour_ago = time.time() - 3600
    os.utime(incoming / "dataset-1_bow_musical_999.bvh", (hour_ago, hour_ago))

    report = refresh([str(incoming)], library=str(library_copy), settle_s=60)
    new = set(lib.clips()["clip_id"]) - old
    assert len(new) == report["new_clips"] == report["annotated_clips"] == 1
    assert report["embed"]["embedded"] == 1 and report["embed"]["copied"] == len(old)
    for table in ANNOTATIONS:  # every existing clip keeps its rows, value for value
        assert plain_rows(lib, table, old) == before[table], table
    splits = lib.table("splits").set_index("seq_id")
    assert splits.loc[splits_before["seq_id"]].reset_index().equals(splits_before)
    (new_id,) = new
    assert new_id in set(lib.table("captions")["clip_id"]) and lib.clip(new_id)["seq_id"] in (
        splits.index
    )
    out = CliRunner().invoke(main, ["query", "a bow", "--source", "bandai", "--limit", "50",
                                    "--json", "--library", str(library_copy)])  # fmt: skip
    assert new_id in {r["clip_id"] for r in json.loads(out.stdout)["results"]}, out.output


def test_the_deployments_carry_their_schedules_and_parameters(tmp_path):
    library = str(tmp_path / "My Studio")
    refresh_d, evaluate_d, retrain_d = deployments(
        library, ["/incoming"], None, "dask", 600.0, "0 2 * * *", "0 5 * * 6", 10.0
    )
    assert deployment_name(library) == "My-Studio" == refresh_d.name == retrain_d.name
    assert refresh_d.parameters == {"library": library, "qdrant": None, "watch": ["/incoming"],
                                    "runner": "dask", "settle_s": 10.0}  # fmt: skip
    assert refresh_d.schedules[0].schedule.interval.total_seconds() == 600
    assert evaluate_d.schedules[0].schedule.cron == "0 2 * * *"
    assert retrain_d.schedules[0].schedule.cron == "0 5 * * 6"
    assert evaluate_d.parameters == retrain_d.parameters == {"library": library, "qdrant": None}
    assert len(deployments(library, [])) == 2  # nothing watched: no refresh


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--watch", "nowhere"], "--watch nowhere: no such folder"),
        (["--refresh-every", "often"], "--refresh-every 'often'"),
        (["--evaluate-cron", "nightly"], "--evaluate-cron 'nightly': not a valid cron"),
        (["--runner", "spark://x"], "--runner"),
    ],
)
def test_deploy_refuses_bad_options_at_once(tmp_path, args, message):
    Library(tmp_path / "lib", create=True)
    result = CliRunner().invoke(main, ["deploy", "--library", str(tmp_path / "lib"), *args])
    assert result.exit_code == 2 and message in result.output, result.output


def test_deploy_says_when_the_prefect_server_does_not_answer(tmp_path, monkeypatch):
    Library(tmp_path / "lib", create=True)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens there
    result = CliRunner().invoke(main, ["deploy", "--library", str(tmp_path / "lib"), "--no-web"])
    assert result.exit_code == 2
    assert "PREFECT_API_URL=http://127.0.0.1:9/api: the Prefect server does not answer" in (
        result.output
    )


def test_deploy_refuses_a_folder_that_is_not_a_library(tmp_path):
    result = CliRunner().invoke(main, ["deploy", "--library", str(tmp_path)])
    assert result.exit_code == 2 and "not a dancesearch library" in result.output
