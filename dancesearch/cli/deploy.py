"""`dancesearch deploy`: serve the scheduled deployments (refresh, evaluate-search, retrain)
and, on the embedded Qdrant, the search page from the same process."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dancesearch.cli.search import qdrant_option
from dancesearch.cli.web import allowed_host_option
from dancesearch.errors import ConfigError
from dancesearch.flows.schedule import EVALUATE_CRON, REFRESH_EVERY, RETRAIN_CRON, SETTLE_S

UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """Seconds in "90s", "15m", "2h", "1d" (a bare number is minutes)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"--refresh-every {text!r}: give a duration such as 90s, 15m or 2h")
    return float(m.group(1)) * UNITS_S[m.group(2) or "m"]


def check_cron(option: str, text: str) -> str:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=text)
    except ValueError:
        raise ConfigError(f"{option} {text!r}: not a valid cron expression") from None
    return text


def register(main: click.Group, library_option: Callable[[Any], Any]) -> None:

    @main.command()
    @library_option
    @click.option("--watch", multiple=True, type=click.Path(path_type=Path),
                  help="A folder where new dance files arrive (repeatable).")  # fmt: skip
    @qdrant_option
    @click.option("--runner", default=None, envvar="DANCESEARCH_RUNNER",
                  help="Where tasks run: threads (default), dask (a local Dask cluster) or "
                  "dask://host:8786.")  # fmt: skip
    @click.option("--refresh-every", default=REFRESH_EVERY, show_default=True,
                  help="How often refresh looks for new files: 90s, 15m, 2h.")  # fmt: skip
    @click.option("--evaluate-cron", default=EVALUATE_CRON, show_default=True,
                  help="When evaluate-search runs (cron, UTC).")  # fmt: skip
    @click.option("--retrain-cron", default=RETRAIN_CRON, show_default=True,
                  help="When retrain runs (cron, UTC).")  # fmt: skip
    @click.option("--settle", "settle_s", type=click.FloatRange(0), default=SETTLE_S,
                  show_default=True,
                  help="Seconds a file must stay unchanged before it is ingested.")  # fmt: skip
    @click.option("--web/--no-web", default=None,
                  help="Serve the search page from this process [default: on with the embedded "
                  "Qdrant, which one process may open; off with --qdrant].")  # fmt: skip
    @click.option("--host", default="127.0.0.1", show_default=True, help="The page's address.")
    @click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
    @allowed_host_option
    def deploy(
        library: Path,
        watch: tuple[Path, ...],
        qdrant: str | None,
        runner: str | None,
        refresh_every: str,
        evaluate_cron: str,
        retrain_cron: str,
        settle_s: float,
        web: bool | None,
        host: str,
        port: int,
        allowed_hosts: tuple[str, ...],
    ) -> None:
        """Serve the scheduled deployments until interrupted.

        \b
        refresh          new files in --watch folders -> ingest -> annotate -> embed
        evaluate-search  R@K / MedR / MnR through Qdrant: a Prefect artifact and a history
        retrain          train; promote only when not worse on validation

        Uses the Prefect server of PREFECT_API_URL, else one on 127.0.0.1:4200 (started when
        none answers there). Trigger a run at once with `prefect deployment run
        refresh/<library folder name>`.
        """
        import os

        from dancesearch.flows import server as prefect_server
        from dancesearch.storage.library import Library

        lib = Library(library)  # fails now on a folder that is not a library
        every_s = parse_every(refresh_every)
        check_cron("--evaluate-cron", evaluate_cron)
        check_cron("--retrain-cron", retrain_cron)
        for folder in watch:
            if not folder.is_dir():
                raise ConfigError(f"--watch {folder}: no such folder")
        if runner:
            from dancesearch.flows.runner import task_runner

            task_runner(runner)  # a bad --runner fails now, not at the first run
        url, started = prefect_server.ensure(lib.root / "logs" / "prefect-server.log")
        os.environ["PREFECT_API_URL"] = url
        stop_web = None
        try:
            if qdrant is None if web is None else web:
                stop_web = _start_web(lib.root, qdrant, host, port, allowed_hosts)
            from prefect import serve
            from prefect.settings import PREFECT_API_URL, temporary_settings

            from dancesearch.flows.deploy import deployments

            found = deployments(
                str(lib.root.resolve()), [str(w.resolve()) for w in watch], qdrant, runner,
                every_s, evaluate_cron, retrain_cron, settle_s,
            )  # fmt: skip
            click.echo(f"Prefect: {url.removesuffix('/api')} (runs, logs and artifacts)")
            with temporary_settings(updates={PREFECT_API_URL: url}):  # read before we set it
                serve(*found, limit=1)  # one run at a time: they share the library
        finally:
            if stop_web:
                stop_web()
            if started:
                prefect_server.stop(started)


def _start_web(
    library: Path, qdrant: str | None, host: str, port: int, allowed_hosts: tuple[str, ...]
) -> Callable[[], None]:
    """The search page on a thread of this process; returns a function that stops it."""
    import uvicorn

    from dancesearch.cli.web import page_url, warn_if_exposed
    from dancesearch.search.query import Searcher
    from dancesearch.web.app import create_app

    Searcher.open(library, qdrant).close()  # no collection or a held one fails here, clearly
    warn_if_exposed(host)
    url = page_url(host, port)
    app = create_app(library, qdrant, url=url, hosts=allowed_hosts)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ConfigError(f"the search page could not start on {url}")
        time.sleep(0.1)
    click.echo(f"dancesearch: {url}/  (this process also runs the collection's writes)")

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)

    return stop
