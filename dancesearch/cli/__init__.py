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

import dancesearch.flows  # noqa: F401  (sets Prefect's environment defaults before any import)
from dancesearch.errors import ConfigError, DancesearchError

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


def _check_runner(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from dancesearch.flows.runner import parse_runner

    parse_runner(value)  # a bad --runner (or DANCESEARCH_RUNNER) fails now, not in the flow
    return value


runner_option = click.option(
    "--runner",
    callback=_check_runner,
    help="threads (default), dask for a local Dask cluster, or dask://host:8786 "
    "(or set DANCESEARCH_RUNNER).",
)


class Group(click.Group):
    """Turns DancesearchError into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        dancesearch.flows.quiet_user_errors()
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
@click.option("--window", type=float, help="Clip length, s  [default: as recorded, else 12].")
@click.option(
    "--stride", type=float, help="Clip stride, s  [default: the --window given, else as recorded]."
)
@click.option("--min-clip", type=float, help="Shortest clip, s  [default: as recorded, else 1].")
@runner_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--verbose", is_flag=True, help="Show Prefect's task logs.")
def ingest(
    path: Path,
    fmt: str,
    library: Path,
    window: float | None,
    stride: float | None,
    min_clip: float | None,
    runner: str | None,
    as_json: bool,
    verbose: bool,
) -> None:
    """Ingest dance data under PATH (a file, a dataset folder, or a folder of datasets).

    Clips are cut as the library recorded at its first ingest. A --window, --stride or
    --min-clip that differs re-cuts the whole library, re-ingesting every item it holds.
    """
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from dancesearch.flows.ingest import ingest as ingest_flow
    from dancesearch.ingest import configure, plan

    plan(path, fmt)  # fail on a bad path in a second, before Prefect starts
    given = (window, stride, min_clip) != (None, None, None)
    config = configure(library, window, stride, min_clip) if given else None
    summary = ingest_flow(str(path), fmt=fmt, library=str(library), config=config, runner=runner)
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
    if summary.recut:
        click.echo(f"re-cut the whole library: {summary.recut}")
    for reason, n in sorted(summary.dropped.items()):
        click.echo(f"  windows dropped: {n} {reason}")
    for item, reason in summary.skipped:
        click.echo(f"  skipped: {reason if item in reason else f'{item}: {reason}'}")
    for folder, reason in summary.unreadable:
        click.echo(f"  not ingested: {folder}: {reason}")
    click.echo(f"library: {library}  (see `dancesearch library stats --library {library}`)")


@main.command()
@library_option
@click.option(
    "--expert",
    "experts",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV or JSON of expert tags per clip or sequence (repeatable); they override auto tags "
    "[default: the files the last annotation used].",
)
@click.option("--no-experts", is_flag=True, help="Annotate without the recorded expert files.")
@click.option(
    "--seed", type=int, help="Seed of captions and split  [default: as recorded, else 0]."
)
@click.option(
    "--choreography",
    type=click.Path(file_okay=False, path_type=Path),
    help="m2d_choreonet folder (default: found beside the m2d data).",
)
@click.option("--rewriter", help="module:function of an LLM caption rewriter (off by default).")
@click.option(
    "--recalibrate",
    is_flag=True,
    help="Refit the tagger's thresholds on the train clips  [default: reuse the stored ones; "
    "a new taxonomy version refits].",
)
@runner_option
@click.option("--verbose", is_flag=True, help="Show Prefect's task logs.")
def annotate(
    library: Path,
    experts: tuple[Path, ...],
    no_experts: bool,
    seed: int | None,
    choreography: Path | None,
    rewriter: str | None,
    recalibrate: bool,
    runner: str | None,
    verbose: bool,
) -> None:
    """Tag every clip with the taxonomy, write captions and split the library."""
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from dancesearch.annotate import expert
    from dancesearch.annotate.pipeline import tag_frequencies
    from dancesearch.annotate.recorded import recorded_config, with_options
    from dancesearch.annotate.splits import split_table
    from dancesearch.annotate.taxonomy import load_taxonomy
    from dancesearch.flows.annotate import annotate as annotate_flow
    from dancesearch.storage.library import Library

    lib = Library(library)
    for f in experts:  # fail on a bad expert file before Prefect starts
        expert.load_expert(f, load_taxonomy())
    config = with_options(
        recorded_config(lib),
        seed=seed,
        expert_files=() if no_experts else experts or None,
        choreography=choreography,
        rewriter=rewriter,
        recalibrate=recalibrate,
    )
    if experts and no_experts:
        raise ConfigError("--expert and --no-experts contradict each other; give one")
    report = annotate_flow(str(lib.root), config, runner=runner)
    click.echo(
        f"annotated {report.clips} clips: {report.tags} tags, {report.captions} captions, "
        f"{report.expert_changes} expert changes in {report.seconds:.1f} s"
    )
    kept = f"; {report.kept} clips kept as they were" if report.kept else ""
    click.echo(f"run: {report.run}{kept}")
    if report.calibration:
        click.echo(f"tagger thresholds: {report.calibration}")
    freq = tag_frequencies(lib)
    if len(freq):
        click.echo("\n## tag frequencies")
        click.echo(freq.round(3).to_string(index=False))
    click.echo("\n## split (clips by split and genre)")
    click.echo(split_table(lib.clips(), lib.table("splits")).to_string())
    for line in report.split_problems + report.warnings:
        click.echo(f"  note: {line}")


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

    lib = Library(library)
    tables = library_stats(lib)
    if not tables and not as_json:
        click.echo(f"{library}: no clips yet; run `dancesearch ingest PATH --library {library}`")
        return
    if lib.read_json("annotation"):
        from dancesearch.annotate.pipeline import annotations_current, tag_frequencies

        tables["tag"] = tag_frequencies(lib).round(3)
        if not annotations_current(lib):
            click.echo("note: annotations are out of date; re-run `dancesearch annotate`", err=True)
    if as_json:
        click.echo(
            json.dumps({k: v.to_dict(orient="records") for k, v in tables.items()}, indent=2)
        )
        return
    for name, frame in tables.items():
        click.echo(f"\n## by {name}")
        click.echo(frame.to_string(index=False))


@library.command()
@click.argument("clip_id")
@library_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(clip_id: str, library: Path, as_json: bool) -> None:
    """Everything about one clip: tags with evidence, captions, provenance, split."""
    from dancesearch.catalogue import clip_details
    from dancesearch.cli.show import format_details
    from dancesearch.storage.library import Library

    details = clip_details(Library(library), clip_id)
    click.echo(json.dumps(details, indent=2, default=str) if as_json else format_details(details))


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


from dancesearch.cli.model import register as _register_model  # noqa: E402

_register_model(main, library_option)
from dancesearch.cli.search import register as _register_search  # noqa: E402

_register_search(main, library_option, runner_option)
from dancesearch.cli.build import register as _register_build  # noqa: E402

_register_build(main, library_option, runner_option)
from dancesearch.cli.web import register as _register_web  # noqa: E402

_register_web(main, library_option)
from dancesearch.cli.deploy import register as _register_deploy  # noqa: E402

_register_deploy(main, library_option)
from dancesearch.cli.qdrant import group as _qdrant_group  # noqa: E402

main.add_command(_qdrant_group(library_option))
