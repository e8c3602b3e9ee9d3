// What the page shows, kept in the URL so a search can be shared and the back button works:
// ?view=search|rate, the query text and mode, or `like` (dances like a clip), and the filters
// under the API's own parameter names.

export const MODES = ["hybrid", "dense", "text"];

export function emptyState() {
  return {
    view: "search",
    q: "",
    like: "", // a clip id: rank by that clip's vector instead of the text
    mode: "hybrid",
    genre: [],
    performer: "",
    source: "",
    tag: [], // all required
    not_tag: [], // all excluded
    bpm_min: "",
    bpm_max: "",
    music: "", // "" any, "true" with music, "false" silent
    limit: 12,
  };
}

export function fromUrl(search = window.location.search) {
  const p = new URLSearchParams(search);
  const s = emptyState();
  s.view = p.get("view") === "rate" ? "rate" : "search";
  s.q = p.get("q") || "";
  s.like = p.get("like") || "";
  s.mode = MODES.includes(p.get("mode")) ? p.get("mode") : "hybrid";
  s.genre = p.getAll("genre");
  s.performer = p.get("performer") || "";
  s.source = p.get("source") || "";
  s.tag = p.getAll("tag");
  s.not_tag = p.getAll("not_tag");
  s.bpm_min = p.get("bpm_min") || "";
  s.bpm_max = p.get("bpm_max") || "";
  s.music = ["true", "false"].includes(p.get("music")) ? p.get("music") : "";
  const limit = Number.parseInt(p.get("limit") || "", 10);
  s.limit = limit > 0 && limit <= 100 ? limit : 12; // 100: the API's most per request
  return s;
}

export function toUrl(s) {
  const p = new URLSearchParams();
  if (s.view === "rate") p.set("view", "rate");
  if (s.like) p.set("like", s.like);
  else if (s.q) p.set("q", s.q);
  if (s.mode !== "hybrid") p.set("mode", s.mode);
  for (const g of s.genre) p.append("genre", g);
  if (s.performer) p.set("performer", s.performer);
  if (s.source) p.set("source", s.source);
  for (const t of s.tag) p.append("tag", t);
  for (const t of s.not_tag) p.append("not_tag", t);
  if (s.bpm_min) p.set("bpm_min", s.bpm_min);
  if (s.bpm_max) p.set("bpm_max", s.bpm_max);
  if (s.music) p.set("music", s.music);
  if (s.limit !== 12) p.set("limit", String(s.limit));
  const query = p.toString();
  return query ? `?${query}` : window.location.pathname;
}

/** How many filters are set, for the collapsed filter panel's label. */
export function filterCount(s) {
  return (
    s.genre.length +
    s.tag.length +
    s.not_tag.length +
    (s.performer ? 1 : 0) +
    (s.source ? 1 : 0) +
    (s.bpm_min || s.bpm_max ? 1 : 0) +
    (s.music ? 1 : 0)
  );
}
