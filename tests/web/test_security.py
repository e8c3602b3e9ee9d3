"""What `dancesearch serve` guards, asked of a real server (a `dancesearch serve` process on
loopback, spoken to over sockets): a 20 MB chunked body is refused with 413 before it is read
(the server's memory does not grow by it), a Host header naming another site gets 400 (DNS
rebinding), every answer carries the security headers, and the page's script comes
gzip-compressed while the music stays plain WAV."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import io
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
import soundfile as sf

from dancesearch.serving.handoff import HANDOFF
from tests.fixtures.searchable import serving

WALTZ = "m2d/DANCE_W_1@000000"
BODY_BYTES = 20 * 2**20
PIECE = b"a" * 2**16
DEPLOYED_AS = "dance.example.org"  # a name given with --allowed-host


@pytest.fixture(scope="module")
def library(searchable: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("security") / "lib"
    shutil.copytree(searchable, copy)
    return copy


@pytest.fixture(scope="module")
def server(library: Path) -> Iterator[str]:
    with serving(library, options=("--allowed-host", DEPLOYED_AS)) as url:
        yield url


def connect(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)


def ask(url: str, path: str, method: str = "GET", host: str | None = None,
        body: bytes | None = None, **headers: str) -> http.client.HTTPResponse:  # fmt: skip
    """One request; host replaces the Host header the URL would give."""
    conn = connect(url)
    conn.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
    if host is not None:
        conn.putheader("Host", host)
    for name, value in headers.items():
        conn.putheader(name.replace("_", "-"), value)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    response.read()
    return response


def body_of(url: str, path: str, **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn = connect(url)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name.replace("_", "-"), value)
    conn.endheaders()
    response = conn.getresponse()
    return response, response.read()


@contextlib.contextmanager
def peak_growth(library: Path) -> Iterator[list[int]]:
    """How far the server's resident memory rose above where it was, sampled every few
    milliseconds while the block runs (what a request held, even if it freed it at once);
    the bytes are in the yielded list when the block ends."""
    server = psutil.Process(json.loads((library / HANDOFF).read_text())["pid"])
    before = server.memory_info().rss
    grown = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            grown[0] = max(grown[0], server.memory_info().rss - before)
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield grown
    finally:
        time.sleep(0.2)  # the server's last moments with the request
        done.set()
        watcher.join()


def chunked_rating(total_bytes: int) -> Iterator[bytes]:
    """A rating whose trial id is total_bytes long, sent piece by piece."""
    yield b'{"trial_id": "'
    for _ in range(total_bytes // len(PIECE)):
        yield PIECE
    yield b'", "rater": "ann", "left": {"motion": 3}, "right": {"motion": 3}}'


def post_chunked(url: str, path: str, pieces: Iterator[bytes]) -> tuple[int, bytes]:
    """POST with Transfer-Encoding: chunked (no Content-Length); the server may close the
    connection before the client has sent everything, and its answer is read all the same."""
    conn = connect(url)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer wrong"}
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused mid-body
        conn.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
    response = conn.getresponse()
    return response.status, response.read()


@pytest.mark.parametrize("path", ["/api/study/rate", "/api/jobs/embed"])
def test_a_chunked_body_over_the_limit_is_refused_before_it_is_read(server, library, path):
    post_chunked(server, path, iter([b'{"split": "val"}']))  # the route warmed up once
    with peak_growth(library) as grown:
        status, answer = post_chunked(server, path, chunked_rating(BODY_BYTES))
    assert status == 413, answer
    assert "too large" in json.loads(answer)["detail"]
    assert grown[0] < BODY_BYTES / 4, f"the server grew by {grown[0] / 2**20:.0f} MB"


def test_a_small_chunked_body_is_read_whole(server):
    trial = json.loads(body_of(server, "/api/study/next?rater=ann")[1])
    rating = {"trial_id": trial["trial_id"], "rater": "ann",
              "left": {"motion": 4}, "right": {"motion": 2}}  # fmt: skip
    text = json.dumps(rating).encode()
    status, answer = post_chunked(server, "/api/study/rate", iter([text[:10], text[10:]]))
    assert (status, json.loads(answer)) == (200, {"ok": True})


def test_a_request_naming_another_host_gets_400(server):
    port = urlsplit(server).port
    assert ask(server, "/api/facets", host="rebound.attacker.example").status == 400
    assert ask(server, "/api/facets", host=f"rebound.attacker.example:{port}").status == 400
    assert ask(server, "/", host="").status == 400
    refused = ask(server, "/api/study/rate", "POST", host="rebound.attacker.example",
                  body=b"{}", Content_Type="application/json")  # fmt: skip
    assert refused.status == 400
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST",
                 DEPLOYED_AS, f"{DEPLOYED_AS}:{port}"):  # fmt: skip
        assert ask(server, "/api/facets", host=host).status == 200, host


def test_every_answer_carries_the_security_headers(server):
    answers = [
        ask(server, "/"),
        ask(server, "/docs"),
        ask(server, "/static/app.js"),
        ask(server, "/api/facets"),
        ask(server, "/api/clips/no-such-clip"),
        ask(server, "/api/search?q=a+waltz&limit=0"),
        ask(server, "/api/facets", host="rebound.attacker.example"),
        ask(server, "/api/study/rate", "POST", body=b"x" * 20_000),
    ]
    assert [a.status for a in answers] == [200, 200, 200, 200, 404, 422, 400, 413]
    for answer in answers:
        policy = answer.getheader("Content-Security-Policy", "")
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
        assert answer.getheader("X-Content-Type-Options") == "nosniff"
        assert answer.getheader("X-Frame-Options") == "DENY"
        assert answer.getheader("Referrer-Policy") == "no-referrer"


def test_the_page_script_comes_compressed_and_the_music_plain(server):
    plain_response, plain = body_of(server, "/static/app.js")
    packed_response, packed = body_of(server, "/static/app.js", Accept_Encoding="gzip")
    assert plain_response.getheader("Content-Encoding") is None
    assert packed_response.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(packed) == plain
    assert len(packed) < len(plain) / 3, (len(packed), len(plain))
    motion_response, motion = body_of(server, f"/api/clips/{WALTZ}/motion", Accept_Encoding="gzip")
    assert motion_response.getheader("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(motion))["n_frames"] == 360
    # WAV hardly compresses and players seek in it: it goes as it is
    audio_response, audio = body_of(server, f"/api/clips/{WALTZ}/audio", Accept_Encoding="gzip")
    assert audio_response.getheader("Content-Encoding") is None
    assert audio_response.getheader("Content-Type") == "audio/wav"
    data, rate = sf.read(io.BytesIO(audio))
    assert rate > 0 and len(data) / rate > 10
