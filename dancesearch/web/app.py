"""The HTTP API and the page of `dancesearch serve`: the same Searcher as `dancesearch query`
(no second search implementation), clip metadata, motion and music, ratings for the user study,
and the built page from static/. Every parameter is validated; media are found through the
catalogue by clip id; request bodies are bounded, Host headers checked and security headers
sent (security.py); static files and JSON go gzip-compressed when asked; no CORS.

While it runs it holds the library's Qdrant Edge collection and writes <library>/serve.json,
through which `dancesearch query` in another terminal reaches it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from dancesearch.errors import DancesearchError, LibraryError
from dancesearch.search.query import MAX_QUERY_CHARS, MODES, Searcher
from dancesearch.serving.handoff import write_handoff
from dancesearch.serving.jobs import JOBS, do_job
from dancesearch.storage.filters import SearchFilter
from dancesearch.web import media
from dancesearch.web.security import BoundedBody, SecurityHeaders, TrustedHosts, allowed_hosts
from dancesearch.web.study import FILE as STUDY_FILE
from dancesearch.web.study import AlreadyRated, NotYourTrial, Study, StudyFull

STATIC = Path(__file__).parent / "static"
GZIP_MIN_BYTES = 1024  # smaller answers go as they are
PAGE_LIMIT = 100  # results per request from the page's API
FOLLOW_S = 5.0  # how often searches check whether another process switched the collection
Text = Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)]
Values = Annotated[list[str], Query(max_length=50)]


class JobParams(BaseModel):
    checkpoint: str | None = Field(default=None, max_length=1000)
    split: str | None = Field(default=None, pattern="^(train|val|test)$")


class Rating(BaseModel):
    motion: int = Field(ge=1, le=5)
    music: int | None = Field(default=None, ge=1, le=5)


class Rated(BaseModel):
    trial_id: str = Field(min_length=1, max_length=64)
    rater: str = Field(min_length=1, max_length=64)
    left: Rating
    right: Rating


def create_app(
    library: str | Path,
    qdrant: str | None = None,
    url: str | None = None,
    study_arms: tuple[str, str] = ("hybrid", "dense"),
    hosts: Iterable[str] = (),
) -> FastAPI:
    """The app over one library; url: where it listens, written to <library>/serve.json for
    other processes (None writes nothing). It answers requests whose Host is loopback, url's
    host or one of `hosts` (the names a deployment is reached by; "*": any)."""
    root = Path(library)
    state: dict[str, Any] = {}

    token = secrets.token_urlsafe(32)  # for jobs handed over by other processes
    jobs_lock = threading.Lock()  # one collection job at a time

    def show(name: str) -> None:
        """Move searches to collection `name` (after an embed here or in another process)."""
        old: Searcher = state["searcher"]
        info = old.store.info(name)
        if info is None:
            return
        new = old.switched(info)
        state["clips"] = catalogue(new)
        state["searcher"] = new
        state["checked_s"] = time.monotonic()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        searcher = Searcher.open(root, qdrant)
        state["searcher"] = searcher
        state["clips"] = catalogue(searcher)
        state["checked_s"] = time.monotonic()
        state["study"] = Study(root / STUDY_FILE, study_arms)
        handoff = write_handoff(root, url, token) if url else None
        try:
            yield
        finally:
            if handoff is not None:
                handoff.unlink(missing_ok=True)
            searcher.close()

    app = FastAPI(
        title="dancesearch",
        summary="Text-to-dance search: dance clips, music and 3D motion, ranked.",
        lifespan=lifespan,
        docs_url=None,  # served below from the package, not from a CDN
        redoc_url=None,
    )

    # the last added runs first: headers on every answer, then the Host, then the body size
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)  # not audio (starlette>=1.5)
    app.add_middleware(BoundedBody)
    app.add_middleware(TrustedHosts, hosts=allowed_hosts(urlsplit(url or "").hostname, hosts))
    app.add_middleware(SecurityHeaders)

    def searcher() -> Searcher:
        """The Searcher over the current collection: another process (a deployment writing to
        a Qdrant server) may have switched it, which is checked every FOLLOW_S seconds."""
        current: Searcher = state["searcher"]
        if time.monotonic() - state["checked_s"] > FOLLOW_S and not jobs_lock.locked():
            state["checked_s"] = time.monotonic()
            try:
                name = current.store.current()
            except DancesearchError:
                name = None
            if name and name != current.info.name:
                with jobs_lock:
                    show(name)
        return state["searcher"]

    def clip(clip_id: str) -> dict[str, Any]:
        record = state["clips"].get(clip_id)
        if record is None:
            raise HTTPException(404, f"no clip {clip_id!r} in this library")
        return record

    def answer(run: Callable[[], Any]) -> JSONResponse:
        try:
            results = run().as_dict()
        except DancesearchError as e:
            raise HTTPException(400, str(e)) from None
        return JSONResponse(results)  # plain JSON already: skip FastAPI's re-encoding

    @app.get("/api/search")
    def search(
        q: Text,
        mode: Annotated[str, Query(pattern="^(" + "|".join(MODES) + ")$")] = "hybrid",
        genre: Values = [],  # noqa: B006  (FastAPI copies defaults)
        performer: Values = [],  # noqa: B006
        source: Values = [],  # noqa: B006
        tag: Values = [],  # noqa: B006
        not_tag: Values = [],  # noqa: B006
        bpm_min: Annotated[float | None, Query(ge=0, le=400)] = None,
        bpm_max: Annotated[float | None, Query(ge=0, le=400)] = None,
        music: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT)] = 10,
        per_sequence: Annotated[int | None, Query(ge=1, le=50)] = None,
    ) -> Any:
        """Ranked clips for a description: the options and filters of `dancesearch query`."""
        where = SearchFilter(tuple(genre), tuple(performer), tuple(source), bpm_min, bpm_max,
                             tuple(tag), music, not_tags=tuple(not_tag))  # fmt: skip
        return answer(lambda: searcher().search(q, where, mode, limit, per_sequence))

    @app.get("/api/similar/{clip_id:path}")
    def similar(
        clip_id: str,
        genre: Values = [],  # noqa: B006
        performer: Values = [],  # noqa: B006
        source: Values = [],  # noqa: B006
        tag: Values = [],  # noqa: B006
        not_tag: Values = [],  # noqa: B006
        bpm_min: Annotated[float | None, Query(ge=0, le=400)] = None,
        bpm_max: Annotated[float | None, Query(ge=0, le=400)] = None,
        music: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT)] = 10,
        per_sequence: Annotated[int | None, Query(ge=1, le=50)] = None,
    ) -> Any:
        """Dances like a dance (nearest dance vectors, itself left out), with the filters of
        /api/search."""
        clip(clip_id)
        where = SearchFilter(tuple(genre), tuple(performer), tuple(source), bpm_min, bpm_max,
                             tuple(tag), music, not_tags=tuple(not_tag))  # fmt: skip
        return answer(lambda: searcher().similar(clip_id, where, limit, per_sequence))

    @app.get("/api/facets")
    def facets() -> Any:
        """The filter values the library holds."""
        return searcher().info.facets

    @app.get("/api/clips/{clip_id:path}/motion")
    def clip_motion(clip_id: str) -> Any:
        """The clip's joints: 22 names, parents, positions (T * 22 * 3, metres, Y up)."""
        try:
            return media.motion(searcher().library, clip(clip_id))
        except LibraryError as e:
            raise HTTPException(404, str(e)) from None

    @app.get("/api/clips/{clip_id:path}/audio")
    def clip_audio(clip_id: str) -> Response:
        """The clip's music segment as WAV; 404 for a silent clip."""
        try:
            wav = media.audio_wav(clip(clip_id))
        except LibraryError as e:
            raise HTTPException(404, str(e)) from None
        return Response(wav, media_type="audio/wav", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/clips/{clip_id:path}")
    def clip_info(clip_id: str) -> Any:
        """A clip's payload with its frame rate, length and media links."""
        record = clip(clip_id)
        return {
            **record["payload"],
            "fps": media.FPS,
            "n_frames": record["n_frames"],
            "motion_url": f"/api/clips/{clip_id}/motion",
            "audio_url": f"/api/clips/{clip_id}/audio" if record["has_music"] else None,
        }

    @app.get("/api/study/next")
    def study_next(rater: Annotated[str, Query(min_length=1, max_length=64)]) -> Any:
        """A blind trial: a held-out caption and two clips, A and B. A rater with unrated
        trials enough gets one of them again."""
        s = searcher()

        def top1(mode: str, text: str) -> str | None:
            hits = s.search(text, mode=mode, limit=1).results
            return hits[0].clip_id if hits else None

        try:
            trial = state["study"].new_trial(rater, study_captions(state["clips"]), top1)
        except StudyFull as e:
            raise HTTPException(429, str(e)) from None
        except DancesearchError as e:
            raise HTTPException(400, str(e)) from None
        return {"trial_id": trial.trial_id, "query": trial.query,
                "left": {"clip_id": trial.left}, "right": {"clip_id": trial.right}}  # fmt: skip

    @app.post("/api/study/rate")
    def study_rate(body: Rated) -> Any:
        """Store a rater's 1-5 ratings of both clips of a trial issued to them; the same
        rating again changes nothing."""
        try:
            state["study"].rate(body.trial_id, body.rater, (body.left.motion, body.left.music),
                                (body.right.motion, body.right.music))  # fmt: skip
        except NotYourTrial as e:
            raise HTTPException(403, str(e)) from None
        except AlreadyRated as e:
            raise HTTPException(409, str(e)) from None
        except DancesearchError as e:
            raise HTTPException(400, str(e)) from None
        return {"ok": True}

    @app.post("/api/jobs/{job}", include_in_schema=False)
    def collection_job(job: str, body: JobParams, request: Request) -> Any:
        """A collection job from another process of this library (see dancesearch.serving.jobs),
        run on the collection this server holds. Needs the token in <library>/serve.json."""
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(403, "a job needs the token of <library>/serve.json")
        if job not in JOBS:
            raise HTTPException(404, f"no job {job!r}; expected one of {', '.join(JOBS)}")
        params = body.model_dump(exclude_none=True)
        if "checkpoint" in params and not Path(params["checkpoint"]).resolve().is_relative_to(
            root.resolve()
        ):
            raise HTTPException(400, "checkpoint: must be a folder inside the library")
        with jobs_lock:
            s = state["searcher"]
            try:
                return do_job(s.library, s.store, job, params, on_switch=show)
            except DancesearchError as e:
                raise HTTPException(400, str(e)) from None

    if (STATIC / "index.html").is_file():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

        @app.get("/", include_in_schema=False)
        def page() -> FileResponse:
            return FileResponse(STATIC / "index.html")

        @app.get("/docs", include_in_schema=False)
        def docs() -> FileResponse:
            return FileResponse(STATIC / "docs" / "index.html")  # Swagger UI, no inline script

    return app


def catalogue(searcher: Searcher) -> dict[str, dict[str, Any]]:
    """clip id -> its catalogue record and payload, for the clips the collection holds."""
    from dancesearch.catalogue import clip_records

    return clip_records(searcher.library, searcher.store.hashes(searcher.info.name))


def study_captions(clips: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(caption, clip id) of every caption of the held-out (test) clips."""
    test = [c for c in clips.values() if c["payload"].get("split") == "test"] or list(
        clips.values()
    )
    return [(text, c["clip_id"]) for c in test for text in c["payload"].get("captions") or []]
