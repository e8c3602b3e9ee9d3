"""The page of `dancesearch serve` in a real browser against the real server: search, a filter
that re-runs the query, a clip whose skeleton follows its music, two clips on one timeline,
"more like this", an API error shown on the page (and the results it no longer answers gone),
the API's own input limits, every clip's skeleton framed to fill its canvas, a rating in Rate
mode, and the API docs -- all under the server's Content-Security-Policy (no violation allowed).

Drives Debian's Chromium (never a downloaded one) headless through Playwright, with WebGL in
SwiftShader and sound allowed without a click. Screenshots of each step go to
test-output/screenshots/. Skips where /usr/bin/chromium is missing (`apt-get install chromium`).
"""

from __future__ import annotations

import collections
import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dancesearch.storage.library import Library
from tests.fixtures.searchable import serving

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
STARTUP_S = 120
WAIT_MS = 30_000  # software WebGL on two cores is slow: generous, but every wait is bounded
CARDS = "[...document.querySelectorAll('#results .card')]"  # in the page's scripts
SIDES = "[...document.querySelectorAll('#compare .side')]"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"no {CHROMIUM}: install Debian's chromium (apt-get install chromium) to run the "
    "browser tests",
)
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def server(searchable: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dancesearch serve` on a copy of the searchable library (Qdrant Edge lets one process
    open a collection, and the study database is written there); yields its base URL."""
    library = tmp_path_factory.mktemp("web") / "lib"
    shutil.copytree(searchable, library)
    with serving(library, wait_s=STARTUP_S) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",  # CI runs as root
                "--use-angle=swiftshader",  # WebGL without a GPU
                "--enable-unsafe-swiftshader",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh page; fails the test on any uncaught script error and on anything the server's
    Content-Security-Policy blocked (Chromium reports each on the console)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    blocked: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: "Content Security Policy" in m.text and blocked.append(m.text))
    yield page
    context.close()
    assert not errors, f"script errors on the page: {errors}"
    assert not blocked, f"blocked by the Content-Security-Policy: {blocked}"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def search(page: Any, text: str, url: str = "/") -> None:
    """Type a query and press Enter, as a person does; wait for the cards."""
    page.goto(url)
    page.fill("#q", text)
    page.press("#q", "Enter")
    page.wait_for_selector("#results .card")
    page.wait_for_function("() => !document.querySelector('#results').hasAttribute('aria-busy')")
    page.wait_for_function(
        "() => Number(document.querySelector('#results .card').dataset.frame) >= 0"
    )


def frame(locator: Any) -> int:
    return int(locator.get_attribute("data-frame"))


def test_search_shows_results_each_with_its_credit_line(page, server):
    search(page, "a waltz")
    cards = page.locator("#results .card")
    assert cards.count() > 0
    assert "q=a+waltz" in page.url  # shareable
    assert page.locator("#summary").inner_text().startswith(f"{cards.count()} of ")
    # one WebGL context for the page: each card draws into a plain 2D canvas
    assert page.eval_on_selector_all(
        "canvas.stage", "cs => cs.every(c => c.getContext('2d') !== null)"
    )
    answer = get_json(f"{server}/api/search?q=a+waltz&limit=12")
    payloads = {r["clip_id"]: r["payload"] for r in answer["results"]}
    for i in range(cards.count()):
        card = cards.nth(i)
        payload = payloads[card.get_attribute("data-clip-id")]
        credit = card.locator(".credit")
        assert credit.is_visible()
        assert payload["licence"] in credit.inner_text()
        assert payload["credit"] in credit.inner_text()
        assert not {"null", "undefined", "NaN"} & set(card.inner_text().split())
    shot(page, "01-search")


def test_words_typed_while_the_filters_load_are_kept(page):
    held: list[Any] = []
    # the filters arrive late, as on a cold server
    page.route("**/api/facets", lambda route: held.append(route))
    page.goto("/")
    page.fill("#q", "a waltz")
    page.wait_for_function("() => true")  # let the page run once more with the request held
    assert held, "the page should ask for its filters"
    held[0].continue_()
    page.wait_for_selector("#filters input[name=genre]")
    assert page.input_value("#q") == "a waltz"
    page.press("#q", "Enter")
    page.wait_for_selector("#results .card")


def test_a_filter_reruns_the_current_query_without_retyping(page):
    search(page, "a dance")
    genres = set(page.eval_on_selector_all("#results .card", "cs => cs.map(c => c.dataset.genre)"))
    assert genres != {"cha-cha"}, "the unfiltered results should not all be cha-cha already"
    page.check("#filters input[name=genre][value=cha-cha]")
    page.wait_for_function(
        f"() => {CARDS}.length > 0 && {CARDS}.every(c => c.dataset.genre === 'cha-cha')"
    )
    assert "genre=cha-cha" in page.url and "q=a+dance" in page.url
    assert page.input_value("#q") == "a dance"
    shown = page.eval_on_selector_all(
        "#results .card .meta dd:first-of-type", "ds => ds.map(d => d.textContent)"
    )
    assert set(shown) == {"cha-cha"}  # what a person reads, not only the data attribute
    shot(page, "02-filter-genre")
    page.go_back()  # the URL is the state: back gives the unfiltered results again
    page.wait_for_function(f"() => {CARDS}.some(c => c.dataset.genre !== 'cha-cha')")


def test_a_clip_with_music_dances_to_it(page):
    search(page, "a waltz", url="/?music=true")
    card = page.locator("#results .card").first
    audio = card.locator("audio")
    assert audio.count() == 1
    assert card.locator(".music-note").inner_text() == "♪ with its music"
    card.locator("button.play").focus()
    page.keyboard.press("Space")  # keyboard works as well as a click
    page.wait_for_function("c => Number(c.dataset.frame) > 15", arg=card.element_handle())
    state = audio.evaluate("a => ({paused: a.paused, t: a.currentTime})")
    assert state["paused"] is False and state["t"] > 0.3
    # the skeleton follows the music's clock: frame = floor(t * 30), read in one go
    f, t = card.evaluate("c => [Number(c.dataset.frame), c.querySelector('audio').currentTime]")
    assert abs(f - t * 30) <= 8, (f, t)
    page.wait_for_timeout(500)
    assert audio.evaluate("a => a.currentTime") > t
    shot(page, "03-playing")
    card.locator("button.play").click()
    assert audio.evaluate("a => a.paused") is True
    page.wait_for_timeout(300)  # the last frame drawn
    f, t = card.evaluate("c => [Number(c.dataset.frame), c.querySelector('audio').currentTime]")
    assert abs(f - t * 30) <= 1, (f, t)  # paused where the music paused
    page.wait_for_timeout(400)
    assert frame(card) == f
    # near the end it loops, and the music starts again with the dance
    card.locator("button.play").click()
    end = float(card.locator("input.scrub").get_attribute("max"))
    card.locator("input.scrub").fill(f"{end - 0.3:.2f}")
    page.wait_for_function("c => Number(c.dataset.frame) > 30", arg=card.element_handle())
    page.wait_for_function("c => Number(c.dataset.frame) < 10", arg=card.element_handle())
    page.wait_for_function("c => Number(c.dataset.frame) > 10", arg=card.element_handle())
    t = audio.evaluate("a => a.currentTime")
    assert t < 2, t  # from the start again
    page.wait_for_timeout(400)
    assert audio.evaluate("a => !a.paused && a.currentTime") > t


def test_two_clips_compared_on_one_timeline(page):
    search(page, "a dance")
    cards = page.locator("#results .card")
    cards.nth(0).locator(".compare-box").check()
    cards.nth(1).locator(".compare-box").check()
    panel = page.locator("#compare")
    panel.wait_for(state="visible")
    sides = panel.locator(".side")
    assert sides.count() == 2
    assert [sides.nth(i).get_attribute("data-clip-id") for i in range(2)] == [
        cards.nth(i).get_attribute("data-clip-id") for i in range(2)
    ]
    assert panel.locator(".credit").count() == 2
    assert panel.locator("button.play").count() == 1  # one play/pause, one scrubber
    assert panel.locator("input.scrub").count() == 1
    page.wait_for_function(f"() => {SIDES}.every(s => s.dataset.frame === '0')")
    panel.locator("button.play").click()
    page.wait_for_function(f"() => {SIDES}.every(s => Number(s.dataset.frame) > 15)")
    a, b = panel.evaluate("p => [...p.querySelectorAll('.side')].map(s => Number(s.dataset.frame))")
    assert abs(a - b) <= 1, (a, b)  # one clock (clips are at least a second long)
    shot(page, "04-compare")
    panel.locator("button.play").click()
    panel.locator("input.scrub").fill("0.5")  # the one scrubber moves both
    page.wait_for_function(f"() => {SIDES}.every(s => s.dataset.frame === '15')")


def test_more_like_this(page, server):
    search(page, "a waltz")
    first = page.locator("#results .card").first
    reference = first.get_attribute("data-clip-id")
    first.locator("button.more").click()
    page.wait_for_selector("#summary .like")
    page.wait_for_function(
        "ref => { const cs = [...document.querySelectorAll('#results .card')];"
        " return cs.length > 0 && cs.every(c => c.dataset.clipId !== ref); }",
        arg=reference,
    )
    assert "like=" in page.url
    page.wait_for_function(
        "() => Number(document.querySelector('#results .card').dataset.frame) >= 0"
    )
    assert reference in page.locator("#summary .like").inner_text()
    expected = get_json(f"{server}/api/similar/{reference}?limit=12&per_sequence=2")["results"]
    shown = page.eval_on_selector_all("#results .card", "cs => cs.map(c => c.dataset.clipId)")
    assert shown == [r["clip_id"] for r in expected]
    # other dances, not the next seconds of one recording (which the plain ranking would give)
    recordings = collections.Counter(clip_id.split("@")[0] for clip_id in shown)
    assert max(recordings.values()) <= 2, recordings
    plain = get_json(f"{server}/api/similar/{reference}?limit=12")["results"]
    assert max(collections.Counter(r["clip_id"].split("@")[0] for r in plain).values()) > 2
    shot(page, "05-more-like-this")


def test_an_api_error_is_shown_on_the_page(page):
    page.goto("/?q=a+waltz&genre=hip-hop")
    message = page.locator("#message")
    message.wait_for(state="visible")
    text = message.inner_text()
    assert "hip-hop" in text and "waltz" in text  # the server's sentence lists the valid ones
    shot(page, "06-error")


def test_an_error_clears_the_results_it_no_longer_answers(page):
    search(page, "a waltz")
    page.fill("#f-bpm-min", "1")
    page.press("#f-bpm-min", "Tab")  # a change runs the search again: every waltz passes
    page.wait_for_function(f"() => {CARDS}.length > 0 && !{CARDS}[0].closest('[aria-busy]')")
    assert "bpm_min=1" in page.url
    page.fill("#f-bpm-max", "0")  # below the lowest: the server refuses the range
    page.press("#f-bpm-max", "Tab")
    message = page.locator("#message")
    message.wait_for(state="visible")
    assert "bpm" in message.inner_text().lower()
    page.wait_for_function(f"() => {CARDS}.length === 0")
    assert "could not be run" in page.locator("#summary").inner_text()
    shot(page, "06b-error-clears")


def test_the_page_takes_what_the_api_takes(page):
    page.goto("/?view=rate")
    name = "n" * 70
    page.fill("#rater", name)
    assert page.input_value("#rater") == name[:64]  # the API takes names up to 64 characters
    with page.expect_response(lambda r: "/api/study/next" in r.url) as answer:
        page.press("#rater", "Enter")
    assert answer.value.status == 200
    page.locator("#trial form.trial").wait_for()
    # a search reads 2000 characters: the box takes more, says so, and cuts when it searches
    # (by words: the model's ranking has a shorter limit in tokens, which its error names)
    page.goto("/?mode=text")
    words = "a slow waltz with wide turns " * 80  # 2320 characters
    page.fill("#q", words)
    note = page.locator("#q-note")
    assert note.is_visible() and "2000" in note.inner_text()
    with page.expect_response(lambda r: "/api/search" in r.url) as answer:
        page.press("#q", "Enter")
    assert answer.value.status == 200
    assert len(answer.value.json()["query"]) == 2000
    assert page.input_value("#q") == words[:2000].strip()
    assert "cut" in note.inner_text() and note.is_visible()
    page.wait_for_selector("#results .card")


def test_every_skeleton_fills_its_frame(page, searchable):
    """Each clip of the library, at its first and last frame: the pose (its joints as the camera
    projects them, which the player writes on the canvas) is inside the canvas, away from its
    edges, and at least a third of its height or width -- a walk across the room included."""
    n_clips = len(Library(searchable).clips())
    page.goto(f"/?q=a+dance&mode=dense&limit={n_clips}")
    cards = page.locator("#results .card")
    cards.first.wait_for()
    assert cards.count() == n_clips
    small = []
    for i in range(n_clips):
        card = cards.nth(i)
        card.scroll_into_view_if_needed()
        stage = card.locator("canvas.stage")
        for when in ("first", "last"):
            if when == "last":
                stage.evaluate("s => delete s.dataset.box")
                card.locator("input.scrub").fill(card.locator("input.scrub").get_attribute("max"))
            page.wait_for_function("s => s.dataset.box", arg=stage.element_handle())
            left, top, right, bottom = map(float, stage.get_attribute("data-box").split())
            inside = min(left, top) >= -0.01 and max(right, bottom) <= 1.01
            centred = 0.15 <= (left + right) / 2 <= 0.85 and 0.15 <= (top + bottom) / 2 <= 0.85
            large = max(right - left, bottom - top) >= 1 / 3
            if not (inside and centred and large):
                small.append((card.get_attribute("data-clip-id"), when, left, top, right, bottom))
    shot(page, "09-framing")
    assert not small, f"skeletons drawn small or off-centre: {small}"


def test_the_api_docs_page_runs(page):
    page.goto("/docs")
    page.wait_for_selector(".opblock")  # Swagger UI drew the operations from /openapi.json
    assert page.locator(".opblock-summary-path", has_text="/api/search").count() == 1
    shot(page, "10-docs")


def test_rate_a_pair_in_study_mode(page, server):
    page.goto("/")
    page.get_by_role("link", name="Rate").click()
    assert "view=rate" in page.url
    page.fill("#rater", "browser-test")
    page.press("#rater", "Enter")
    trial = page.locator("#trial form.trial")
    trial.wait_for()
    sides = trial.locator(".side")
    assert sides.count() == 2
    assert trial.locator(".credit").count() == 2
    assert not {"null", "undefined", "NaN"} & set(trial.inner_text().split())
    for side in ("a", "b"):
        trial.locator(f"label[for={side}-motion-4]").click()
        music = trial.locator(f"input[name={side}-music]").first
        if music.is_enabled():
            trial.locator(f"label[for={side}-music-3]").click()
    shot(page, "07-rate")
    with page.expect_response(lambda r: r.url.endswith("/api/study/rate")) as answer:
        trial.get_by_role("button", name="Submit ratings").click()
    assert answer.value.status == 200 and answer.value.json() == {"ok": True}
    page.wait_for_selector("text=Saved. Thank you!")
    shot(page, "08-rated")
    rated = trial.get_attribute("data-trial-id")
    page.get_by_role("button", name="Next pair").click()
    page.wait_for_function(
        "id => { const f = document.querySelector('#trial form.trial');"
        " return f && f.dataset.trialId !== id; }",
        arg=rated,
    )
