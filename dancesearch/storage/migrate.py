"""Moving a library's current collection from one store to another (in practice: from the
embedded Qdrant Edge store to a Qdrant server). Qdrant Edge has no snapshot export, so the
points are scrolled out and upserted in batches, then the copy is verified before readers of
the target are switched to it.

A re-run writes only what differs: a point whose content hash (payload and dense vector) the
target already holds is skipped, a target point the source lacks is deleted. A migration that
was interrupted therefore resumes, and one over an unchanged collection writes nothing.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dancesearch.errors import ConfigError, LibraryError
from dancesearch.storage.qdrant import content_hash
from dancesearch.storage.store import Hit, Point, Store

TOP_K = 10  # results compared per verified search
SCORE_TOL = 1e-4  # relative: the backends compute cosine and BM25 in float32, in other orders


@dataclass
class MigrateReport:
    """What a migration did."""

    collection: str
    source: str  # where it came from (folder or URL)
    target: str
    points: int  # points in the collection, on both sides
    written: int = 0  # points upserted into the target by this run
    removed: int = 0  # target points the source did not hold
    verified: int = 0  # sampled searches that gave the same clips on both sides
    switched: bool = False  # the target's current collection changed
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_url(url: str) -> str:
    """A Qdrant server URL to migrate to, refusing anything but http(s)://host[:port]."""
    if not re.fullmatch(r"https?://[^/\s]+/?", url):
        raise ConfigError(
            f"--to {url!r}: give the Qdrant server's URL, http(s)://host:port "
            "(for example http://localhost:6333)"
        )
    return url.rstrip("/")


def migrate(
    source: Store,
    target: Store,
    batch_size: int = 256,
    sample: int = 20,
    progress: Callable[[str], None] | None = None,
) -> MigrateReport:
    """Copy the source's current collection (same name, same CollectionInfo) into the target,
    verify it, then make it the target's current collection.

    Verified when the point counts are equal and, for `sample` points chosen by their ids, the
    dense top-10 for the point's own vector and the text top-10 for its title (or its human text)
    name the same clips on both sides, up to the order of equal scores. A failed verification
    raises LibraryError and leaves the target's current collection as it was."""
    start = time.perf_counter()
    say = progress or (lambda _: None)
    if source.uid != target.uid:
        raise ConfigError(f"{target.where}: belongs to library {target.uid}, not {source.uid}")
    name = source.current()
    info = source.info(name) if name else None
    if name is None or info is None:
        raise LibraryError(
            f"{source.where}: no collection to migrate; run `dancesearch embed` first"
        )
    total = source.count(name)
    report = MigrateReport(name, source.where, target.where, total)
    target.create(info)  # ConfigError when the target holds this name with other vectors
    have = target.hashes(name)
    ids = set(source.hashes(name, "clip_id"))
    chosen = _sample(ids, sample)
    kept: dict[str, Point] = {}

    def todo() -> Iterator[Point]:
        for p in source.points(name):
            if p.clip_id in chosen:
                kept[p.clip_id] = p
            if have.get(p.clip_id) != content_hash(p.payload, p.vector):
                yield p

    say(f"{name}: {total} points, {len(have)} already on {target.where}")
    for batch in _batches(todo(), batch_size):
        report.written += target.upsert(name, batch, batch_size)
        say(f"  written {report.written} points")
    stale = set(have) - ids
    if stale:
        target.delete(name, stale)
        report.removed = len(stale)
        say(f"  removed {len(stale)} points the source does not hold")

    report.verified = _verify(source, target, name, [kept[c] for c in sorted(kept)])
    say(f"  verified: {total} points, {report.verified} searches agree")
    target.settle(name)
    if target.current() != name:
        target.switch(name)
        report.switched = True
    others = [n for n in target.names() if n != name]
    if others:
        report.notes.append(f"older collections kept on the target: {', '.join(others)}")
    report.seconds = time.perf_counter() - start
    return report


def same_ranking(a: list[Hit], b: list[Hit], tol: float = SCORE_TOL) -> bool:
    """True when two result lists agree: the same scores rank by rank (within tol, relative),
    and the same clips in each run of equal scores; the last run may be cut off differently by
    the limit, so only its scores must agree."""
    if len(a) != len(b):
        return False
    if not all(_close(x.score, y.score, tol) for x, y in zip(a, b, strict=True)):
        return False
    runs: list[list[int]] = []  # positions of equal scores
    for i, hit in enumerate(a):
        if runs and _close(a[runs[-1][0]].score, hit.score, tol):
            runs[-1].append(i)
        else:
            runs.append([i])
    return all({a[i].clip_id for i in run} == {b[i].clip_id for i in run} for run in runs[:-1])


def _verify(source: Store, target: Store, name: str, sampled: list[Point]) -> int:
    """The number of sampled searches that agree; LibraryError at the first that does not,
    or when the counts differ."""
    n_source, n_target = source.count(name), target.count(name)
    if n_source != n_target:
        raise LibraryError(
            f"{target.where}: {name} holds {n_target} points, the source {n_source}; "
            "not switched (run the migration again)"
        )
    agreed = 0
    for p in sampled:
        text = str(p.payload.get("title") or p.payload.get("human_text") or "")
        pairs = [
            ("dense", source.search(name, p.vector, TOP_K), target.search(name, p.vector, TOP_K))
        ]
        if text:
            pairs.append((f"text {text!r}", source.search_text(name, text, TOP_K),
                          target.search_text(name, text, TOP_K)))  # fmt: skip
        for what, want, got in pairs:
            if not same_ranking(want, got):
                raise LibraryError(
                    f"{target.where}: {name} does not search like the source ({what} search "
                    f"for {p.clip_id}: {_ids(got)} instead of {_ids(want)}); not switched"
                )
            agreed += 1
    return agreed


def _sample(clip_ids: Iterable[str], n: int) -> set[str]:
    """n clip ids chosen by a hash of the id: the same sample on every run, spread over the
    collection rather than its first clips."""
    return set(sorted(clip_ids, key=lambda c: hashlib.sha1(c.encode()).hexdigest())[:n])


def _batches(points: Iterable[Point], size: int) -> Iterator[list[Point]]:
    batch: list[Point] = []
    for p in points:
        batch.append(p)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _close(x: float, y: float, tol: float) -> bool:
    return abs(x - y) <= tol * max(1.0, abs(x), abs(y))


def _ids(hits: list[Hit]) -> list[str]:
    return [h.clip_id for h in hits]
