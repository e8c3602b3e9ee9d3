// The 3D skeleton players. One WebGL context serves every player on the page: each player owns
// a plain 2D canvas, and the shared renderer draws a player's scene into a corner of its own
// (off-page) canvas and copies it across. Only players on screen are drawn, and only when their
// frame changes; the render loop sleeps when nothing plays.

import {
  Color,
  CylinderGeometry,
  DirectionalLight,
  GridHelper,
  HemisphereLight,
  InstancedMesh,
  Matrix4,
  MeshLambertMaterial,
  PerspectiveCamera,
  Quaternion,
  Scene,
  SphereGeometry,
  Vector3,
  WebGLRenderer,
} from "three";

const COLOURS = { left: 0xd1495b, right: 0x2f6fb0, centre: 0x5b5b5b };
const BACKGROUND = 0xf6f4ef;
const BONE_RADIUS_M = 0.03;
const JOINT_RADIUS_M = 0.045;
const FOV_DEG = 35;
const FOLLOW_S = 1; // the camera follows the pelvis path averaged over this long: no gait sway

// ---------------------------------------------------------------- the one shared renderer

let shared; // WebGLRenderer, null when WebGL is unavailable, undefined before the first try

function renderer() {
  if (shared !== undefined) return shared;
  try {
    const canvas = document.createElement("canvas");
    shared = new WebGLRenderer({ canvas, antialias: true, powerPreference: "low-power" });
    shared.setPixelRatio(1); // sizes below are device pixels already
    shared.setClearColor(BACKGROUND);
    shared.setScissorTest(true);
    canvas.addEventListener("webglcontextrestored", () => views.forEach((v) => (v.dirty = true)));
  } catch {
    shared = null;
  }
  return shared;
}

export const webglAvailable = () => renderer() !== null;

// geometry and materials are shared by all skeletons; each skeleton has its own instances
const boneGeometry = new CylinderGeometry(BONE_RADIUS_M, BONE_RADIUS_M, 1, 8, 1).translate(0, 0.5, 0);
const jointGeometry = new SphereGeometry(JOINT_RADIUS_M, 12, 8);
const material = new MeshLambertMaterial({ color: 0xffffff });

function side(name) {
  if (name.startsWith("left")) return COLOURS.left;
  if (name.startsWith("right")) return COLOURS.right;
  return COLOURS.centre;
}

// ---------------------------------------------------------------- one skeleton scene

/**
 * The scene of one clip. motion: {fps, n_frames, joints: [J names], parents: [J], positions:
 * flat (T*J*3) metres, Y up, frame-major}. Bones are thin cylinders from parent to child joint,
 * coloured by the child's side (left red, right blue); a floor grid under the whole path at the
 * lowest foot height; a camera from the dancer's front-left (turned by drag or arrow keys) that
 * travels with the dancer, framed to the body's own box over the whole clip: one zoom for the
 * clip, so a dancer who crosses the floor is as large as one who dances on the spot.
 */
export class Skeleton {
  constructor(motion) {
    this.fps = motion.fps;
    this.frames = motion.n_frames;
    this.parents = motion.parents;
    this.nJoints = motion.joints.length;
    this.positions = Float32Array.from(motion.positions);
    this.bones = this.parents.map((p, c) => [p, c]).filter(([p]) => p >= 0);

    this.scene = new Scene();
    this.scene.add(new HemisphereLight(0xffffff, 0x8a8577, 2.2));
    const sun = new DirectionalLight(0xffffff, 1.6);
    sun.position.set(2, 5, 3);
    this.scene.add(sun);

    this.boneMesh = new InstancedMesh(boneGeometry, material, this.bones.length);
    this.jointMesh = new InstancedMesh(jointGeometry, material, this.nJoints);
    const colour = new Color();
    this.bones.forEach(([, c], i) => this.boneMesh.setColorAt(i, colour.setHex(side(motion.joints[c]))));
    motion.joints.forEach((name, j) => this.jointMesh.setColorAt(j, colour.setHex(side(name))));
    this.boneMesh.frustumCulled = this.jointMesh.frustumCulled = false;
    this.scene.add(this.boneMesh, this.jointMesh);

    this._frame(motion.joints);
    this.azimuth = 0;
    this.camera = new PerspectiveCamera(FOV_DEG, 1, 0.05, 100);
    this.aim(1);
    this.set(0);
  }

