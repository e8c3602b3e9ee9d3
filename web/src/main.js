// The page of `dancesearch serve`: wires the search form, the filters, the results, the
// comparison and rate mode to the URL (the one source of truth for what is shown) and the API.

import "./style.css";
import * as api from "./api.js";
import { openCompare } from "./compare.js";
import { creditLine, el, title } from "./dom.js";
import { renderFilters } from "./filters.js";
import { renderResults, summary } from "./results.js";
import { filterCount, fromUrl, toUrl } from "./state.js";
import { setupStudy } from "./study.js";

const EXAMPLES = ["a slow waltz with wide turns", "a run in a happy style", "arms waving above the head"];
const MAX_QUERY_CHARS = 2000; // the most a search reads (the API's, dancesearch.search.query)

const $ = (id) => document.getElementById(id);
const ui = {
  message: $("message"),
  form: $("search-form"),
  q: $("q"),
  qNote: $("q-note"),
  mode: $("mode"),
  filters: $("filters"),
  filterCount: $("filter-count"),
  summary: $("summary"),
  compare: $("compare"),
  results: $("results"),
  searchView: $("search-view"),
  rateView: $("rate-view"),
  tabs: { search: $("tab-search"), rate: $("tab-rate") },
};

let state = fromUrl();
let facets = null;
let shown = null; // the rendered results: dispose() stops their players
let comparing = null; // the open comparison
let picked = []; // [{payload, checkbox}] ticked for comparison, oldest first
let latest = 0; // only the answer to the latest request is shown

function showError(message) {
  ui.message.hidden = !message;
  ui.message.replaceChildren();
  if (!message) return;
  const close = el("button", { type: "button", class: "close", "aria-label": "Dismiss the message" }, "×");
  close.addEventListener("click", () => showError(null));
  ui.message.append(el("span", {}, message), close);
}

/** A selector that finds the same control after the filter panel is rebuilt. */
function focusKey(node) {
  if (!node || !ui.filters.contains(node)) return null;
  if (node.dataset.tag) return `[data-tag="${CSS.escape(node.dataset.tag)}"]`;
  if (node.id) return `#${CSS.escape(node.id)}`;
  if (node.name && node.type === "checkbox") return `input[name="${node.name}"][value="${CSS.escape(node.value)}"]`;
  if (node.classList.contains("clear")) return "button.clear";
  return null;
}

/** Rebuild the filter panel from the facets and the state (keeps the focused control). */
function syncFilters() {
  const n = filterCount(state);
  ui.filterCount.textContent = n ? `(${n} set)` : "";
  if (!facets) return;
  const key = focusKey(document.activeElement);
  renderFilters(ui.filters, facets, state, (patch) => go(patch));
  if (key) ui.filters.querySelector(key)?.focus();
}

/** Characters as the server counts them (code points, not UTF-16 units). */
const chars = (text) => Array.from(text);

/** Under the search box: whether the text is longer than a search reads (note: "typed") or was
 * cut to it (note: "cut"). */
function noteLength(note = "typed") {
  const n = chars(ui.q.value.trim()).length;
  const long = note === "cut" || n > MAX_QUERY_CHARS;
  ui.qNote.hidden = !long;
  ui.qNote.textContent = !long
    ? ""
    : note === "cut"
      ? `Your text was cut to its first ${MAX_QUERY_CHARS} characters, the most a search reads.`
      : `${n} characters: a search reads the first ${MAX_QUERY_CHARS}; the rest will be cut.`;
}

function syncControls() {
  ui.q.value = state.like ? "" : state.q;
  noteLength();
  ui.mode.value = state.mode;
  syncFilters();
  const rate = state.view === "rate";
  ui.searchView.hidden = rate;
  ui.rateView.hidden = !rate;
  ui.tabs.search.toggleAttribute("aria-current", !rate);
  ui.tabs.rate.toggleAttribute("aria-current", rate);
  if (rate) ui.tabs.rate.setAttribute("aria-current", "page");
  else ui.tabs.search.setAttribute("aria-current", "page");
  document.title = rate ? "Rate · dancesearch" : state.q || state.like ? `${state.like ? `like ${state.like}` : state.q} · dancesearch` : "dancesearch";
}

/** Change the state, record it in the URL (a new history entry unless replace) and show it. */
function go(patch, { replace = false } = {}) {
  state = { ...state, ...patch };
  const url = toUrl(state);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  syncControls();
  run();
}

function closeCompare() {
  if (comparing) comparing.dispose();
  comparing = null;
}

