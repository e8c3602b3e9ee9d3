// Rate mode, the paper's user study: a query and the top clip of two models for it, blind and
// in a random order (A, B); the rater scores each for text-motion consistency and text-music
// relevance from 1 to 5 (no music score for a silent clip), submits, and gets the next pair.

import * as api from "./api.js";
import { add, creditLine, el } from "./dom.js";
import { Player } from "./player.js";
import { audioFor } from "./results.js";
import { Playback, controls } from "./timeline.js";

const SCALE = [1, 2, 3, 4, 5];
const SCALE_WORDS = { 1: "not at all", 3: "somewhat", 5: "exactly" };

function scale(name, legend, disabledReason) {
  const box = el("fieldset", { class: "scale", disabled: Boolean(disabledReason) }, el("legend", {}, legend));
  for (const n of SCALE) {
    const id = `${name}-${n}`;
    box.append(
      el(
        "span",
        { class: "point" },
        el("input", { type: "radio", id, name, value: String(n), required: !disabledReason }),
        el("label", { for: id, title: SCALE_WORDS[n] || "" }, String(n)),
      ),
    );
  }
  box.append(el("span", { class: "scale-ends", "aria-hidden": "true" }, "1 not at all · 5 exactly"));
  if (disabledReason) box.append(el("p", { class: "hint" }, disabledReason));
  return box;
}

/** One blind side of a trial: its player, its controls, its two scales, its credit line. */
function side(name, clip, disposers) {
  const silent = !clip.audio_url;
  const audio = silent ? null : audioFor({ clip_id: clip.clip_id, has_music: "yes" });
  if (audio && clip.audio_url) audio.src = clip.audio_url;
  const playback = new Playback(clip.duration_s, audio);
  const label = `clip ${name}`;
  const player = new Player({ clipId: clip.clip_id, motionUrl: clip.motion_url, playback, label, loadMotion: api.motion });
  const ui = controls(playback, label);
  const box = el("section", { class: "side", "aria-label": `Clip ${name}`, "data-frame": "-1" });
  player.onFrame = (f, t) => {
    box.dataset.frame = String(f);
    ui.update(t);
  };
  disposers.push(() => player.dispose());
  const key = name.toLowerCase();
  add(
    box,
    el("h3", {}, `Clip ${name}`, silent ? el("span", { class: "music-note silent" }, " no music") : ""),
    add(player.element, ui.time),
    ui.element,
    audio,
    scale(`${key}-motion`, `${name}: does the dance match the words?`),
    scale(`${key}-music`, `${name}: does the music suit the words?`, silent ? "A silent clip: no music to rate." : null),
    creditLine(clip),
  );
  return box;
}

function chosen(form, name) {
  const input = form.querySelector(`input[name="${name}"]:checked`);
  return input ? Number(input.value) : null;
}

/**
 * Rate mode inside `root` (the #rate-view section). showError(message) shows API errors.
 */
export function setupStudy(root, showError) {
  const raterForm = root.querySelector("#rater-form");
  const raterInput = root.querySelector("#rater");
  const trialBox = root.querySelector("#trial");
  let disposers = [];
  raterInput.value = localStorage.getItem("dancesearch.rater") || "";

  const clear = () => {
    disposers.forEach((d) => d());
    disposers = [];
  };

  async function next() {
    const rater = raterInput.value.trim();
    if (!rater) {
      raterInput.focus();
      showError("Enter your name (or any nickname) before rating.");
      return;
    }
    localStorage.setItem("dancesearch.rater", rater);
    clear();
    trialBox.replaceChildren(el("p", { class: "loading" }, "Finding a pair to rate…"));
    let trial;
    let clips;
    try {
      trial = await api.nextTrial(rater);
      clips = await Promise.all([api.clip(trial.left.clip_id), api.clip(trial.right.clip_id)]);
    } catch (err) {
      trialBox.replaceChildren();
      showError(err.message);
      return;
    }
    showError(null);
    const form = el("form", { class: "trial", "data-trial-id": String(trial.trial_id) });
    form.append(
      el("p", { class: "trial-query" }, "The words: ", el("q", {}, trial.query)),
      el("div", { class: "sides" }, side("A", clips[0], disposers), side("B", clips[1], disposers)),
      el("div", { class: "trial-actions" }, el("button", { type: "submit" }, "Submit ratings"), el("p", { class: "done", role: "status" })),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const rating = { trial_id: trial.trial_id, rater };
      for (const [key, name, clip] of [["left", "a", clips[0]], ["right", "b", clips[1]]]) {
        rating[key] = { motion: chosen(form, `${name}-motion`), music: clip.audio_url ? chosen(form, `${name}-music`) : null };
      }
      const missing = ["left", "right"].some((k, i) => rating[k].motion === null || (clips[i].audio_url && rating[k].music === null));
      if (missing) {
        showError("Rate both clips on every scale that is not greyed out, then submit.");
        return;
      }
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        await api.rate(rating);
      } catch (err) {
        submit.disabled = false;
        showError(err.message);
        return;
      }
      showError(null);
      disposers.forEach((d) => d());
      disposers = [];
      const done = form.querySelector(".done");
      done.textContent = "Saved. Thank you! ";
      const again = el("button", { type: "button", class: "next" }, "Next pair");
      again.addEventListener("click", next);
      done.append(again);
      form.querySelectorAll("fieldset").forEach((f) => (f.disabled = true));
      again.focus();
    });
    trialBox.replaceChildren(form);
    form.querySelector(".trial-query").scrollIntoView({ block: "nearest" });
  }

  raterForm.addEventListener("submit", (e) => {
    e.preventDefault();
    next();
  });
  return { stop: clear };
}