  /** The path the camera follows, the body's box around it, the floor and the dancer's first
   * facing direction. */
  _frame(names) {
    const p = this.positions;
    const stride = this.nJoints * 3;
    this.path = this._path(p);
    const lo = [Infinity, Infinity, Infinity]; // the body's box: x and z about the path, y as is
    const hi = [-Infinity, -Infinity, -Infinity];
    const floorLo = [Infinity, Infinity]; // the whole path's extent on the floor (x, z)
    const floorHi = [-Infinity, -Infinity];
    for (let f = 0; f < this.frames; f++) {
      for (let i = f * stride; i < (f + 1) * stride; i += 3) {
        const rel = [p[i] - this.path[2 * f], p[i + 1], p[i + 2] - this.path[2 * f + 1]];
        for (let k = 0; k < 3; k++) {
          lo[k] = Math.min(lo[k], rel[k]);
          hi[k] = Math.max(hi[k], rel[k]);
        }
        floorLo[0] = Math.min(floorLo[0], p[i]);
        floorHi[0] = Math.max(floorHi[0], p[i]);
        floorLo[1] = Math.min(floorLo[1], p[i + 2]);
        floorHi[1] = Math.max(floorHi[1], p[i + 2]);
      }
    }
    this.lo = lo;
    this.hi = hi;
    this.offset = new Vector3((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2);
    this.target = new Vector3();
    const size = Math.max(4, Math.ceil(Math.max(floorHi[0] - floorLo[0], floorHi[1] - floorLo[1]) + 2));
    const grid = new GridHelper(size, size * 2, 0x9d978a, 0xd3cec3);
    grid.position.set(Math.round((floorLo[0] + floorHi[0]) / 2), lo[1], Math.round((floorLo[1] + floorHi[1]) / 2));
    this.scene.add(grid);
    // forward = left x up (the convention of dancesearch/skeleton.py): from the hips at frame 0
    const l = names.indexOf("left_hip");
    const r = names.indexOf("right_hip");
    const lx = p[l * 3] - p[r * 3];
    const lz = p[l * 3 + 2] - p[r * 3 + 2];
    this.facing = Math.hypot(lx, lz) > 1e-6 ? Math.atan2(-lz, lx) : 0;
    this.view = this.facing + Math.PI / 5; // from the front, a little to the left
    // a dancer who travels is watched from the side of the travel, so the path runs across
    // the picture (where it is widest) rather than away from the camera
    const travel = this._travel(p);
    if (travel) {
      const sides = [travel.yaw + Math.PI / 2, travel.yaw - Math.PI / 2];
      const gap = (a) => Math.abs(Math.atan2(Math.sin(a - this.facing), Math.cos(a - this.facing)));
      this.view = gap(sides[0]) <= gap(sides[1]) ? sides[0] : sides[1];
    }
  }

  /** The pelvis on the floor (x, z per frame, flat 2T), averaged over FOLLOW_S centred on each
   * frame (less near the ends, so the first and last frames are centred too). */
  _path(p) {
    const stride = this.nJoints * 3; // the pelvis is joint 0
    const most = Math.round((FOLLOW_S * this.fps) / 2);
    const path = new Float32Array(this.frames * 2);
    for (let f = 0; f < this.frames; f++) {
      const half = Math.min(most, f, this.frames - 1 - f);
      const a = f - half;
      const b = f + half;
      for (let g = a; g <= b; g++) {
        path[2 * f] += p[g * stride] / (b - a + 1);
        path[2 * f + 1] += p[g * stride + 2] / (b - a + 1);
      }
    }
    return path;
  }

  /** The pelvis path's main direction (yaw about +Y) when it spans over a metre, else null. */
  _travel(p) {
    const stride = this.nJoints * 3; // the pelvis is joint 0
    let mx = 0;
    let mz = 0;
    for (let f = 0; f < this.frames; f++) {
      mx += p[f * stride] / this.frames;
      mz += p[f * stride + 2] / this.frames;
    }
    let xx = 0;
    let xz = 0;
    let zz = 0;
    for (let f = 0; f < this.frames; f++) {
      const dx = p[f * stride] - mx;
      const dz = p[f * stride + 2] - mz;
      xx += dx * dx;
      xz += dx * dz;
      zz += dz * dz;
    }
    const angle = 0.5 * Math.atan2(2 * xz, xx - zz); // principal axis, from +X towards +Z
    const ax = Math.cos(angle);
    const az = Math.sin(angle);
    let lo = Infinity;
    let hi = -Infinity;
    for (let f = 0; f < this.frames; f++) {
      const along = p[f * stride] * ax + p[f * stride + 2] * az;
      lo = Math.min(lo, along);
      hi = Math.max(hi, along);
    }
    return hi - lo > 1 ? { yaw: Math.atan2(ax, az) } : null;
  }

  /** Set the zoom for a canvas of this aspect ratio: the nearest distance at which the body's
   * box, wherever it is on its path, is in view. */
  aim(aspect) {
    const cam = this.camera;
    cam.aspect = aspect;
    const yaw = this.view + this.azimuth;
    const pitch = 0.3;
    const back = new Vector3(Math.cos(pitch) * Math.sin(yaw), Math.sin(pitch), Math.cos(pitch) * Math.cos(yaw));
    const right = new Vector3(0, 1, 0).cross(back).normalize();
    const up = back.clone().cross(right);
    // the nearest distance at which every corner of the body's box is inside the frustum
    const tanV = Math.tan((FOV_DEG * Math.PI) / 360);
    const tanH = tanV * aspect;
    let distance = 0;
    let depth = 0;
    const corner = new Vector3();
    for (let i = 0; i < 8; i++) {
      corner.set(i & 1 ? this.hi[0] : this.lo[0], i & 2 ? this.hi[1] : this.lo[1], i & 4 ? this.hi[2] : this.lo[2]);
      corner.sub(this.offset);
      const z = corner.dot(back); // towards the camera
      distance = Math.max(distance, z + Math.abs(corner.dot(right)) / tanH, z + Math.abs(corner.dot(up)) / tanV);
      depth = Math.max(depth, Math.abs(z));
    }
    distance *= 1.08; // a margin
    this.back = back;
    this.distance = distance;
    cam.near = Math.max(0.01, distance - depth - 1);
    cam.far = distance + depth + 10;
    cam.updateProjectionMatrix();
    this._follow();
  }

  /** Point the camera at the body's box around the path at the frame shown. */
  _follow() {
    const f = this.shown || 0;
    this.target.set(this.path[2 * f], 0, this.path[2 * f + 1]).add(this.offset);
    this.camera.position.copy(this.target).addScaledVector(this.back, this.distance);
    this.camera.lookAt(this.target);
    this.camera.updateMatrixWorld();
  }

  /** Pose the skeleton at frame f (clamped). */
  set(f) {
    f = Math.max(0, Math.min(this.frames - 1, f));
    this.shown = f;
    const p = this.positions;
    const base = f * this.nJoints * 3;
    const m = new Matrix4();
    const a = new Vector3();
    const b = new Vector3();
    const dir = new Vector3();
    const q = new Quaternion();
    const up = new Vector3(0, 1, 0);
    const one = new Vector3(1, 1, 1);
    for (let j = 0; j < this.nJoints; j++) {
      a.fromArray(p, base + j * 3);
      this.jointMesh.setMatrixAt(j, m.makeTranslation(a.x, a.y, a.z));
    }
    this.bones.forEach(([pa, c], i) => {
      a.fromArray(p, base + pa * 3);
      b.fromArray(p, base + c * 3);
      dir.subVectors(b, a);
      const length = dir.length();
      q.setFromUnitVectors(up, length > 1e-9 ? dir.divideScalar(length) : up);
      this.boneMesh.setMatrixAt(i, m.compose(a, q, one.set(1, Math.max(length, 1e-6), 1)));
    });
    this.jointMesh.instanceMatrix.needsUpdate = true;
    this.boneMesh.instanceMatrix.needsUpdate = true;
    if (this.back) this._follow();
  }

  /** Where the pose of the frame shown falls on the canvas: [left, top, right, bottom] as
   * fractions of its width and height (joint centres, as the camera projects them). */
  screenBox() {
    const box = [Infinity, Infinity, -Infinity, -Infinity];
    const v = new Vector3();
    const base = (this.shown || 0) * this.nJoints * 3;
    for (let j = 0; j < this.nJoints; j++) {
      v.fromArray(this.positions, base + j * 3).project(this.camera); // (-1..1, -1..1), y up
      const x = (v.x + 1) / 2;
      const y = (1 - v.y) / 2;
      box[0] = Math.min(box[0], x);
      box[1] = Math.min(box[1], y);
      box[2] = Math.max(box[2], x);
      box[3] = Math.max(box[3], y);
    }
    return box;
  }

  dispose() {
    this.boneMesh.dispose();
    this.jointMesh.dispose();
    this.scene.traverse((o) => o.isGridHelper && (o.geometry.dispose(), o.material.dispose()));
  }
}

// ---------------------------------------------------------------- the render loop

const views = new Set();
let looping = false;
const onScreen = new IntersectionObserver(
  (entries) => {
    for (const e of entries) {
      const view = e.target._view;
      if (!view) continue;
      view.visible = e.isIntersecting;
      if (view.visible) {
        view.dirty = true;
        view.load();
      } else if (view.pauseOffscreen) {
        view.playback.pause(); // no dancing (or music) nobody sees
      }
    }
    wake();
  },
  { rootMargin: "100px" },
);
const resized = new ResizeObserver((entries) => {
  for (const e of entries) if (e.target._view) e.target._view.dirty = true;
  wake();
});

function wake() {
  if (!looping) {
    looping = true;
    requestAnimationFrame(loop);
  }
}

function loop() {
  let busy = false;
  for (const view of views) {
    if (!view.visible || !view.skeleton) continue;
    view.playback.tick();
    const t = view.playback.now();
    const f = Math.min(view.skeleton.frames - 1, Math.floor(t * view.skeleton.fps + 1e-6));
    if (f !== view.frame || view.dirty) {
      view.frame = f;
      view.skeleton.set(f);
      draw(view);
      view.dirty = false;
      view.canvas.dataset.box = view.skeleton.screenBox().map((v) => v.toFixed(3)).join(" "); // for tests
    }
    view.onFrame(f, t);
    busy ||= view.playback.playing;
  }
  if (busy) requestAnimationFrame(loop);
  else looping = false;
}

function draw(view) {
  const r = renderer();
  const canvas = view.canvas;
  const dpr = Math.min(window.devicePixelRatio || 1, 2);
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  if (w !== view.aimedW || h !== view.aimedH) {
    view.skeleton.aim(w / h);
    view.aimedW = w;
    view.aimedH = h;
  }
  const size = r.getSize(new Vector3());
  if (size.x < w || size.y < h) r.setSize(Math.max(size.x, w), Math.max(size.y, h), false);
  const H = r.domElement.height;
  r.setViewport(0, 0, w, h); // GL counts from the bottom-left corner
  r.setScissor(0, 0, w, h);
  r.render(view.skeleton.scene, view.skeleton.camera);
  view.context.drawImage(r.domElement, 0, H - h, w, h, 0, 0, w, h);
}

/**
 * A player: a canvas showing one clip's skeleton, driven by a Playback (its own or shared).
 * The motion loads when the canvas first comes on screen. onFrame(frame, t) runs every
 * animation frame while it plays. Call dispose() when the canvas leaves the page.
 */
export class Player {
  constructor({ clipId, motionUrl = null, playback, label, loadMotion, pauseOffscreen = true }) {
    this.clipId = clipId;
    this.playback = playback;
    this.pauseOffscreen = pauseOffscreen;
    this.frame = -1;
    this.visible = false;
    this.dirty = true;
    this.skeleton = null;
    this.azimuth = 0;
    this.onFrame = () => {};
    this._load = () => loadMotion(clipId, motionUrl);

    this.canvas = document.createElement("canvas");
    this.canvas.className = "stage";
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", `3D skeleton of ${label}. Space plays or pauses; drag or use the arrow keys to turn it.`);
    this.canvas._view = this;
    this.context = this.canvas.getContext("2d");
    this.status = document.createElement("p");
    this.status.className = "stage-status";
    this.status.textContent = "loading the motion…";
    this.element = document.createElement("div");
    this.element.className = "stage-box";
    this.element.append(this.canvas, this.status);
    this._turnable();

    this._unlisten = playback.onChange(() => {
      this.dirty = true;
      wake();
    });
    views.add(this);
    onScreen.observe(this.canvas);
    resized.observe(this.canvas);
  }

