// One clock per player (or one shared by the two clips of a comparison), and its controls:
// play/pause, loop, speed, a scrubber. When the clock has music, the music is the clock: the
// time is the audio element's currentTime, carried forward between its (coarse) updates by the
// wall clock, so the dance never runs ahead of or behind what is heard. Without music, or past
// the end of a shorter clip's music, the wall clock runs the time.

import { el } from "./dom.js";

export const SPEEDS = [0.5, 1, 1.5];
const MAX_EXTRAPOLATE_MS = 250; // beyond this without a new currentTime the audio is stalled

export class Playback {
  /**
   * duration_s: the timeline's length; audio: an <audio> element or null.
   */
  constructor(duration_s, audio = null) {
    this.duration = duration_s;
    this.audio = null;
    this.playing = false;
    this.loop = true;
    this.rate = 1;
    this._base = 0; // the time when the wall clock last started (s)
    this._since = 0; // performance.now() then
    this._floor = 0; // times never go back while playing (audio updates arrive late)
    this._listeners = new Set();
    this._audioEnded = false;
    this._onEnded = (event) => {
      if (event.target === this.audio) this._onAudioEnded();
    };
    this.setAudio(audio);
  }

  setAudio(audio) {
    const was = this.playing;
    const t = this.now();
    if (this.audio) this.audio.pause();
    this.audio = audio;
    if (audio) {
      audio.playbackRate = this.rate;
      audio.preservesPitch = true;
      audio.addEventListener("ended", this._onEnded);
    }
    this.playing = false;
    this.seek(t);
    if (was) this.play();
  }

  /** Call fn() whenever play state, speed, loop or position change (not every frame). */
  onChange(fn) {
    this._listeners.add(fn);
    return () => this._listeners.delete(fn);
  }

  _changed() {
    for (const fn of this._listeners) fn(this);
  }

  /** Whether the music reaches time t (a shorter clip's music ends before the timeline). */
  _audioCovers(t) {
    const a = this.audio;
    return a !== null && t < (Number.isFinite(a.duration) ? a.duration : Infinity);
  }

  /** The current time in seconds, 0 <= t <= duration. */
  now() {
    let t;
    if (this.playing && this.audio && !this._audioEnded) {
      const a = this.audio;
      const now = performance.now();
      if (a.currentTime !== this._lastCt) {
        this._lastCt = a.currentTime;
        this._lastPerf = now;
      }
      const running = !a.paused && a.readyState >= 3;
      const ahead = running ? Math.min(now - this._lastPerf, MAX_EXTRAPOLATE_MS) : 0;
      t = a.currentTime + (ahead / 1000) * a.playbackRate;
    } else if (this.playing) {
      t = this._base + ((performance.now() - this._since) / 1000) * this.rate;
    } else {
      t = this._base;
    }
    if (this.playing) {
      t = Math.max(t, this._floor);
      this._floor = t;
    }
    return Math.min(t, this.duration);
  }

  /** Advance the clock's bookkeeping: loop or stop at the end. Called once per frame. */
  tick() {
    if (!this.playing) return;
    const t = this.now();
    if (t < this.duration - 1e-3) return;
    if (this.loop) {
      this.seek(0);
    } else {
      this.pause();
      this.seek(this.duration);
    }
  }

  play() {
    if (this.playing) return;
    if (this._base >= this.duration - 1e-3) this._base = 0;
    this.playing = true;
    this._since = performance.now();
    this._floor = this._base;
    this._lastCt = undefined;
    this._audioEnded = !this._audioCovers(this._base);
    if (this.audio && !this._audioEnded) {
      this.audio.currentTime = this._base;
      this.audio.playbackRate = this.rate;
      const started = this.audio.play();
      if (started) {
        started.catch((err) => {
          // the browser refused sound (autoplay policy): keep dancing on the wall clock
          if (err.name === "NotAllowedError") {
            this._audioEnded = true;
            this._base = this.audio.currentTime;
            this._since = performance.now();
            this.blocked = true;
            this._changed();
          }
        });
      }
    }
    this._changed();
  }

