"""`dancesearch serve` (the web page and its API) and `dancesearch study report`."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dancesearch.cli.search import qdrant_option

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def register(main: click.Group, library_option: Callable[[Any], Any]) -> None:
    @main.command()
    @library_option
    @qdrant_option
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
    @click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
    @click.option(
        "--study",
        default="hybrid:dense",
        show_default=True,
        help="The two rankings the user study compares, A:B, of hybrid, dense, text and "
        "target (the clip the caption was written for).",
    )
    @allowed_host_option
    def serve(
        library: Path, qdrant: str | None, host: str, port: int, study: str,
        allowed_hosts: tuple[str, ...],
    ) -> None:  # fmt: skip
        """Serve the search page and its JSON API (OpenAPI docs at /docs)."""
        import uvicorn

        from dancesearch.web.app import create_app
        from dancesearch.web.study import parse_arms

        arms = parse_arms(study)
        warn_if_exposed(host)
        url = page_url(host, port)
        click.echo(f"dancesearch: {url}/  (API docs {url}/docs; Ctrl-C stops)")
        app = create_app(library, qdrant, url=url, study_arms=arms, hosts=allowed_hosts)
        uvicorn.run(app, host=host, port=port, log_level="warning")

    @main.group()
    def study() -> None:
        """The user study: ratings collected by the page's Rate mode."""

    @study.command()
    @library_option
    @click.option("--arms", default="hybrid:dense", show_default=True, help="A:B to compare.")
    def report(library: Path, arms: str) -> None:
        """Mean ± 95 % CI of the ratings per ranking, and the paired difference A − B."""
        from dancesearch.errors import ConfigError
        from dancesearch.web.study import FILE, Study, parse_arms

        path = library / FILE
        if not path.is_file():
            raise ConfigError(f"{path}: no ratings yet; rate in `dancesearch serve`'s Rate mode")
        click.echo(Study(path, parse_arms(arms)).report())


allowed_host_option = click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    envvar="DANCESEARCH_ALLOWED_HOSTS",
    help="A host name the page is reached by, besides loopback and --host (repeatable; "
    "'*' allows any, for a proxy that checks it). Requests naming another host get 400.",
)


def page_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def warn_if_exposed(host: str) -> None:
    if not _loopback(host):
        click.echo(
            f"warning: binding {host} exposes the library to the network; the search API has "
            "no authentication",
            err=True,
        )


def _loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
