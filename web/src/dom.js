// Small DOM helpers and the pieces every view shows about a clip: its title, the licence and
// credit line (shown wherever a clip is shown, as the sources ask), and its metadata.

/** Append children to node, skipping null, undefined and false (optional parts). */
export function add(node, ...children) {
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  return add(node, ...children);
}

/** A readable name for a clip: its title, or what its labels say it is, or its id. */
export function title(payload) {
  if (payload.title) return payload.title;
  const labels = payload.labels || {};
  const what = labels.content || labels.motion || labels.name;
  if (what && labels.style) return `${what} (${labels.style})`;
  if (what) return what;
  if (payload.genre) return `${payload.genre}${payload.performer ? ` by ${payload.performer}` : ""}`;
  return payload.clip_id;
}

/** Which recording and which seconds of it: "m2d/DANCE_W_23, 12.0-24.0 s". */
export function span(payload) {
  if (payload.start_s == null || payload.duration_s == null) return payload.seq_id || payload.clip_id;
  const end = payload.start_s + payload.duration_s;
  return `${payload.seq_id}, ${payload.start_s.toFixed(1)}–${end.toFixed(1)} s`;
}

export function creditLine(payload) {
  return el(
    "p",
    { class: "credit" },
    el("span", { class: "licence" }, payload.licence || "licence unknown"),
    " ",
    payload.credit || "no credit line recorded",
  );
}

const ANNOTATION_MEANING = {
  auto: "tags and captions computed from the motion and music",
  expert: "a dance expert's annotation",
  human: "a person's own description",
  label: "the source's own labels",
};

export function annotationBadges(payload) {
  return el(
    "span",
    { class: "badges" },
    ...(payload.annotations || []).map((a) =>
      el("span", { class: `badge badge-${a}`, title: ANNOTATION_MEANING[a] || a }, a),
    ),
  );
}

export function hasMusic(payload) {
  return payload.has_music === "yes" || payload.has_music === true;
}

export function tagChips(tags, highlight = new Set()) {
  return el(
    "ul",
    { class: "tags", "aria-label": "Tags" },
    ...tags.map((t) => el("li", { class: highlight.has(t) ? "tag shared" : "tag" }, t)),
  );
}

/** Genre, performer, BPM, source, start, annotation sources as a definition list. */
export function metadata(payload) {
  const rows = [
    ["genre", payload.genre],
    ["performer", payload.performer],
    ["BPM", payload.bpm == null ? null : `${Math.round(payload.bpm)}${payload.tempo ? ` (${payload.tempo})` : ""}`],
    ["source", payload.source],
  ];
  const dl = el("dl", { class: "meta" });
  for (const [k, v] of rows) {
    if (v === null || v === undefined || v === "") continue;
    dl.append(el("dt", {}, k), el("dd", {}, String(v)));
  }
  dl.append(el("dt", {}, "annotated by"), el("dd", {}, annotationBadges(payload)));
  return dl;
}

export function captions(payload, open = 1) {
  const list = payload.captions || [];
  if (!list.length) return null;
  const first = el("p", { class: "caption" }, `“${list[0]}”`);
  if (list.length <= open) return first;
  return el(
    "div",
    { class: "captions" },
    first,
    el(
      "details",
      {},
      el("summary", {}, `${list.length - 1} more caption${list.length > 2 ? "s" : ""}`),
      el("ul", {}, ...list.slice(1).map((c) => el("li", {}, c))),
    ),
  );
}