  pause() {
    if (!this.playing) return;
    let t = this.now();
    this.playing = false;
    if (this.audio && !this._audioEnded) {
      this.audio.pause();
      t = Math.min(this.audio.currentTime, this.duration); // stop where the music stopped
    }
    this._base = t;
    this._changed();
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  seek(t) {
    t = Math.max(0, Math.min(t, this.duration));
    this._base = t;
    this._since = performance.now();
    this._floor = t;
    this._lastCt = undefined;
    if (this.audio) {
      this._audioEnded = !this._audioCovers(t);
      if (!this._audioEnded) {
        this.audio.currentTime = t;
        if (this.playing && this.audio.paused) this.audio.play().catch(() => {});
      } else {
        this.audio.pause();
      }
    }
    this._changed();
  }

  setRate(rate) {
    const t = this.now();
    this.rate = rate;
    this._base = t;
    this._since = performance.now();
    if (this.audio) this.audio.playbackRate = rate;
    this._changed();
  }

  setLoop(loop) {
    this.loop = loop;
    this._changed();
  }

  _onAudioEnded() {
    // the music was shorter than the timeline (comparisons): carry on by the wall clock
    if (!this.playing) return;
    this._audioEnded = true;
    this._base = Math.max(this._floor, this.audio.currentTime);
    this._since = performance.now();
    if (this._base >= this.duration - 1e-3) this.tick();
  }
}

const fmt = (t) => (t < 60 ? t.toFixed(1) : `${Math.floor(t / 60)}:${(t % 60).toFixed(1).padStart(4, "0")}`);

/**
 * The controls of a Playback: returns { element, update(t), time }; update(t) moves the
 * scrubber while playing (the render loop calls it, so the controls follow the same clock as the
 * dance); time is the "t / length s" label, for the caller to place (over the skeleton).
 * label names what is controlled, for screen readers ("clip 3", "the comparison").
 */
export function controls(playback, label) {
  const play = el("button", { type: "button", class: "play", "aria-label": `Play ${label}` });
  play.addEventListener("click", () => playback.toggle());
  const loop = el("button", { type: "button", class: "toggle loop", "aria-label": `Loop ${label}` }, "loop");
  loop.addEventListener("click", () => playback.setLoop(!playback.loop));
  const speed = el("select", { class: "speed", "aria-label": `Speed of ${label}` });
  for (const s of SPEEDS) speed.append(el("option", { value: String(s) }, `${s}×`));
  speed.value = String(playback.rate);
  speed.addEventListener("change", () => playback.setRate(Number(speed.value)));
  const scrub = el("input", {
    type: "range",
    class: "scrub",
    min: "0",
    max: String(playback.duration),
    step: "0.01",
    value: "0",
    "aria-label": `Position in ${label}, seconds`,
  });
  scrub.addEventListener("input", () => playback.seek(Number(scrub.value)));
  const time = el("span", { class: "time", "aria-hidden": "true" }, "");

  const sync = () => {
    play.textContent = playback.playing ? "❚❚" : "▶";
    play.setAttribute("aria-label", `${playback.playing ? "Pause" : "Play"} ${label}`);
    loop.setAttribute("aria-pressed", String(playback.loop));
    speed.value = String(playback.rate);
    update(playback.now());
  };
  const update = (t) => {
    scrub.value = String(t);
    scrub.setAttribute("aria-valuetext", `${t.toFixed(1)} of ${playback.duration.toFixed(1)} seconds`);
    time.textContent = `${fmt(t)} / ${fmt(playback.duration)} s`;
  };
  playback.onChange(sync);
  sync();
  const element = el("div", { class: "controls", role: "group", "aria-label": `Playback of ${label}` }, play, scrub, speed, loop);
  return { element, update, time };
}

