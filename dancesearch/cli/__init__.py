"""The `dancesearch` command line: thin click commands over the flows and library functions.

User mistakes (DancesearchError) become one line on stderr and exit status 2, never a trace.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from dancesearch.errors import DancesearchError

FORMAT_CHOICES = ["auto", "m2d", "bvh", "bandai", "g1", "aistpp", "finedance", "manifest"]
DEFAULT_LIBRARY = os.environ.get("DANCESEARCH_LIBRARY", "library")

library_option = click.option(
    "--library",
    "library",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_LIBRARY,
    show_default=True,
    help="Library folder (or set DANCESEARCH_LIBRARY).",
)


class Group(click.Group):
    """Turns DancesearchError into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DancesearchError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)


@click.group(cls=Group)
@click.version_option(package_name="dancesearch")
def main() -> None:
    """Text-to-dance search: ingest dance libraries, then search them by description."""


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True
)
@library_option
@click.option("--window", type=float, default=12.0, show_default=True, help="Clip length, s.")
@click.option("--stride", type=float, default=12.0, show_default=True, help="Clip stride, s.")
@click.option("--min-clip", type=float, default=2.0, show_default=True, help="Shortest clip, s.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--verbose", is_flag=True, help="Show Prefect's task logs.")
def ingest(
    path: Path,
    fmt: str,
    library: Path,
    window: float,
    stride: float,
    min_clip: float,
    as_json: bool,
    verbose: bool,
) -> None:
    """Ingest dance data under PATH (a file, a dataset folder, or a folder of datasets)."""
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from dancesearch.clips import ClipConfig
    from dancesearch.flows.ingest import ingest as ingest_flow
    from dancesearch.ingest import IngestConfig, plan

    plan(path, fmt)  # fail on a bad path in a second, before Prefect starts
    config = IngestConfig(clips=ClipConfig(window_s=window, stride_s=stride, min_s=min_clip))
    summary = ingest_flow(str(path), fmt=fmt, library=str(library), config=config)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
        return
    click.echo(
        f"{summary.items} items: {summary.items - summary.unchanged - len(summary.skipped)} "
        f"ingested, {summary.unchanged} unchanged, {len(summary.skipped)} skipped"
    )
    click.echo(
        f"new: {summary.sequences} sequences, {summary.clips} clips, "
        f"{summary.minutes:.1f} min of motion in {summary.seconds:.1f} s"
    )
    for reason, n in sorted(summary.dropped.items()):
        click.echo(f"  windows dropped: {n} {reason}")
    for item, reason in summary.skipped:
        click.echo(f"  skipped: {reason if item in reason else f'{item}: {reason}'}")
    for folder, reason in summary.unreadable:
        click.echo(f"  not ingested: {folder}: {reason}")
    click.echo(f"library: {library}  (see `dancesearch library stats --library {library}`)")


@main.group()
def library() -> None:
    """Inspect the clip library."""


@library.command()
@library_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(library: Path, as_json: bool) -> None:
    """Counts and minutes by source, genre, performer and music."""
    from dancesearch.storage.library import Library
    from dancesearch.storage.stats import library_stats

    tables = library_stats(Library(library))
    if as_json:
        click.echo(
            json.dumps({k: v.to_dict(orient="records") for k, v in tables.items()}, indent=2)
        )
        return
    for name, frame in tables.items():
        click.echo(f"\n## by {name}")
        click.echo(frame.to_string(index=False))


@main.command()
@click.argument("clip_id")
@library_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--frames", type=int, default=8, show_default=True, help="Frames in the strip.")
def render(clip_id: str, library: Path, out: Path, frames: int) -> None:
    """Draw a strip of stick-figure frames of CLIP_ID to a PNG file."""
    from dancesearch.render import render_clip
    from dancesearch.storage.library import Library

    render_clip(Library(library), clip_id, out, n_frames=frames)
    click.echo(f"wrote {out}")
