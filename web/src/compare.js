// Two clips side by side on one timeline: one clock drives both skeletons, one set of controls,
// and the music of whichever clip is chosen (a shorter clip holds its last pose).

import * as api from "./api.js";
import { captions, creditLine, el, hasMusic, metadata, title } from "./dom.js";
import { Player } from "./player.js";
import { audioFor } from "./results.js";
import { Playback, controls } from "./timeline.js";

/** Show payloads [a, b] in `section`. Returns { dispose }. onClose() when the user closes it. */
export function openCompare(section, payloads, onClose) {
  const duration = Math.max(...payloads.map((p) => p.duration_s));
  const audios = payloads.map(audioFor);
  const first = audios.findIndex((a) => a !== null);
  const playback = new Playback(duration, first >= 0 ? audios[first] : null);
  const ui = controls(playback, "the comparison");
  ui.element.insertBefore(ui.time, ui.element.querySelector(".speed")); // room for it here
  const players = payloads.map((p, i) => {
    const name = "AB"[i];
    const player = new Player({ clipId: p.clip_id, playback, label: `clip ${name}, ${title(p)}`, loadMotion: api.motion });
    const box = el(
      "figure",
      { class: "side", "data-clip-id": p.clip_id, "data-frame": "-1", "data-side": name },
      el("figcaption", {}, el("strong", {}, `${name}: `), title(p), hasMusic(p) ? "" : " — no music"),
      player.element,
      metadata(p),
      captions(p),
      creditLine(p),
    );
    player.onFrame = (f, t) => {
      box.dataset.frame = String(f);
      if (i === 0) ui.update(t);
    };
    return { player, box };
  });

  const music = el("select", { class: "music-choice", "aria-label": "Music of the comparison" });
  payloads.forEach((p, i) => {
    if (audios[i]) music.append(el("option", { value: String(i) }, `music of ${"AB"[i]}`));
  });
  music.append(el("option", { value: "none" }, "no music"));
  music.value = first >= 0 ? String(first) : "none";
  music.addEventListener("change", () => playback.setAudio(music.value === "none" ? null : audios[Number(music.value)]));

  const close = el("button", { type: "button", class: "close", "aria-label": "Close the comparison" }, "Close");
  close.addEventListener("click", onClose);
  section.replaceChildren(
    el("header", { class: "compare-head" }, el("h2", {}, "Compare"), music, close),
    el("div", { class: "sides" }, ...players.map((p) => p.box)),
    ui.element,
    ...audios.filter(Boolean),
  );
  section.hidden = false;
  return {
    playback,
    dispose() {
      playback.pause();
      for (const p of players) p.player.dispose();
      section.replaceChildren();
      section.hidden = true;
    },
  };
}
