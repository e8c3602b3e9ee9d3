"""Measured descriptors of a clip's motion and music: the numbers the tagger's rules test.

Pure functions over arrays (motion: (T, 22, 3) metres, Y up, floor at y = 0); the music ones live
in `music_descriptors`, and `clip_descriptors` measures a clip with both. The annotate pipeline
feeds them each clip's slice of the library.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import percentile_filter, uniform_filter1d
from scipy.signal import butter, find_peaks, savgol_filter, sosfiltfilt

from dancesearch.annotate.music_descriptors import (
    MUSIC_DESCRIPTORS,
    clip_beats,
    music_descriptors,
)
from dancesearch.features.motion import MotionConfig
from dancesearch.skeleton import J, heading, rotate_y

MOTION_DESCRIPTORS: tuple[str, ...] = (
    "arm_raise_frac", "arm_extension_frac", "arm_isolation", "arm_wave", "arm_speed",
    "hold_frac", "step_rate", "kick_count", "jump_count", "spin_count", "footwork", "sway",
    "twist", "bend_frac", "contraction", "sharpness", "spread_m", "root_speed", "yaw_rate",
    "height_range_m", "direction", "joint_speed", "body_speed", "hand_wave_s",
)  # fmt: skip
SMOOTH_S = 0.2  # Savitzky-Golay window: removes capture jitter, keeps 4 Hz dance accents
# Jerk, a third derivative, is measured in one analysis band for every rig: retargeted robot data
# (G1) carries 3 % of its velocity power above 6 Hz, against under 1 % for human capture, and
# read as sharp in 79 % of its clips; below 4 Hz the rigs agree (G1 56 %, Bandai 58 %).
SHARPNESS_CUTOFF_HZ = 4.0
# A hand wave: the raised forearm swings side to side 1-4 times a second, steadily.
WAVE_HZ = (1.0, 4.0)
TRAVEL_WINDOW_S = 1.0  # travel and turning are net changes over this window (see _windowed)
_CONTACT = MotionConfig()  # the foot-contact heights and speed of the motion features

_ARMS = [J[n] for n in ("left_elbow", "right_elbow", "left_wrist", "right_wrist")]
_LOWER = [J[n] for n in ("pelvis", "left_knee", "right_knee", "left_ankle", "right_ankle")]
_FEET = [J[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
_SIDES = (("left", 1.0), ("right", -1.0))  # body-frame x of the left side is positive


# --------------------------------------------------------------------------- helpers
def _smooth(joints: np.ndarray, fps: float, seconds: float = SMOOTH_S) -> np.ndarray:
    """(T, 22, 3) float64 positions after a quadratic Savitzky-Golay filter over `seconds`.

    Differentiating raw marker or robot positions turns millimetre jitter into large
    accelerations and jerks; a 0.2 s window leaves real accents (up to about 4 Hz) intact.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3) or len(joints) < 2:
        raise ValueError(f"joints have shape {joints.shape}, expected (T >= 2, 22, 3)")
    window = int(round(seconds * fps)) | 1  # odd
    window = min(window, len(joints) - (1 - len(joints) % 2))
    if window <= 3:
        return joints
    return savgol_filter(joints, window, polyorder=2, axis=0, mode="interp")


def _refloor(p: np.ndarray, fps: float) -> np.ndarray:
    """Heights measured from the floor under the feet, which may drift within a clip.

    The floor at frame t is the 20th percentile over 1.5 s of the lowest foot or ankle point,
    smoothed over 0.5 s: jumping up to 80 % of the time leaves it on the ground, and a single
    low glitch does not pull it down. m2d floors drift by up to 0.3 m within a sequence; for a
    level floor this changes nothing.
    """
    lowest = p[:, _FEET, 1].min(axis=1)
    size = max(1, int(round(1.5 * fps)))
    floor = percentile_filter(lowest, 20, size=size, mode="reflect")
    floor = uniform_filter1d(floor, max(1, int(round(0.5 * fps))), mode="reflect")
    out = p.copy()
    out[..., 1] -= floor[:, None]
    return out


