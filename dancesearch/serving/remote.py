"""Searching through a running `dancesearch serve`: Qdrant Edge opens a collection in one
process, so while the server holds it, `query` and `similar` ask the server (found through
<library>/serve.json) and print the same results. Standard library HTTP only: no new imports
on the query path."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import fields
from pathlib import Path
from typing import Any

from dancesearch.errors import CollectionHeld, ConfigError, ServerUnreachable
from dancesearch.search.query import Confidence, Result, Results, Searcher, check_filter
from dancesearch.serving.handoff import holder
from dancesearch.storage.filters import SearchFilter

TIMEOUT_S = 30


def open_searcher(library: str | Path, qdrant: str | None = None) -> Any:
    """A Searcher over the library's collection or, when a running `dancesearch serve` holds
    it, a RemoteSearcher asking that server."""
    try:
        return Searcher.open(library, qdrant)
    except CollectionHeld as e:
        server = holder(library, qdrant, e)
        if server is None:
            raise
        return RemoteSearcher(server["url"])


class RemoteSearcher:
    """The Searcher interface (search, similar, check) over a running server's JSON API."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.facets: dict[str, Any] = self._get("/api/facets", {})

    def __enter__(self) -> RemoteSearcher:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def check(self, where: SearchFilter) -> SearchFilter:
        return check_filter(where, self.facets)

    def search(
        self,
        text: str,
        where: SearchFilter | None = None,
        mode: str = "hybrid",
        limit: int = 10,
        per_sequence: int | None = None,
    ) -> Results:
        params = {"q": text, "mode": mode, "limit": limit, **_params(where, per_sequence)}
        return results_of(self._get("/api/search", params))

    def similar(
        self,
        clip_id: str,
        where: SearchFilter | None = None,
        limit: int = 10,
        per_sequence: int | None = None,
    ) -> Results:
        path = "/api/similar/" + urllib.parse.quote(clip_id, safe="/@")
        return results_of(self._get(path, {"limit": limit, **_params(where, per_sequence)}))

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params, doseq=True)}"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            detail = json.loads(e.read() or b"{}").get("detail", e.reason)
            message = str(detail) if isinstance(detail, str) else json.dumps(detail)
            raise ConfigError(message) from None
        except (urllib.error.URLError, OSError) as e:
            raise ServerUnreachable(
                f"the collection is held by `dancesearch serve` at {self.url}, which does not "
                f"answer ({e}); stop it or wait"
            ) from None


def _params(where: SearchFilter | None, per_sequence: int | None) -> dict[str, Any]:
    w = where or SearchFilter()
    out: dict[str, Any] = {"genre": w.genres, "performer": w.performers, "source": w.sources,
                           "tag": w.tags, "not_tag": w.not_tags}  # fmt: skip
    if w.bpm_min is not None:
        out["bpm_min"] = w.bpm_min
    if w.bpm_max is not None:
        out["bpm_max"] = w.bpm_max
    if w.has_music is not None:
        out["music"] = str(w.has_music).lower()
    if per_sequence is not None:
        out["per_sequence"] = per_sequence
    return out


def results_of(data: dict[str, Any]) -> Results:
    """Results from their JSON form (Results.as_dict)."""
    names = {f.name for f in fields(SearchFilter)}
    given: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                             for k, v in data["filter"].items() if k in names}  # fmt: skip
    where = SearchFilter(**given)
    conf = data.get("confidence")
    return Results(
        data["query"], data["mode"], where,
        [Result(r["rank"], r["clip_id"], r["score"], r["payload"], tuple(r["matched"]))
         for r in data["results"]],
        data["candidates"],
        Confidence(conf["z"], conf["level"]) if conf else None,
        list(data.get("notes", [])),
    )  # fmt: skip
