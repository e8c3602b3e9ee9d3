"""`dancesearch build`: the main job in one command -- ingest, annotate, train, embed (each
skipped when its inputs are unchanged), then the rankings of a few example queries."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dancesearch.cli.search import qdrant_option

EXAMPLES = (  # (text, genre filter)
    ("a slow waltz with wide turns", "waltz"),
    ("sharp arm isolations over a fast beat", None),
    ("a run in a childish style", None),
    ("spinning with arms raised", None),
)
SHOWN = 3  # results per example


def register(
    main: click.Group,
    library_option: Callable[[Any], Any],
    runner_option: Callable[[Any], Any],
) -> None:
    @main.command()
    @click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
    @library_option
    @click.option("--preset", help="Model configuration to train  [default: default].")
    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML model configuration (see `dancesearch train`).",
    )
    @qdrant_option
    @runner_option
    def build(
        paths: tuple[Path, ...],
        library: Path,
        preset: str | None,
        config_path: Path | None,
        qdrant: str | None,
        runner: str | None,
    ) -> None:
        """Build a searchable library from the dance data under PATHS: ingest -> annotate ->
        train -> embed, skipping each step whose inputs are unchanged; then show what a few
        example queries find."""
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        from dancesearch.encoders.registry import load_config
        from dancesearch.flows.build import build as build_flow
        from dancesearch.ingest import plan

        for path in paths:
            plan(path, "auto")  # a bad path fails now, before Prefect starts
        config = load_config(config_path, preset)
        steps = build_flow([str(p) for p in paths], str(library), config, qdrant, runner=runner)
        ingest = steps["ingest"]
        click.echo(
            f"ingest: {ingest['items']} items, {ingest['unchanged']} unchanged, "
            f"{ingest['new clips']} new clips, {len(ingest['skipped'])} skipped"
        )
        for line in ingest["skipped"]:
            click.echo(f"  skipped: {line}")
        click.echo(f"annotate: {steps['annotate']}")
        click.echo(f"train: {steps['train']}")
        from dancesearch.cli.search import embed_line

        click.echo(f"embed: {embed_line(steps['embed'])}")
        show_examples(library, qdrant)


def show_examples(library: Path, qdrant: str | None) -> None:
    from dancesearch.search.query import Searcher
    from dancesearch.storage.filters import SearchFilter

    with Searcher.open(library, qdrant) as searcher:
        genres = searcher.info.facets.get("genre", [])
        for text, genre in EXAMPLES:
            where = SearchFilter(genres=(genre,)) if genre and genre in genres else SearchFilter()
            results = searcher.search(text, where, limit=SHOWN)
            option = f" --genre {genre}" if where.genres else ""
            click.echo(f'\n$ dancesearch query "{text}"{option}')
            for r in results.results:
                p = r.payload
                caption = p.get("title") or (p.get("captions") or ["-"])[0]
                matched = f"  matched: {', '.join(r.matched)}" if r.matched else ""
                click.echo(f"  {r.rank}. {r.score:.3f}  {r.clip_id}  ({p.get('genre') or '-'}) "
                           f"{caption}{matched}")  # fmt: skip
            if results.confidence is not None:
                click.echo(f"  confidence: {results.confidence.hint}")
