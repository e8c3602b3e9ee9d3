"""The web API (FastAPI's test client over the real app and library): it answers as `query`
does, serves a clip's motion and music, records study ratings, and refuses bad input --
out-of-range parameters, unknown ids, path traversal, oversized bodies."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from dancesearch.storage.library import Library
from dancesearch.web.app import create_app
from dancesearch.web.study import FILE, Study
from tests.fixtures.searchable import run

WALTZ = "m2d/DANCE_W_1@000000"
SILENT = "bandai/dataset-1_run_childish_001@000000"


@pytest.fixture(scope="module")
def client(searchable: Path):
    with TestClient(create_app(searchable), base_url="http://127.0.0.1") as c:
        yield c


def test_search_answers_as_the_query_command_does(client, searchable):
    params = {"q": "a run in a childish style", "mode": "dense", "limit": 5}
    got = client.get("/api/search", params=params).json()
    assert [r["clip_id"] for r in got["results"]] and got["mode"] == "dense"
    # the command line and the API share one implementation: same clips, same scores
    client.__exit__(None, None, None)  # free the collection for the command
    try:
        out = run("query", params["q"], "--mode", "dense", "--limit", 5, "--library", searchable,
                  "--json")  # fmt: skip
        want = json.loads(out.stdout)
    finally:
        client.__enter__()
    assert [(r["clip_id"], round(r["score"], 5)) for r in got["results"]] == [
        (r["clip_id"], round(r["score"], 5)) for r in want["results"]
    ]


def test_filters_facets_and_similar(client):
    facets = client.get("/api/facets").json()
    assert "waltz" in facets["genre"] and facets["bpm"][0] <= facets["bpm"][1]
    got = client.get("/api/search", params={"q": "dance", "genre": "waltz", "limit": 20}).json()
    assert got["results"] and all(r["payload"]["genre"] == "waltz" for r in got["results"])
    bad = client.get("/api/search", params={"q": "dance", "genre": "tango"})
    assert bad.status_code == 400 and "valid: " in bad.json()["detail"]
    like = client.get(f"/api/similar/{WALTZ}", params={"limit": 3}).json()
    assert len(like["results"]) == 3 and WALTZ not in [r["clip_id"] for r in like["results"]]


def test_a_clip_plays_its_own_motion_and_music(client, searchable):
    info = client.get(f"/api/clips/{WALTZ}").json()
    assert info["audio_url"] and info["credit"] and info["n_frames"] == 360
    motion = client.get(info["motion_url"]).json()
    lib = Library(searchable)
    clip = lib.clip(WALTZ)
    joints = lib.load_motion(clip["seq_id"])[clip["start_frame"] : clip["start_frame"] + 360]
    positions = np.array(motion["positions"]).reshape(motion["n_frames"], 22, 3)
    np.testing.assert_allclose(positions, joints, atol=6e-4)
    assert motion["parents"][0] == -1 and len(motion["joints"]) == 22
    audio = client.get(info["audio_url"])
    assert audio.headers["content-type"] == "audio/wav"
    data, rate = sf.read(io.BytesIO(audio.content))
    assert abs(len(data) / rate - info["duration_s"]) < 0.05 and np.abs(data).max() > 0.01
    silent = client.get(f"/api/clips/{SILENT}").json()
    assert silent["audio_url"] is None
    assert client.get(f"/api/clips/{SILENT}/audio").status_code == 404


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/search", {"q": ""}),
        ("/api/search", {"q": "x" * 2001}),
        ("/api/search", {"q": "waltz", "limit": 0}),
        ("/api/search", {"q": "waltz", "limit": 101}),
        ("/api/search", {"q": "waltz", "mode": "psychic"}),
        ("/api/search", {"q": "waltz", "bpm_min": -5}),
        ("/api/search", {"q": "waltz", "bpm_min": 120, "bpm_max": 80}),
        ("/api/search", {"q": "waltz", "per_sequence": 0}),
        ("/api/study/next", {"rater": ""}),
    ],
)
def test_out_of_range_parameters_are_refused(client, path, params):
    assert client.get(path, params=params).status_code in (400, 422)


@pytest.mark.parametrize(
    "path",
    [
        "/api/clips/..%2F..%2Fpyproject.toml/motion",
        "/api/clips/%2Fetc%2Fpasswd/audio",
        "/api/clips/../../etc/passwd",
        "/static/..%2F..%2F..%2Fpyproject.toml",
        "/static/%2Fetc%2Fpasswd",
        "/api/similar/..%2Fclips.parquet",
    ],
)
def test_media_are_served_only_for_catalogue_clips(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"[project]" not in response.content and b"root:" not in response.content


def test_study_trials_are_blind_and_ratings_are_stored_and_reported(client, searchable):
    trial = client.get("/api/study/next", params={"rater": "ann"}).json()
    assert trial["left"]["clip_id"] != trial["right"]["clip_id"] and trial["query"]
    assert "arm" not in json.dumps(trial)  # which ranking gave which clip stays hidden
    body = {"trial_id": trial["trial_id"], "rater": "ann",
            "left": {"motion": 4, "music": None}, "right": {"motion": 2, "music": 3}}  # fmt: skip
    assert client.post("/api/study/rate", json=body).json() == {"ok": True}
    for broken in (
        {**body, "left": {"motion": 6}},
        {**body, "right": {"motion": 0}},
        {**body, "trial_id": "nope"},
        {"rater": "ann"},
    ):
        assert client.post("/api/study/rate", json=broken).status_code in (400, 422)
    too_big = client.post("/api/study/rate", content=b"x" * 20000,
                          headers={"content-type": "application/json"})  # fmt: skip
    assert too_big.status_code == 413
    report = Study(searchable / FILE, ("hybrid", "dense")).report()
    assert "| motion | hybrid | " in report or "| motion | dense | " in report
    assert "(paired) | 1 |" in report


def test_binding_beyond_loopback_warns(searchable):
    from dancesearch.cli.web import _loopback

    assert _loopback("127.0.0.1") and _loopback("::1") and not _loopback("0.0.0.0")


def test_the_page_and_the_api_docs_load_nothing_from_other_hosts(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/docs/swagger-ui-bundle.js" in docs.text
    for text in (page.text, docs.text):
        assert "http://" not in text.replace("http://www.w3.org", "")
        assert "https://" not in text
    assert client.get("/static/docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/openapi.json").json()["paths"]["/api/search"]
