"""The `refresh` flow and its scheduled deployment: re-ingest folders, then re-annotate.

Ingest recomputes only what changed, so a nightly refresh of a growing mocap library costs
little when nothing is new. Both steps use the configuration the library recorded (its clip
windows and features, its annotation seed, expert files and rewriter), never defaults.
`dancesearch schedule` serves it with Prefect (embedded, or the server named by
PREFECT_API_URL).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, serve

from dancesearch.flows.annotate import annotate
from dancesearch.flows.ingest import ingest


@flow(name="refresh")
def refresh(
    paths: list[str], library: str = "library", runner: str | None = None
) -> dict[str, Any]:
    """Ingest every path into the library (unchanged items are skipped), then annotate it,
    both as the library recorded (defaults for a new library); runner: where their tasks run
    (dancesearch.flows.runner)."""
    summaries = [ingest(p, library=library, progress=False, runner=runner) for p in paths]
    report = annotate(library, runner=runner)
    return {
        "new_clips": sum(s.clips for s in summaries),
        "skipped": [item for s in summaries for item, _ in s.skipped],
        "annotated_clips": report.clips,
    }


def refresh_deployment(paths: list[str], library: str, cron: str, name: str = "nightly") -> Any:
    """A Prefect deployment running `refresh` on a cron schedule (server time zone: UTC)."""
    return refresh.to_deployment(
        name=name,
        cron=cron,
        parameters={"paths": paths, "library": library},
        description=f"Re-ingest {', '.join(paths)} into {library} and re-annotate it.",
        tags=["dancesearch"],
    )


def serve_refresh(paths: list[str], library: str, cron: str) -> None:  # pragma: no cover
    """Serve the scheduled refresh until interrupted (blocks)."""
    serve(refresh_deployment(paths, library, cron))