  load() {
    if (this._loading) return this._loading;
    if (!webglAvailable()) {
      this.status.textContent = "The 3D view needs WebGL, which this browser has turned off.";
      return (this._loading = Promise.resolve());
    }
    this._loading = this._load().then(
      (motion) => {
        if (this.disposed) return;
        this.skeleton = new Skeleton(motion);
        this.skeleton.azimuth = this.azimuth;
        this.status.hidden = true;
        this.dirty = true;
        wake();
      },
      (err) => {
        this.status.textContent = `The motion could not be loaded: ${err.message}`;
        this.status.classList.add("error");
      },
    );
    return this._loading;
  }

  _turnable() {
    const turn = (radians) => {
      this.azimuth += radians;
      if (this.skeleton) {
        this.skeleton.azimuth = this.azimuth;
        this.aimedW = 0; // re-aim on the next draw
        this.dirty = true;
        wake();
      }
    };
    let lastX = null;
    this.canvas.addEventListener("pointerdown", (e) => {
      lastX = e.clientX;
      this.canvas.setPointerCapture(e.pointerId);
    });
    this.canvas.addEventListener("pointermove", (e) => {
      if (lastX === null) return;
      turn(-(e.clientX - lastX) * 0.01);
      lastX = e.clientX;
    });
    const stop = () => (lastX = null);
    this.canvas.addEventListener("pointerup", stop);
    this.canvas.addEventListener("pointercancel", stop);
    this.canvas.addEventListener("keydown", (e) => {
      if (e.key === " " || e.key === "Enter") {
        e.preventDefault();
        this.playback.toggle();
      } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        e.preventDefault();
        turn(e.key === "ArrowLeft" ? 0.2 : -0.2);
      }
    });
  }

  dispose() {
    this.disposed = true;
    this.playback.pause();
    this._unlisten();
    views.delete(this);
    onScreen.unobserve(this.canvas);
    resized.unobserve(this.canvas);
    if (this.skeleton) this.skeleton.dispose();
  }
}
