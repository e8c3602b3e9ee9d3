"""`dancesearch qdrant migrate`: move a library's embedded Qdrant Edge collection to a Qdrant
server, the step between a laptop library and the scale-out stack in docker/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def group(library_option: Callable[[Any], Any]) -> click.Group:
    """The `qdrant` command group (the CLI's shared --library option passed in)."""

    @click.group()
    def qdrant() -> None:
        """Manage the library's Qdrant collections."""

    @qdrant.command()
    @click.option(
        "--to",
        "url",
        required=True,
        help="The Qdrant server, http(s)://host:port (API key from $DANCESEARCH_QDRANT_API_KEY).",
    )
    @library_option
    @click.option(
        "--batch-size",
        type=click.IntRange(1),
        default=256,
        show_default=True,
        help="Points a write.",
    )
    @click.option(
        "--sample",
        type=click.IntRange(0),
        default=20,
        show_default=True,
        help="Points whose dense and text searches are compared on both sides.",
    )
    def migrate(url: str, library: Path, batch_size: int, sample: int) -> None:
        """Copy the library's current collection from Qdrant Edge (inside the library) to a
        Qdrant server, verify it by point count and sampled searches, then switch the server's
        readers to it. A re-run writes only what differs; the Edge copy is left as it is."""
        from dancesearch.storage.library import Library
        from dancesearch.storage.migrate import check_url
        from dancesearch.storage.migrate import migrate as migrate_collection
        from dancesearch.storage.open import open_store

        url = check_url(url)  # before opening anything
        lib = Library(library)
        with open_store(None, lib) as source, open_store(url, lib) as target:
            report = migrate_collection(source, target, batch_size, sample, progress=click.echo)
        how = "switched to it" if report.switched else "it was already current"
        click.echo(
            f"migrated {report.collection} to {report.target}: {report.points} points "
            f"({report.written} written, {report.removed} removed), {report.verified} verified "
            f"searches, {report.seconds:.1f} s; {how}"
        )
        for note in report.notes:
            click.echo(f"  note: {note}")
        click.echo(
            f"search it with --qdrant {report.target} (or DANCESEARCH_QDRANT={report.target})"
        )

    return qdrant