def _diff(x: np.ndarray, fps: float) -> np.ndarray:
    """Time derivative along axis 0 (central differences), per second."""
    return np.gradient(x, 1.0 / fps, axis=0)


def _norm(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x, axis=-1)


def _window(fps: float, n: int) -> int:
    """Frames of TRAVEL_WINDOW_S, shortened to the clip when the clip is shorter."""
    return max(1, min(int(round(TRAVEL_WINDOW_S * fps)), n - 1))


def _windowed(x: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    """Net change x[t + w] - x[t] over TRAVEL_WINDOW_S windows, and the window in seconds.

    The mean of |net change| / window is the mean |dx/dt| after a one-second moving average:
    rocking on the spot and hip wiggles (about 1-2 Hz) cancel, real travel and turns remain.
    """
    w = _window(fps, len(x))
    return x[w:] - x[:-w], w / fps


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) frame ranges where a boolean (T,) mask is True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _body_frame(vectors: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """World vectors (T, ..., 3) in the body's heading frame: x to the left, z forward."""
    return rotate_y(vectors, -yaw)


# --------------------------------------------------------------------------- motion
def motion_descriptors(joints: np.ndarray, fps: float) -> dict[str, float | str]:
    """Descriptors of one clip's motion, named as the taxonomy rules name them.

    joints: (T >= 2, 22, 3) metres, Y up, at fps frames per second. Positions are smoothed
    first (`_smooth`) and heights re-measured from the floor under the feet (`_refloor`); speeds
    are world-frame. An "arm length" is the median shoulder-elbow-wrist length. Units:
      arm_raise_frac   fraction of frames with a wrist above the crown of the head, taken as
                       0.7 arm lengths above its shoulder
      arm_extension_frac  fraction of frames with an arm nearly straight (shoulder-wrist distance
                       >= 95 % of the arm's length) and raised more than 70 degrees from hanging
                       (about shoulder height: a walking arm swings straight up to 60 degrees)
      arm_isolation    mean elbow+wrist speed / (mean pelvis+knee+ankle speed + 0.1 m/s); the
                       0.1 m/s floor keeps tracking jitter of still legs from dividing
      arm_wave         m, RMS of the 0.5-4 Hz band of wrist-minus-shoulder height (larger arm)
      hand_wave_s      s, longest total time one arm waves: its forearm upright (wrist above
                       the elbow by half a forearm or more) for >= 1 s, leaving out 0.3 s at
                       either end (raising and lowering), while the wrist swings side to side
                       about the elbow periodically (autocorrelation >= 0.4 at a period of
                       0.25-1 s) by >= 3 % of a forearm (RMS, 1-4 Hz band)
      arm_speed        m/s, mean elbow and wrist speed
      hold_frac        fraction of frames in which, for both arms, the elbow is up (upper arm
                       >= 60 degrees from hanging), the wrist is from 0.5 arm lengths below
                       its shoulder to the crown, not behind the back, and steady: < 0.5 m/s
                       relative to the chest in the shoulders' frame (which turns with a
                       turning couple)
      step_rate        foot placements per second: a foot lands (low and slow, the contact rule
                       of the motion features) after >= 0.1 s off and >= 0.1 m of travel
      kick_count       kicks: an ankle above 40 % of leg length, moving >= 1.5 m/s, not behind
                       the pelvis, while the other ankle is on the floor (events >= 0.3 s apart)
      jump_count       flights: all four ankle/foot points >= 4 cm above their own contact
                       level (5th percentile height) for >= 0.13 s (4 frames at 30 fps), with
                       the pelvis falling at >= 0.3 g on average meanwhile (ballistic)
      spin_count       turns of >= 300 degrees of heading within 1.5 s, counted as events
      footwork         mean ankle+foot speed / (root_speed + 0.25 m/s)
      sway             m, standard deviation of the chest's (spine3) sideways offset from the
                       pelvis, in the body frame
      twist            degrees, standard deviation of the shoulder line's yaw against the hips'
      bend_frac        fraction of frames with the pelvis-to-neck line > 30 degrees from vertical
      contraction      1 - (5th percentile / median) of the pelvis-to-neck distance
      sharpness        1/s^2, mean |jerk| / mean |velocity| of the joints relative to the pelvis
                       in the body frame, after a zero-phase 4 Hz low-pass (the same band for
                       every capture rig): size-free, higher when the same path starts and
                       stops abruptly than when eased (and, like the eye, higher for quicker
                       repetitions of one movement); travel and turning do not count
      spread_m         m, 90th percentile horizontal distance of the pelvis from its mean
      root_speed       m/s, mean horizontal pelvis speed over 1-s windows (net travel)
      yaw_rate         deg/s, mean |d heading/dt| after a 1-s moving average (net turning)
      height_range_m   m, 95th minus 5th percentile of pelvis height
      direction        "forward", "backward", "sideways" (body frame) holding >= half of the
                       travel over 1-s windows, or "none" (no such share, or root_speed < 0.1)
      joint_speed      m/s, mean speed of all 22 joints (world frame: includes travel)
      body_speed       leg lengths per second, mean speed of the joints relative to the pelvis
                       in the body frame: how hard the body itself works, whatever it travels
                       or turns, on one scale for robot and human bodies
    """
    p = _refloor(_smooth(joints, fps), fps)
    vel = _diff(p, fps)
    speed = _norm(vel)  # (T, 22)
    yaw = heading(p)
    local = _body_frame(p - p[:, J["pelvis"]][:, None], yaw)  # (T, 22, 3), pelvis at 0
    pelvis_xz = p[:, J["pelvis"]][:, [0, 2]]
    net_xz, window_s = _windowed(pelvis_xz, fps)
    root_speed = float(_norm(net_xz).mean() / window_s)
    net_yaw, _ = _windowed(yaw, fps)
    pelvis_y = p[:, J["pelvis"], 1]
    feet_speed = float(speed[:, _FEET].mean())
    return {
        "arm_raise_frac": float(
            ((_wrist_rise(p, "left") > 0.7) | (_wrist_rise(p, "right") > 0.7)).mean()
        ),
        "arm_extension_frac": _arm_extension_frac(p),
        "arm_isolation": float(speed[:, _ARMS].mean() / (speed[:, _LOWER].mean() + 0.1)),
        "arm_wave": _arm_wave(p, fps),
        "hand_wave_s": _hand_wave_s(p, yaw, fps),
        "arm_speed": float(speed[:, _ARMS].mean()),
        "hold_frac": _hold_frac(p, fps),
        "step_rate": _step_count(p, speed, fps) / (len(p) / fps),
        "kick_count": float(_kick_count(p, speed, yaw, fps)),
        "jump_count": float(_jump_count(p, fps)),
        "spin_count": float(_spin_count(yaw, fps)),
        "footwork": feet_speed / (root_speed + 0.25),
        "sway": _sway(p, yaw),
        "twist": _twist(p),
        "bend_frac": _bend_frac(p),
        "contraction": _contraction(p),
        "sharpness": _sharpness(joints, fps),
        "spread_m": float(np.percentile(_norm(pelvis_xz - pelvis_xz.mean(axis=0)), 90)),
        "root_speed": root_speed,
        "yaw_rate": float(np.degrees(np.abs(net_yaw).mean() / window_s)),
        "height_range_m": float(np.percentile(pelvis_y, 95) - np.percentile(pelvis_y, 5)),
        "direction": _direction(net_xz, yaw, fps, root_speed),
        "joint_speed": float(speed.mean()),
        "body_speed": float(_norm(_diff(local, fps))[:, 1:].mean() / _leg_length(p)),
    }


def _arm_extension_frac(p: np.ndarray) -> float:
    extended = np.zeros(len(p), dtype=bool)
    for side, _ in _SIDES:
        s, e, w = (p[:, J[f"{side}_{n}"]] for n in ("shoulder", "elbow", "wrist"))
        reach = _norm(w - s)
        straight = reach >= 0.95 * (_norm(e - s) + _norm(w - e))
        # cos of the angle from hanging straight down; raised beyond 70 degrees
        raised = -(w - s)[:, 1] / np.maximum(reach, 1e-6) < math.cos(math.radians(70))
        extended |= straight & raised
    return float(extended.mean())


def _arm_wave(p: np.ndarray, fps: float) -> float:
    wrists, shoulders = (
        [J["left_wrist"], J["right_wrist"]],
        [J["left_shoulder"], J["right_shoulder"]],
    )
    rel = p[:, wrists, 1] - p[:, shoulders, 1]  # (T, 2)
    t = np.arange(len(p), dtype=np.float64)
    # Remove the linear trend so one slow raise is not read as an oscillation.
    slope, offset = np.polyfit(t, rel, 1)
    rel = rel - (slope * t[:, None] + offset)
    spectrum = np.fft.rfft(rel, axis=0)
    freqs = np.fft.rfftfreq(len(p), 1.0 / fps)
    band = (freqs >= 0.5) & (freqs <= 4.0)
    # Parseval: a one-sided bin k holds 2 |X_k|^2 / T^2 of the mean square
    rms = np.sqrt(2.0 * (np.abs(spectrum[band]) ** 2).sum(axis=0)) / len(p)
    return float(rms.max())


def _chest_yaw(p: np.ndarray) -> np.ndarray:
    """(T,) unwrapped yaw of the shoulder line: the frame a held or waving arm moves in."""
    shoulders = p[:, J["left_shoulder"]] - p[:, J["right_shoulder"]]
    return np.unwrap(np.arctan2(-shoulders[:, 2], shoulders[:, 0]))


def _hand_wave_s(p: np.ndarray, yaw: np.ndarray, fps: float) -> float:
    if len(p) < fps:
        return 0.0
    sos = butter(2, WAVE_HZ, btype="bandpass", fs=fps, output="sos")
    lags = np.arange(int(round(0.25 * fps)), int(round(1.0 * fps)) + 1)
    best = 0.0
    for side, _ in _SIDES:
        fore = _body_frame(p[:, J[f"{side}_wrist"]] - p[:, J[f"{side}_elbow"]], yaw)
        length = max(float(np.median(_norm(fore))), 1e-6)
        lateral = sosfiltfilt(sos, fore[:, 0] / length, padlen=min(15, len(p) - 1))
        waving = 0.0
        edge = int(round(0.3 * fps))  # raising and lowering the arm are not the wave
        for a, b in _runs(fore[:, 1] >= 0.5 * length):
            a, b = a + edge, b - edge
            if b - a < fps:
                continue
            seg = lateral[a:b] - lateral[a:b].mean()
            if seg.std() < 0.03:
                continue
            ac = np.correlate(seg, seg, mode="full")[len(seg) - 1 :] / (seg @ seg)
            if ac[lags[lags < len(seg)]].max(initial=0.0) >= 0.4:
                waving += (b - a) / fps
        best = max(best, waving)
    return best


def _arm_length(p: np.ndarray, side: str) -> tuple[float, float]:
    """Median upper-arm and whole-arm (shoulder-elbow-wrist) lengths of one side, m."""
    upper = _norm(p[:, J[f"{side}_elbow"]] - p[:, J[f"{side}_shoulder"]])
    fore = _norm(p[:, J[f"{side}_wrist"]] - p[:, J[f"{side}_elbow"]])
    return float(np.median(upper)), float(np.median(upper + fore))


def _wrist_rise(p: np.ndarray, side: str) -> np.ndarray:
    """(T,) wrist height above the shoulder in arm lengths: -1 hanging, about 0.7 at the crown.

    Arm lengths rather than the head joint: the head joint sits at the skull base and its
    height above the shoulders differs between sources (m2d puts it 8 cm above the neck).
    """
    rise = p[:, J[f"{side}_wrist"], 1] - p[:, J[f"{side}_shoulder"], 1]
    return rise / max(_arm_length(p, side)[1], 1e-6)


def _hold_frac(p: np.ndarray, fps: float) -> float:
    chest = J["spine3"]
    chest_yaw = _chest_yaw(p)  # a hold turns with the shoulders (the hips twist under it)
    held = np.ones(len(p), dtype=bool)
    for side, _ in _SIDES:
        s, e, w = (J[f"{side}_{n}"] for n in ("shoulder", "elbow", "wrist"))
        upper, _ = _arm_length(p, side)
        elbow_up = p[:, e, 1] - p[:, s, 1] >= -0.5 * upper  # upper arm >= 60 deg from hanging
        rise = _wrist_rise(p, side)
        wrist_band = (rise >= -0.5) & (rise <= 0.7)  # chest height up to, not over, the head
        local = _body_frame(p[:, w] - p[:, chest], chest_yaw)
        not_behind = local[:, 2] >= -0.15
        steady = _norm(_diff(local, fps)) < 0.5
        held &= elbow_up & wrist_band & not_behind & steady
    return float(held.mean())


def _contacts(p: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """(T, 2) left/right foot on the floor: ankle or toe low, and the ankle slow."""
    out = []
    for side, _ in _SIDES:
        a, f = J[f"{side}_ankle"], J[f"{side}_foot"]
        low = (p[:, a, 1] < _CONTACT.contact_ankle_height_m) | (
            p[:, f, 1] < _CONTACT.contact_foot_height_m
        )
        out.append(low & (speed[:, a] < _CONTACT.contact_speed_m_s))
    return np.stack(out, axis=1)


def _step_count(p: np.ndarray, speed: np.ndarray, fps: float) -> float:
    contact = _contacts(p, speed)
    min_frames = max(1, int(round(0.1 * fps)))
    steps = 0
    for k, (side, _) in enumerate(_SIDES):
        ankle_xz = p[:, J[f"{side}_ankle"]][:, [0, 2]]
        for start, stop in _runs(~contact[:, k]):
            if stop >= len(p) or stop - start < min_frames:
                continue  # still in the air at the end, or a flicker of the contact test
            if _norm(ankle_xz[stop] - ankle_xz[max(start - 1, 0)]) >= 0.1:
                steps += 1
    return float(steps)


def _leg_length(p: np.ndarray) -> float:
    """Median hip-knee-ankle length, averaged over both legs: scales robot and human bodies."""
    lengths = [
        _norm(p[:, J[f"{s}_knee"]] - p[:, J[f"{s}_hip"]])
        + _norm(p[:, J[f"{s}_ankle"]] - p[:, J[f"{s}_knee"]])
        for s, _ in _SIDES
    ]
    return float(np.median(np.concatenate(lengths)))


def _events(mask: np.ndarray, min_gap: int) -> int:
    """Runs of a (T,) mask, merging runs closer than min_gap frames."""
    count, last_stop = 0, -min_gap - 1
    for start, stop in _runs(mask):
        if start - last_stop >= min_gap:
            count += 1
        last_stop = stop
    return count


def _kick_count(p: np.ndarray, speed: np.ndarray, yaw: np.ndarray, fps: float) -> int:
    high = 0.4 * _leg_length(p)
    kicking = np.zeros(len(p), dtype=bool)
    for (side, _), (other, _) in zip(_SIDES, _SIDES[::-1], strict=True):
        a = J[f"{side}_ankle"]
        forward = _body_frame(p[:, a] - p[:, J["pelvis"]], yaw)[:, 2]
        support = p[:, J[f"{other}_ankle"], 1] < _CONTACT.contact_ankle_height_m
        # a running heel flicks up behind the body: not a kick
        kicking |= (p[:, a, 1] > high) & (speed[:, a] >= 1.5) & (forward >= -0.1) & support
    return _events(kicking, int(round(0.3 * fps)))


def _jump_count(p: np.ndarray, fps: float) -> int:
    heights = p[:, _FEET, 1]
    # Each point's own contact level: ankle markers sit 5-10 cm up, robot toes at 0.
    airborne = (heights > np.percentile(heights, 5, axis=0) + 0.04).all(axis=1)
    min_frames = math.ceil(4 / 30 * fps - 1e-9)
    pelvis_acc = _diff(_diff(p[:, J["pelvis"], 1], fps), fps)
    # A flight is ballistic: the pelvis falls freely. Sliding, noisy marker feet (m2d) lift all
    # four points for a moment without it.
    return sum(
        1
        for start, stop in _runs(airborne)
        if stop - start >= min_frames and pelvis_acc[start:stop].mean() < -0.3 * 9.81
    )


def _spin_count(yaw: np.ndarray, fps: float) -> int:
    """Greedy, non-overlapping: from frame i, the first frame within 1.5 s that is 300 degrees
    away ends a spin and the search resumes there."""
    w = int(round(1.5 * fps))
    turn = math.radians(300.0)
    padded = np.concatenate([yaw, np.full(w, np.nan)])
    ahead = np.lib.stride_tricks.sliding_window_view(padded[1:], w)[: len(yaw)]  # (T, w)
    with np.errstate(invalid="ignore"):
        reached = np.abs(ahead - yaw[:, None]) >= turn
    first = np.where(reached.any(axis=1), reached.argmax(axis=1) + 1, -1)  # offset to the end
    count, i = 0, 0
    while i < len(yaw):
        if first[i] > 0:
            count += 1
            i += int(first[i])
        else:
            i += 1
    return count


def _sway(p: np.ndarray, yaw: np.ndarray) -> float:
    lateral = _body_frame(p[:, J["spine3"]] - p[:, J["pelvis"]], yaw)[:, 0]
    return float(lateral.std())


def _twist(p: np.ndarray) -> float:
    def line_yaw(left: str, right: str) -> np.ndarray:
        d = p[:, J[left]] - p[:, J[right]]
        return np.arctan2(-d[:, 2], d[:, 0])

    rel = line_yaw("left_shoulder", "right_shoulder") - line_yaw("left_hip", "right_hip")
    rel = np.angle(np.exp(1j * rel))  # wrap to (-pi, pi]
    return float(np.degrees(rel.std()))


def _bend_frac(p: np.ndarray) -> float:
    trunk = p[:, J["neck"]] - p[:, J["pelvis"]]
    cos_tilt = trunk[:, 1] / np.maximum(_norm(trunk), 1e-6)
    return float((cos_tilt < math.cos(math.radians(30))).mean())


def _contraction(p: np.ndarray) -> float:
    length = _norm(p[:, J["neck"]] - p[:, J["pelvis"]])
    return float(1.0 - np.percentile(length, 5) / max(float(np.median(length)), 1e-6))


def _sharpness(joints: np.ndarray, fps: float) -> float:
    joints = np.asarray(joints, dtype=np.float64)
    local = _body_frame(joints - joints[:, J["pelvis"]][:, None], heading(joints))
    if len(local) > 15:  # the filter needs a few frames of padding
        sos = butter(4, SHARPNESS_CUTOFF_HZ, fs=fps, output="sos")
        local = sosfiltfilt(sos, local, axis=0, padlen=min(15, len(local) - 1))
    vel = _diff(local, fps)[:, 1:]  # the pelvis is fixed at the origin
    jerk = _diff(_diff(vel, fps), fps)
    speed = float(_norm(vel).mean())
    if speed < 1e-3:
        return float("nan")  # no movement: neither sharp nor smooth
    return float(_norm(jerk).mean() / speed)


def _direction(net_xz: np.ndarray, yaw: np.ndarray, fps: float, root_speed: float) -> str:
    if root_speed < 0.1:
        return "none"
    w = _window(fps, len(yaw))
    mid_yaw = (yaw[w:] + yaw[:-w]) / 2  # heading halfway through each window
    moves = np.stack([net_xz[:, 0], np.zeros(len(net_xz)), net_xz[:, 1]], axis=1)
    local = _body_frame(moves, mid_yaw)
    angle = np.degrees(np.arctan2(local[:, 0], local[:, 2]))  # 0 forward, +-180 backward
    dist = _norm(local)
    shares = {
        "forward": dist[np.abs(angle) <= 45].sum(),
        "backward": dist[np.abs(angle) >= 135].sum(),
        "sideways": dist[(np.abs(angle) > 45) & (np.abs(angle) < 135)].sum(),
    }
    best = max(shares, key=lambda k: shares[k])
    return best if shares[best] >= 0.5 * dist.sum() else "none"


def beat_alignment(joints: np.ndarray, fps: float, beats_s: np.ndarray) -> float:
    """How much more often motion accents land on a beat than chance would place them.

    joints: (T, 22, 3) metres at fps; beats_s: (B,) seconds from the clip's first frame.
    Accents are local minima of the mean joint speed (the body stopping, as in AIST++'s beat
    alignment), at least 0.2 s apart and 10 % of the median speed deep. Returns
    P(accent within 0.1 s of a beat) / P(a random frame is), over the span the beats cover
    (half a beat beyond the first and last): 1 is chance, higher is on the beat.
    NaN with fewer than 4 beats or no accent in the span.
    """
    duration = len(joints) / fps
    beats = clip_beats(beats_s, duration)
    if len(beats) < 4:
        return float("nan")
    speed = _norm(_diff(_smooth(joints, fps), fps)).mean(axis=1)
    accents, _ = find_peaks(
        -speed,
        distance=max(1, int(round(0.2 * fps))),
        prominence=0.1 * float(np.median(speed)) + 1e-9,
    )
    half = float(np.diff(beats).mean()) / 2
    lo, hi = beats[0] - half, beats[-1] + half
    frames = np.arange(len(joints)) / fps
    frames = frames[(frames >= lo) & (frames <= hi)]
    accent_t = accents / fps
    accent_t = accent_t[(accent_t >= lo) & (accent_t <= hi)]
    if len(accent_t) == 0 or len(frames) == 0:
        return float("nan")

    def near_beat(t: np.ndarray) -> np.ndarray:
        return np.abs(t[:, None] - beats[None, :]).min(axis=1) <= 0.1 + 1e-6

    chance = near_beat(frames).mean()
    return float(near_beat(accent_t).mean() / chance)


# --------------------------------------------------------------------------- one clip
def clip_descriptors(
    joints: np.ndarray,
    fps: float,
    music: np.ndarray | None = None,
    beats_s: np.ndarray | None = None,
    bpm: float = float("nan"),
) -> dict[str, float | str]:
    """Every descriptor of one clip: MOTION_DESCRIPTORS, then MUSIC_DESCRIPTORS (NaN when the
    clip has no music).

    joints: (T, 22, 3) metres, Y up, at fps; music: (T, 35) features of the same frames, or None
    for a silent clip; beats_s: (B,) beat times in seconds from the clip's first frame; bpm: the
    clip's tempo, beats per minute.
    """
    out: dict[str, float | str] = dict(motion_descriptors(joints, fps))
    out.update({name: float("nan") for name in MUSIC_DESCRIPTORS})
    if music is not None:
        beats = np.zeros(0) if beats_s is None else np.asarray(beats_s, dtype=np.float64)
        out.update(music_descriptors(music, beats, bpm, fps))
        out["beat_alignment"] = beat_alignment(joints, fps, beats)
    return out
