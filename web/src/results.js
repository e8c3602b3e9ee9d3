// The results grid: one card per clip with its skeleton and music, the score as a bar, why it
// matched, its metadata and credit line, "more like this" and a compare box.

import * as api from "./api.js";
import { add, captions, creditLine, el, hasMusic, metadata, span, tagChips, title } from "./dom.js";
import { Player } from "./player.js";
import { Playback, controls } from "./timeline.js";

const SHOW_TAGS = 5; // shared tags named under "why it matched"; all are highlighted below

const words = (text) => (text.toLowerCase().match(/[a-z0-9]+/g) || []).filter((w) => w.length > 2);

/** Loose agreement of a query word and a tag word: "jumping" ~ "jump", "turns" ~ "turn". */
function near(a, b) {
  if (a === b) return true;
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  return short.length >= 4 && long.startsWith(short.slice(0, Math.max(4, short.length - 1)));
}

/**
 * The tags of a clip that its query asked for: named in the query text, required by a filter,
 * or (for "more like this") held by the reference clip too.
 */
export function sharedTags(payload, query) {
  const asked = words(query.text || "");
  const shared = new Set();
  for (const tag of payload.tags || []) {
    const value = tag.split(".").pop();
    if (query.tags.includes(tag) || (query.reference && query.reference.includes(tag))) {
      shared.add(tag);
    } else if (value.split("-").some((v) => asked.some((w) => near(w, v)))) {
      shared.add(tag);
    }
  }
  return shared;
}

function why(result, shared) {
  const parts = [];
  if (result.matched && result.matched.length) {
    parts.push(el("span", {}, "words: "), el("strong", {}, result.matched.join(", ")));
  }
  if (shared.size) {
    if (parts.length) parts.push("; ");
    const tags = [...shared];
    const more = tags.length > SHOW_TAGS ? ` and ${tags.length - SHOW_TAGS} more` : "";
    parts.push(el("span", {}, "tags: "), el("strong", {}, tags.slice(0, SHOW_TAGS).join(", ")), more);
  }
  if (!parts.length) parts.push("by the model's sense of the words (no word or tag in common)");
  return el("p", { class: "why" }, el("span", { class: "why-label" }, "Why it matched: "), ...parts);
}

function scoreBar(score, best, mode) {
  const pct = best > 0 ? Math.max(2, Math.round((100 * Math.max(score, 0)) / best)) : 0;
  const fill = el("span");
  fill.style.width = `${pct}%`; // through the CSSOM: the page's CSP allows no style attributes
  return el(
    "div",
    { class: "score", title: `${mode} score ${score.toFixed(3)}` },
    el(
      "div",
      {
        class: "bar",
        role: "meter",
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": String(pct),
        "aria-label": `Score ${score.toFixed(3)}, ${pct} % of the best`,
      },
      fill,
    ),
    el("span", { class: "score-value" }, score.toFixed(3)),
  );
}

export function audioFor(payload) {
  if (!hasMusic(payload)) return null;
  const audio = el("audio", { preload: "none", src: api.audioUrl(payload.clip_id) });
  audio.className = "music";
  return audio;
}

/** A card for one result. Returns { element, player, dispose }. */
function card(result, best, mode, query, handlers) {
  const p = result.payload;
  const label = `result ${result.rank}, ${title(p)}`;
  const audio = audioFor(p);
  const playback = new Playback(p.duration_s, audio);
  const player = new Player({ clipId: p.clip_id, playback, label, loadMotion: api.motion });
  const ui = controls(playback, label);
  const node = el("li", {
    class: "card",
    "data-clip-id": p.clip_id,
    "data-genre": p.genre || "",
    "data-frame": "-1", // the frame shown, for tests and scripts
    "data-rank": String(result.rank),
  });
  player.onFrame = (f, t) => {
    node.dataset.frame = String(f);
    ui.update(t);
  };
  playback.onChange(() => node.classList.toggle("playing", playback.playing));

  const compare = el("input", { type: "checkbox", class: "compare-box", "aria-label": `Compare ${label}` });
  compare.addEventListener("change", () => handlers.onCompare(p, compare.checked, compare));
  const more = el("button", { type: "button", class: "more", "aria-label": `More like ${label}` }, "More like this");
  more.addEventListener("click", () => handlers.onSimilar(p));

  const shared = sharedTags(p, query);
  add(
    node,
    el(
      "header",
      { class: "card-head" },
      el("span", { class: "rank", "aria-hidden": "true" }, `${result.rank}`),
      el("h3", { class: "card-title" }, title(p)),
      el("p", { class: "card-sub" }, span(p)),
      scoreBar(result.score, best, mode),
    ),
    add(player.element, ui.time),
    ui.element,
    el("p", { class: hasMusic(p) ? "music-note" : "music-note silent" }, hasMusic(p) ? "♪ with its music" : "no music"),
    audio,
    why(result, shared),
    metadata(p),
    tagChips(p.tags || [], shared),
    captions(p),
    creditLine(p),
    el("div", { class: "actions" }, more, el("label", { class: "compare-label" }, compare, " compare")),
  );
  return { element: node, player, checkbox: compare, dispose: () => player.dispose() };
}

/**
 * Fill `list` with the cards of an API response. query: {text, tags, reference} for "why it
 * matched". handlers: onSimilar(payload), onCompare(payload, checked, checkbox).
 * Returns a handle with dispose() (stops and frees every player) and cards.
 */
export function renderResults(list, response, query, handlers) {
  const best = Math.max(0, ...response.results.map((r) => r.score));
  const cards = response.results.map((r) => card(r, best, response.mode, query, handlers));
  list.replaceChildren(...cards.map((c) => c.element));
  return {
    cards,
    dispose() {
      for (const c of cards) c.dispose();
    },
  };
}

/**
 * The filters of `state` that the server's answer does not report as applied (its `filter`),
 * so the page never claims a filter it did not use.
 */
export function unapplied(state, filter) {
  if (!filter) return [];
  const has = (list, v) => (list || []).includes(v);
  const out = [];
  if (state.genre.some((g) => !has(filter.genres, g))) out.push("genre");
  if (state.performer && !has(filter.performers, state.performer)) out.push("performer");
  if (state.source && !has(filter.sources, state.source)) out.push("source");
  if (state.tag.some((t) => !has(filter.tags, t))) out.push("required tags");
  if (state.not_tag.some((t) => !has(filter.not_tags, t))) out.push("excluded tags");
  if ((state.bpm_min && filter.bpm_min == null) || (state.bpm_max && filter.bpm_max == null)) out.push("BPM");
  if (state.music && filter.has_music == null) out.push("music");
  return out;
}

/** The line above the grid: how many clips, how sure, and any notes from the server. */
export function summary(response, state) {
  const n = response.results.length;
  const parts = [
    el("p", { class: "count" }, `${n} of ${response.candidates} clips that pass the filters, for `, el("q", {}, response.query), ` (${response.mode})`),
  ];
  const c = response.confidence;
  if (c) {
    parts.push(
      el(
        "p",
        { class: `confidence confidence-${c.level}`, title: `the top score is ${c.z} standard deviations above the next ones` },
        el("strong", {}, `Confidence: ${c.level}. `),
        c.hint,
      ),
    );
  }
  for (const note of response.notes || []) parts.push(el("p", { class: "note" }, note));
  const ignored = unapplied(state, response.filter);
  if (ignored.length) {
    parts.push(el("p", { class: "note unapplied" }, `Not applied to this search: ${ignored.join(", ")}.`));
  }
  return parts;
}
