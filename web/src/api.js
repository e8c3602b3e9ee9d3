// The JSON API of `dancesearch serve`: one function per endpoint. A failed request throws an
// ApiError carrying the server's one-sentence `detail`, which the page shows as it is.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function request(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "application/json" }, ...options });
  } catch {
    throw new ApiError(0, "The server could not be reached: is `dancesearch serve` running?");
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    let detail = body && body.detail;
    if (Array.isArray(detail)) {
      // FastAPI's validation errors: a list of {loc, msg}
      detail = detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    }
    throw new ApiError(response.status, detail || `${response.status} ${response.statusText}`);
  }
  return body;
}

/** The query string of a search state: the API's parameter names, repeated for lists. */
export function filterParams(state) {
  const p = new URLSearchParams();
  for (const g of state.genre) p.append("genre", g);
  if (state.performer) p.set("performer", state.performer);
  if (state.source) p.set("source", state.source);
  for (const t of state.tag) p.append("tag", t);
  for (const t of state.not_tag) p.append("not_tag", t);
  if (state.bpm_min !== "") p.set("bpm_min", state.bpm_min);
  if (state.bpm_max !== "") p.set("bpm_max", state.bpm_max);
  if (state.music !== "") p.set("music", state.music);
  if (state.limit) p.set("limit", String(state.limit));
  return p;
}

export function search(state) {
  const p = filterParams(state);
  p.set("q", state.q);
  p.set("mode", state.mode);
  return request(`/api/search?${p}`);
}

// "more like this" shows other dances, not the next seconds of the same recording
export const SIMILAR_PER_RECORDING = 2;

export function similar(clipId, state) {
  const p = filterParams(state);
  p.set("per_sequence", String(SIMILAR_PER_RECORDING));
  return request(`/api/similar/${encodeURIComponent(clipId)}?${p}`);
}

export const facets = () => request("/api/facets");
export const clip = (clipId) => request(`/api/clips/${encodeURIComponent(clipId)}`);

const motions = new Map(); // clip id -> Promise of its motion; a clip shown twice loads once

export function motion(clipId, url) {
  if (!motions.has(clipId)) {
    const promise = request(url || `/api/clips/${encodeURIComponent(clipId)}/motion`);
    promise.catch(() => motions.delete(clipId));
    motions.set(clipId, promise);
  }
  return motions.get(clipId);
}

export const audioUrl = (clipId) => `/api/clips/${encodeURIComponent(clipId)}/audio`;

export const nextTrial = (rater) => request(`/api/study/next?rater=${encodeURIComponent(rater)}`);

export function rate(rating) {
  return request("/api/study/rate", {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(rating),
  });
}
