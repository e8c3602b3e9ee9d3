"""What the `refresh` flow costs for one new file on a built library, and that it leaves every
existing clip's annotations as they were.

Copies LIBRARY to WORK/lib, runs one refresh with an empty watched folder (starts Prefect's
ephemeral API; an empty folder is passed over), then copies a Bandai take under a new name into
the folder and times the refresh that makes it searchable: the flow's wall time here and the
run times Prefect records for it and its subflows. Then compares, clip by clip, the annotation
rows of every clip that was there before.

    LIBRARY=/path/to/built/library .venv/bin/python benchmarks/refresh_one_file.py [--prime]

--prime: annotate once first (a library annotated before runs recorded their inputs is
annotated in full once; this measures the runs after that one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import time
from pathlib import Path

WORK = Path(os.environ.get("WORK", "/tmp/dancesearch-refresh"))
TAKE = Path(__file__).resolve().parents[2] / "shared/data/bandai/dataset-1_bow_musical_001.bvh"
TABLES = ("descriptors", "tags", "captions", "choreography")


def rows(lib, table: str, clip_ids: set[str]) -> list[tuple[object, ...]]:
    frame = lib.table(table)
    if frame.empty:
        return []
    mine = frame[frame["clip_id"].isin(clip_ids)].astype(object)
    return sorted(map(repr, mine.where(mine.notna(), None).itertuples(index=False, name=None)))


async def run_times(since: float) -> list[tuple[str, float]]:
    """(flow name or "  task name", run time) of the runs started since, in start order."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        flows = await client.read_flow_runs()
        tasks = await client.read_task_runs()
        out = []
        for r in flows:
            if r.start_time is not None and r.start_time.timestamp() >= since:
                name = (await client.read_flow(r.flow_id)).name
                out.append((r.start_time.timestamp(), name, r.total_run_time.total_seconds()))
        for r in tasks:
            if r.start_time is not None and r.start_time.timestamp() >= since:
                out.append(
                    (r.start_time.timestamp(), f"  {r.name}", r.total_run_time.total_seconds())
                )
    return [(name, seconds) for _, name, seconds in sorted(out)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prime", action="store_true")
    args = parser.parse_args()
    from dancesearch.flows.deploy import refresh
    from dancesearch.storage.library import Library

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    shutil.copytree(os.environ["LIBRARY"], WORK / "lib", ignore=shutil.ignore_patterns(".lock"))
    incoming = WORK / "incoming"
    incoming.mkdir()
    lib = Library(WORK / "lib")
    if args.prime:
        from dancesearch.annotate.pipeline import annotate_library
        from dancesearch.annotate.recorded import recorded_config

        print("prime:", annotate_library(lib, recorded_config(lib)).run)
    started = time.perf_counter()
    print("warm-up refresh:", refresh([str(incoming)], library=str(lib.root), settle_s=10))
    print(f"warm-up wall {time.perf_counter() - started:.1f} s")
    old = set(lib.clips()["clip_id"])
    before = {t: rows(lib, t, old) for t in TABLES}
    splits_before = lib.table("splits")

    new_file = incoming / "dataset-1_bow_musical_999.bvh"
    shutil.copy(TAKE, new_file)
    minute_ago = time.time() - 60
    os.utime(new_file, (minute_ago, minute_ago))  # settled
    print(f"load average before: {os.getloadavg()}")
    since = time.time()
    started = time.perf_counter()
    report = refresh([str(incoming)], library=str(lib.root), settle_s=10)
    wall = time.perf_counter() - started
    print(f"load average after: {os.getloadavg()}")
    print("refresh:", json.dumps(report, default=str))
    print(f"refresh wall {wall:.1f} s")
    for name, seconds in asyncio.run(run_times(since - 1)):
        print(f"  {name:<40} {seconds:6.1f} s (Prefect run time)")
    same = {t: rows(lib, t, old) == before[t] for t in TABLES}
    splits = lib.table("splits").set_index("seq_id").loc[splits_before["seq_id"]]
    same["splits"] = splits.reset_index().equals(splits_before)
    print("existing clips' rows unchanged:", same)


if __name__ == "__main__":
    main()
