"""Where the ingest, annotate and embed flows run their tasks: two threads in the flow's own
process (the default), or a Dask cluster -- a local one started for the run, or a running
scheduler named by address. `--runner` (the flows' `runner` parameter) says which; without it,
$DANCESEARCH_RUNNER; without that, threads.

Under Dask a task runs in another process, maybe on another machine: its arguments and result
are pickled, and it reads and writes the library by path. So the library folder, the input data
and Prefect's result storage (ingest's cached item results: $PREFECT_LOCAL_STORAGE_PATH, by
default $PREFECT_HOME/storage) must be on a file system that the flow and every worker see at
the same paths, and a remote cluster's workers need a Prefect API to report to
($PREFECT_API_URL, as the flow's). A local cluster shares the flow's machine and its API.
The number of BLAS threads changes the last bits of the music features: workers that `dask
worker` starts (OMP_NUM_THREADS=1) make a library that differs in those bits from one made here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from dancesearch.errors import ConfigError

if TYPE_CHECKING:  # Prefect loads in a second or two: checking a spec does not need it
    from prefect import Flow
    from prefect.task_runners import TaskRunner

RUNNER_ENV = "DANCESEARCH_RUNNER"  # the runner when --runner is not given
FORMS = "threads, dask (a local cluster), dask://HOST:PORT or tcp://HOST:PORT (a scheduler)"
THREADS = 2  # worker threads of the default runner
DASK_WORKERS = 2  # processes of a local Dask cluster, one thread each

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class RunnerSpec:
    """A parsed runner: kind "threads" or "dask"; address is the Dask scheduler's
    tcp://HOST:PORT, or None for a local cluster started (and stopped) by the flow run."""

    kind: str
    address: str | None = None


def parse_runner(spec: str | None) -> RunnerSpec:
    """The runner `spec` names; None for $DANCESEARCH_RUNNER, else threads.

    Raises ConfigError naming --runner (or the variable) and the valid forms.
    """
    given = spec if spec is not None else os.environ.get(RUNNER_ENV, "")
    what = f"--runner {given!r}" if spec is not None else f"{RUNNER_ENV}={given!r}"
    text = given.strip()
    if text in ("", "threads"):
        return RunnerSpec("threads")
    if text == "dask":
        return RunnerSpec("dask")
    url = urlsplit(text)
    try:
        port = url.port
    except ValueError:  # not a number, or out of range
        port = None
    if url.scheme not in ("dask", "tcp") or not url.hostname or port is None or url.path:
        raise ConfigError(f"{what}: expected {FORMS}")
    return RunnerSpec("dask", f"tcp://{url.netloc}")


def task_runner(spec: str | None, dask_workers: int = DASK_WORKERS) -> TaskRunner[Any]:
    """A fresh Prefect task runner for `spec` (see parse_runner): ThreadPoolTaskRunner, or
    prefect_dask's DaskTaskRunner (imported only then: dask takes a second to load). Making
    one checks the spec and starts nothing; a Dask cluster or connection starts at the first
    task.

    dask_workers: processes of a local cluster (spec "dask"), one thread each.
    """
    runner = parse_runner(spec)
    if runner.kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=THREADS)
    # Dask's own logs (a dozen lines per worker started or stopped) only when asked for; read
    # when distributed is first imported, here and in each worker process
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    from prefect_dask import DaskTaskRunner

    if runner.address is not None:
        return DaskTaskRunner(address=runner.address)
    cluster = {
        "n_workers": dask_workers,
        "threads_per_worker": 1,
        "processes": True,  # as a real cluster's: nothing shared but the file system
        "dashboard_address": None,  # the dashboard needs bokeh, and a free port
    }
    return DaskTaskRunner(cluster_kwargs=cluster)


def on_runner(subflow: Flow[P, R], spec: str | None) -> Callable[P, R]:
    """`subflow`, its tasks on the task runner `spec` names, to call inside a flow that takes
    `spec` as its `runner` parameter: a flow's task runner is fixed before it starts, so the
    choice made at run time goes to a subflow."""
    runner = task_runner(spec)
    configured = subflow.with_options(task_runner=runner)
    local_cluster = parse_runner(spec) == RunnerSpec("dask")

    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if not local_cluster:
            return configured(*args, **kwargs)
        with _local_cluster_context():
            return configured(*args, **kwargs)

    return call


@contextmanager
def _local_cluster_context() -> Iterator[None]:
    """While a local cluster runs: its workers report to this process's Prefect API and start
    with this process's environment, which is left as it was.

    Each task carries the flow's Prefect settings to its worker; with no $PREFECT_API_URL, a
    worker would start an ephemeral API server of its own (10-20 s) on the same database.
    Dask would start its workers with OMP_NUM_THREADS=1 and the like
    (distributed.nanny.pre-spawn-environ), and the number of BLAS threads changes the last bits
    of the music features: the library would differ from one made on threads. A Dask nanny
    also sets PYTHONHASHSEED in this process before it starts its worker.
    """
    import dask.config
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = {} if PREFECT_API_URL.value() else {PREFECT_API_URL: str(get_client().api_url)}
    hash_seed = os.environ.get("PYTHONHASHSEED")
    nanny = logging.getLogger("distributed.nanny")
    nanny.addFilter(_not_slow_exit)
    try:
        with (
            dask.config.set({"distributed.nanny.pre-spawn-environ": {}}),
            temporary_settings(api),
        ):
            yield
    finally:
        nanny.removeFilter(_not_slow_exit)
        if hash_seed is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = hash_seed


def _not_slow_exit(record: logging.LogRecord) -> bool:
    # A worker that has done its tasks but takes over 4 s to exit (unloading torch and librosa
    # on a busy machine) is killed by its nanny at shutdown: nothing is lost, nothing to say.
    return not record.getMessage().startswith("Worker process still alive after")
