"""`dancesearch embed`, `query` and `similar`: thin commands over dancesearch.search.

`query` and `similar` import nothing heavy (no torch, no Prefect): a cold one answers in about
a second.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dancesearch.errors import ConfigError, DancesearchError

QDRANT_HELP = (
    "Qdrant server URL (API key from $DANCESEARCH_QDRANT_API_KEY)  "
    "[default: Qdrant Edge inside the library]"
)
TAG_COLUMNS = 3  # tags shown per result
CAPTION_CHARS = 60


def qdrant_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--qdrant", envvar="DANCESEARCH_QDRANT", default=None, help=QDRANT_HELP)(f)


def filter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--genre", "genres", multiple=True, help="Only this genre (repeatable: any)."),
        click.option("--performer", "performers", multiple=True, help="Only this performer."),
        click.option("--source", "sources", multiple=True, help="Only this dataset."),
        click.option("--tag", "tags", multiple=True, help="Must carry this tag (repeatable: all)."),
        click.option("--bpm", help="Music tempo range MIN:MAX, beats per minute (80:120, 100:)."),
        click.option("--music/--no-music", "has_music", default=None, help="With / without music."),
        click.option("--limit", type=int, default=10, show_default=True, help="Results to show."),
        click.option("--per-sequence", type=int, help="At most N windows of one recording."),
        click.option("--json", "as_json", is_flag=True, help="Print the results as JSON."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_filter(
    genres: tuple[str, ...],
    performers: tuple[str, ...],
    sources: tuple[str, ...],
    tags: tuple[str, ...],
    bpm: str | None,
    has_music: bool | None,
) -> Any:
    from dancesearch.search.query import parse_bpm
    from dancesearch.storage.filters import SearchFilter

    low, high = parse_bpm(bpm) if bpm is not None else (None, None)
    return SearchFilter(genres, performers, sources, low, high, tags, has_music)


def register(
    main: click.Group,
    library_option: Callable[[Any], Any],
    runner_option: Callable[[Any], Any],
) -> None:
    @main.command()
    @library_option
    @click.option(
        "--checkpoint",
        type=click.Path(path_type=Path),
        help="Checkpoint folder  [default: <library>/models/default].",
    )
    @qdrant_option
    @runner_option
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
    def embed(
        library: Path, checkpoint: Path | None, qdrant: str | None, runner: str | None,
        as_json: bool,
    ) -> None:  # fmt: skip
        """Embed the library's clips into its Qdrant collection: only new or changed clips are
        encoded; readers switch to the new collection when it is complete."""
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        from dancesearch.flows.embed import embed as embed_flow

        ckpt = checkpoint or library / "models" / "default"
        summary = embed_flow(str(library), str(ckpt), qdrant, progress=not as_json, runner=runner)
        if as_json:
            click.echo(json.dumps(summary, indent=2))
            return
        click.echo(embed_line(summary))

    @main.command()
    @click.argument("text", required=False)
    @library_option
    @qdrant_option
    @click.option(
        "--mode",
        type=click.Choice(["dense", "text", "hybrid"]),
        default="hybrid",
        show_default=True,
        help="Rank by the model (dense), by what people wrote (text, BM25) or both fused.",
    )
    @filter_options
    @click.option("--interactive", "-i", is_flag=True, help="Refine the results at a prompt.")
    def query(
        text: str | None, library: Path, qdrant: str | None, mode: str, genres: tuple[str, ...],
        performers: tuple[str, ...], sources: tuple[str, ...], tags: tuple[str, ...],
        bpm: str | None, has_music: bool | None, limit: int, per_sequence: int | None,
        as_json: bool, interactive: bool,
    ) -> None:  # fmt: skip
        """Find dances matching TEXT, e.g. `dancesearch query "a slow waltz with wide turns"
        --genre waltz`."""
        from dancesearch.search.refine import State
        from dancesearch.serving.remote import open_searcher

        if text is None and not interactive:
            raise ConfigError('give the query text: dancesearch query "a slow waltz"')
        where = make_filter(genres, performers, sources, tags, bpm, has_music)
        state = State(text, None, where, mode, limit, per_sequence)
        with open_searcher(library, qdrant) as searcher:
            if interactive:
                refine_loop(searcher, state)
                return
            results = searcher.search(text or "", where, mode, limit, per_sequence)
            show(results, as_json)

    @main.command()
    @click.argument("clip_id")
    @library_option
    @qdrant_option
    @filter_options
    def similar(
        clip_id: str, library: Path, qdrant: str | None, genres: tuple[str, ...],
        performers: tuple[str, ...], sources: tuple[str, ...], tags: tuple[str, ...],
        bpm: str | None, has_music: bool | None, limit: int, per_sequence: int | None,
        as_json: bool,
    ) -> None:  # fmt: skip
        """Find dances like the dance CLIP_ID (nearest dance vectors, itself left out)."""
        from dancesearch.serving.remote import open_searcher

        where = make_filter(genres, performers, sources, tags, bpm, has_music)
        with open_searcher(library, qdrant) as searcher:
            show(searcher.similar(clip_id, where, limit, per_sequence), as_json)


def embed_line(summary: dict[str, Any]) -> str:
    if not summary["changed"] and not summary["dropped"]:
        return (
            f"{summary['collection']}: up to date, {summary['clips']} clips "
            f"({summary['seconds']:.1f} s)"
        )
    line = (
        f"{summary['collection']}: {summary['clips']} clips -- {summary['embedded']} embedded, "
        f"{summary['copied']} unchanged, {summary['removed']} removed in {summary['seconds']:.1f} s"
    )
    if summary["skipped"]:
        line += f"; {len(summary['skipped'])} clips without captions left out (run annotate)"
    return line


def show(results: Any, as_json: bool) -> None:
    """Print results as a table (or JSON) with the confidence hint and the credit lines."""
    if as_json:
        click.echo(json.dumps(results.as_dict(), indent=2, default=str))
        return
    click.echo(format_results(results))


def format_results(results: Any) -> str:
    rows = [("#", "score", "clip", "genre", "performer", "BPM", "tags", "caption", "matched")]
    for r in results.results:
        p = r.payload
        tags = [t for t in p.get("tags") or [] if not t.startswith(("genre.", "tempo."))]
        rows.append((
            str(r.rank), f"{r.score:.3f}", r.clip_id, str(p.get("genre") or "-"),
            str(p.get("performer") or "-"), f"{p['bpm']:.0f}" if p.get("bpm") else "-",
            ", ".join(tags[:TAG_COLUMNS]), _caption(p), ", ".join(r.matched) or "-",
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"{results.query} [{results.mode}]: {results.candidates} clips pass the filters"]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    if results.confidence is not None:
        lines.append(f"confidence: {results.confidence.hint} (top result "
                     f"{results.confidence.z:.1f} sd above the next 50)")  # fmt: skip
    elif results.results:
        lines.append("confidence: too few clips pass the filters to judge")
    lines += [f"note: {n}" for n in results.notes]
    credits = dict.fromkeys(_credit(r.payload) for r in results.results)
    lines += ["", "credits:", *(f"  {c}" for c in credits)] if credits else []
    return "\n".join(lines)


def _credit(p: dict[str, Any]) -> str:
    return f"{p.get('source')}: {p.get('credit') or '-'} ({p.get('licence') or 'licence unknown'})"


def _caption(payload: dict[str, Any]) -> str:
    text = str(payload.get("title") or (payload.get("captions") or ["-"])[0])
    return text if len(text) <= CAPTION_CHARS else text[: CAPTION_CHARS - 1] + "…"


def refine_loop(searcher: Any, state: Any) -> None:
    """Read refinement commands from stdin until quit or end of input."""
    from dancesearch.search.refine import HELP, Session

    session = Session(searcher, state)
    click.echo("refine the results: +genre waltz, +tempo fast, -tag legs.jump, more 3, undo "
               "(help lists all; quit ends)")  # fmt: skip
    run = state.text is not None
    while True:
        if run:
            try:
                click.echo(format_results(session.run()))
            except DancesearchError as e:
                click.echo(f"error: {e}")
                if len(session.states) > 1:
                    session.states.pop()
        run = True
        try:
            line = input("refine> ")
        except EOFError:
            click.echo("")
            return
        try:
            what = session.apply(line)
        except DancesearchError as e:
            click.echo(f"error: {e}")
            run = False
            continue
        if what == "quit":
            return
        if what in ("help", "filters"):
            click.echo(HELP if what == "help" else session.state.describe())
            run = False
        sys.stdout.flush()
