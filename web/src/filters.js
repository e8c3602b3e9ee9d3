// The filter panel, built from /api/facets: genre (any of), tempo, body-part and quality tags
// (each one required, excluded or free), performer, source, BPM range, music, results per page.
// Every change calls onChange(patch) with the fields of the search state it sets.

import { el } from "./dom.js";

const BODY = ["arms", "legs", "torso"];
const QUALITY = ["fluidity", "intensity", "space", "musicality"];
const MUSIC = ["rhythm", "energy", "valence"];
const OWN_CONTROL = ["genre", "tempo"]; // tags with a control of their own
const LIMITS = [6, 12, 24, 48];
const limits = (now) => [...new Set([...LIMITS, now])].sort((a, b) => a - b); // a link's own shows as it is

const facetOf = (tag) => tag.split(".")[0];
const valueOf = (tag) => tag.split(".").slice(1).join(".");

function select(name, label, options, value) {
  const id = `f-${name}`;
  const node = el("select", { id, name });
  for (const [v, text] of options) node.append(el("option", { value: v }, text));
  node.value = value;
  return el("div", { class: "field" }, el("label", { for: id }, label), node);
}

/** A tag button cycling free -> required -> excluded -> free. */
function tagButton(tag, state) {
  const mode = state.tag.includes(tag) ? "required" : state.not_tag.includes(tag) ? "excluded" : "free";
  const sign = { free: "", required: "+ ", excluded: "− " }[mode];
  const explain = { free: "not used", required: "required", excluded: "excluded" }[mode];
  return el(
    "button",
    {
      type: "button",
      class: `chip chip-${mode}`,
      "data-tag": tag,
      "aria-label": `${tag}: ${explain}. Press to ${mode === "free" ? "require" : mode === "required" ? "exclude" : "free"} it.`,
    },
    `${sign}${valueOf(tag)}`,
  );
}

function tagGroups(tags, state) {
  const groups = new Map();
  for (const t of tags) {
    const f = facetOf(t);
    if (OWN_CONTROL.includes(f)) continue;
    if (!groups.has(f)) groups.set(f, []);
    groups.get(f).push(t);
  }
  const order = [...BODY, ...QUALITY, ...MUSIC];
  const names = [...groups.keys()].sort((a, b) => {
    const ia = order.indexOf(a) < 0 ? 99 : order.indexOf(a);
    const ib = order.indexOf(b) < 0 ? 99 : order.indexOf(b);
    return ia - ib || a.localeCompare(b);
  });
  const section = (heading, facetNames) => {
    const present = facetNames.filter((f) => names.includes(f));
    if (!present.length) return null;
    return el(
      "fieldset",
      { class: "tag-groups" },
      el("legend", {}, heading),
      ...present.map((f) =>
        el(
          "div",
          { class: "tag-group", role: "group", "aria-label": f },
          el("span", { class: "group-name" }, f),
          ...groups.get(f).map((t) => tagButton(t, state)),
        ),
      ),
    );
  };
  const other = names.filter((f) => !order.includes(f));
  return [
    section("Body", BODY),
    section("Quality", QUALITY),
    section("Music", MUSIC),
    section("Other tags", other),
  ].filter(Boolean);
}

/**
 * Build the filter form in `form` for `state` and `facets` ({genre, performer, source, tempo,
 * tags, bpm}). onChange(patch) on every change.
 */
export function renderFilters(form, facets, state, onChange) {
  const tags = facets.tags || [];
  let tempos = tags.filter((t) => facetOf(t) === "tempo");
  if (!tempos.length) tempos = (facets.tempo || []).map((v) => `tempo.${v}`);
  const tempoNow = state.tag.find((t) => facetOf(t) === "tempo") || "";

  const genres = el(
    "fieldset",
    { class: "genres" },
    el("legend", {}, "Genre ", el("span", { class: "hint" }, "(any of)")),
    ...(facets.genre || []).map((g) =>
      el("label", { class: "check" }, el("input", { type: "checkbox", name: "genre", value: g, checked: state.genre.includes(g) }), ` ${g}`),
    ),
  );
  const bpm = facets.bpm && facets.bpm.length === 2 ? facets.bpm : [null, null];
  const bpmRange = el(
    "fieldset",
    { class: "bpm" },
    el("legend", {}, "BPM"),
    el("label", { for: "f-bpm-min", class: "visually-hidden" }, "lowest BPM"),
    el("input", { id: "f-bpm-min", name: "bpm_min", type: "number", inputmode: "numeric", min: "0", max: "400", step: "1", value: state.bpm_min, placeholder: bpm[0] == null ? "min" : String(Math.floor(bpm[0])) }),
    el("span", { "aria-hidden": "true" }, " – "),
    el("label", { for: "f-bpm-max", class: "visually-hidden" }, "highest BPM"),
    el("input", { id: "f-bpm-max", name: "bpm_max", type: "number", inputmode: "numeric", min: "0", max: "400", step: "1", value: state.bpm_max, placeholder: bpm[1] == null ? "max" : String(Math.ceil(bpm[1])) }),
  );

  form.replaceChildren(
    genres,
    select("tempo", "Tempo", [["", "any"], ...tempos.map((t) => [t, valueOf(t)])], tempoNow),
    select("music", "Music", [["", "with or without"], ["true", "with music"], ["false", "silent"]], state.music),
    select("performer", "Performer", [["", "anyone"], ...(facets.performer || []).map((v) => [v, v])], state.performer),
    select("source", "Source", [["", "any"], ...(facets.source || []).map((v) => [v, v])], state.source),
    bpmRange,
    ...tagGroups(tags, state),
    select("limit", "Show", limits(state.limit).map((n) => [String(n), `${n} results`]), String(state.limit)),
    el("button", { type: "button", class: "clear" }, "Clear filters"),
  );

  form.onchange = (e) => {
    const t = e.target;
    if (t.name === "genre") {
      onChange({ genre: [...form.querySelectorAll("input[name=genre]:checked")].map((i) => i.value) });
    } else if (t.name === "tempo") {
      const rest = state.tag.filter((x) => facetOf(x) !== "tempo");
      onChange({ tag: t.value ? [...rest, t.value] : rest });
    } else if (t.name === "bpm_min" || t.name === "bpm_max") {
      onChange({ [t.name]: t.value.trim() });
    } else if (t.name === "limit") {
      onChange({ limit: Number(t.value) });
    } else if (["music", "performer", "source"].includes(t.name)) {
      onChange({ [t.name]: t.value });
    }
  };
  form.onsubmit = (e) => e.preventDefault(); // Enter in a BPM box: the change event runs it
  form.onclick = (e) => {
    const chip = e.target.closest("button[data-tag]");
    if (chip) {
      const tag = chip.dataset.tag;
      const required = state.tag.includes(tag);
      const excluded = state.not_tag.includes(tag);
      const tagsNow = state.tag.filter((x) => x !== tag);
      const notNow = state.not_tag.filter((x) => x !== tag);
      if (!required && !excluded) tagsNow.push(tag);
      else if (required) notNow.push(tag);
      onChange({ tag: tagsNow, not_tag: notNow }, { focus: `button[data-tag="${tag}"]` });
    } else if (e.target.closest("button.clear")) {
      onChange({ genre: [], tag: [], not_tag: [], performer: "", source: "", bpm_min: "", bpm_max: "", music: "" }, { focus: "button.clear" });
    }
  };
}