function onCompare(payload, checked, checkbox) {
  picked = picked.filter((p) => p.payload.clip_id !== payload.clip_id);
  if (checked) picked.push({ payload, checkbox });
  while (picked.length > 2) picked.shift().checkbox.checked = false;
  closeCompare();
  if (picked.length === 2) {
    for (const c of shown.cards) c.player.playback.pause();
    comparing = openCompare(ui.compare, picked.map((p) => p.payload), () => {
      for (const p of picked) p.checkbox.checked = false;
      picked = [];
      closeCompare();
    });
    ui.compare.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
}

function onSimilar(payload) {
  go({ like: payload.clip_id });
  window.scrollTo({ top: 0 });
}

/** Remove the shown results (stopping their players) and put `parts` in the summary line. */
function clearResults(...parts) {
  closeCompare();
  picked = [];
  if (shown) shown.dispose();
  shown = null;
  ui.results.replaceChildren();
  ui.summary.replaceChildren(...parts);
  ui.results.removeAttribute("aria-busy");
  ui.summary.classList.remove("busy");
}

function startScreen() {
  const tries = EXAMPLES.map((text) => {
    const b = el("button", { type: "button", class: "example" }, text);
    b.addEventListener("click", () => go({ q: text, like: "" }));
    return b;
  });
  return [el("p", {}, "Describe a dance in your own words, then narrow it with the filters. Try: "), el("div", { class: "examples" }, ...tries)];
}

async function run() {
  if (state.view === "rate") return;
  const mine = ++latest;
  if (!state.q && !state.like) {
    clearResults(...startScreen());
    return;
  }
  ui.results.setAttribute("aria-busy", "true");
  ui.summary.classList.add("busy");
  let response;
  let reference = null;
  try {
    if (state.like) {
      [response, reference] = await Promise.all([api.similar(state.like, state), api.clip(state.like)]);
    } else {
      response = await api.search(state);
    }
  } catch (err) {
    if (mine === latest) {
      showError(err.message);
      // the previous results answer another search: they go, and the line says why
      clearResults(el("p", { class: "empty failed" }, "No results: this search could not be run (the message above says why)."));
    }
    return;
  }
  if (mine !== latest) return;
  showError(null);
  closeCompare();
  picked = [];
  if (shown) shown.dispose();
  const query = { text: state.like ? "" : state.q, tags: state.tag, reference: reference ? reference.tags || [] : null };
  shown = renderResults(ui.results, response, query, { onSimilar, onCompare });
  const head = [];
  if (reference) {
    const back = el("button", { type: "button", class: "back" }, "Back to a text search");
    back.addEventListener("click", () => go({ like: "" }));
    head.push(el("div", { class: "like" }, el("p", {}, "Dances like ", el("strong", {}, title(reference)), ` (${reference.clip_id}), by their motion alone.`), creditLine(reference), back));
  }
  ui.summary.replaceChildren(...head, ...summary(response, state));
  if (!response.results.length && !(response.notes || []).length) ui.summary.append(el("p", { class: "empty" }, "Nothing passes these filters: loosen one."));
  ui.results.removeAttribute("aria-busy");
  ui.summary.classList.remove("busy");
}

async function loadFacets() {
  try {
    facets = await api.facets();
  } catch (err) {
    showError(`The filters could not be loaded: ${err.message}`);
    return;
  }
  syncFilters(); // not the search box: a person may be typing in it already
}

ui.form.addEventListener("submit", (e) => {
  e.preventDefault();
  const q = ui.q.value.trim();
  if (!q) {
    showError("Type a few words describing a dance first.");
    ui.q.focus();
    return;
  }
  const cut = chars(q).length > MAX_QUERY_CHARS;
  go({ q: cut ? chars(q).slice(0, MAX_QUERY_CHARS).join("").trim() : q, like: "" });
  if (cut) noteLength("cut");
});
ui.q.addEventListener("input", () => noteLength());
ui.mode.addEventListener("change", () => go({ mode: ui.mode.value }));
for (const [view, link] of Object.entries(ui.tabs)) {
  link.addEventListener("click", (e) => {
    e.preventDefault();
    if (state.view !== view) go({ view });
  });
}
window.addEventListener("popstate", () => {
  state = fromUrl();
  syncControls();
  run();
});

// on a phone the results come first; the filters open on demand
if (window.matchMedia("(max-width: 760px)").matches) $("filters-box").open = false;
setupStudy(ui.rateView, showError);
syncControls();
loadFacets();
run();
