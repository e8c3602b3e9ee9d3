"""Training and evaluation data read from a library: clips of a split with their per-frame
features, captions, normalisation, crop augmentation, balanced sampling and cross-validation
folds over whole sequence groups."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from dancesearch.annotate.splits import genre_key
from dancesearch.errors import LibraryError
from dancesearch.features.motion import MOTION_FEATURE_NAMES
from dancesearch.storage.library import Library

FPS = 30.0


@dataclass
class ClipSet:
    """N clips with their captions and their sequences' feature arrays.
    streams[seq_id] = (motion (T, D) float32, music (T, 35) float32 or None); caption_claims:
    the tag ids each caption claims (generated captions; empty for people's words); tags: each
    clip's tag ids. Both empty lists when not loaded."""

    clips: pd.DataFrame  # clip_id, seq_id, start_frame, n_frames, has_music, source, genre, ...
    captions: list[list[str]]
    caption_sources: list[list[str]]
    streams: dict[str, tuple[np.ndarray, np.ndarray | None]] = field(repr=False)
    caption_claims: list[list[frozenset[str]]] = field(default_factory=list, repr=False)
    tags: list[frozenset[str]] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.clips)

    def subset(self, positions: np.ndarray) -> ClipSet:
        return ClipSet(
            self.clips.iloc[positions].reset_index(drop=True),
            [self.captions[i] for i in positions],
            [self.caption_sources[i] for i in positions],
            self.streams,
            [self.caption_claims[i] for i in positions] if self.caption_claims else [],
            [self.tags[i] for i in positions] if self.tags else [],
        )


def load_clipset(
    library: Library,
    split_of: dict[str, str] | None = None,
    clip_ids: Collection[str] | None = None,
) -> ClipSet:
    """Every clip that has captions, with its split (split_of: seq_id -> split; None for the
    library's own split table) in column "split"; clip_ids: only those clips (and only their
    sequences' features are read)."""
    clips = library.clips()
    captions = library.table("captions")
    if clips.empty or captions.empty:
        raise LibraryError(f"{library.root}: no annotated clips; run ingest, then annotate")
    if clip_ids is not None:
        clips = clips[clips["clip_id"].astype(str).isin(set(clip_ids))]
        captions = captions[captions["clip_id"].astype(str).isin(set(clip_ids))]
    if split_of is None:
        split_of = dict(library.table("splits")[["seq_id", "split"]].itertuples(index=False))
    clips = clips.assign(
        split=clips["seq_id"].map(split_of).fillna("none"),
        genre_key=[genre_key(r) for r in clips.to_dict("records")],
    )
    by_clip = captions.groupby("clip_id")
    clips = clips[clips["clip_id"].isin(by_clip.groups)].reset_index(drop=True)
    key = library.feature_key()
    streams: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for seq_id in clips["seq_id"].unique():
        arrays = library.load_features(seq_id, key)
        streams[seq_id] = (arrays["motion"], arrays.get("music"))
    texts = [list(by_clip.get_group(c)["caption"]) for c in clips["clip_id"]]
    sources = [list(by_clip.get_group(c)["source"]) for c in clips["clip_id"]]
    claims = [
        [
            frozenset(json.loads(t) if isinstance(t, str) else t)
            for t in by_clip.get_group(c)["tags"]
        ]
        for c in clips["clip_id"]
    ]
    tag_table = library.table("tags")
    tags_of = (
        tag_table.groupby("clip_id")["tag"].apply(frozenset).to_dict() if len(tag_table) else {}
    )
    tags = [tags_of.get(c, frozenset()) for c in clips["clip_id"]]
    return ClipSet(clips, texts, sources, streams, claims, tags)


@dataclass(frozen=True)
class Normaliser:
    """Per-feature mean and std of the training frames."""

    motion_mean: np.ndarray
    motion_std: np.ndarray
    music_mean: np.ndarray
    music_std: np.ndarray

    @classmethod
    def fit(cls, data: ClipSet) -> Normaliser:
        motion, music = [], []
        c = data.clips
        for seq_id, start, n, with_music in zip(
            c["seq_id"].tolist(),
            c["start_frame"].tolist(),
            c["n_frames"].tolist(),
            c["has_music"].tolist(),
            strict=True,
        ):
            d, m = data.streams[str(seq_id)]
            sl = slice(int(start), int(start) + int(n))
            motion.append(d[sl])
            if m is not None and with_music:
                music.append(m[sl])
        d_all = np.concatenate(motion)
        m_all = np.concatenate(music) if music else np.zeros((1, 35), np.float32)
        return cls(
            d_all.mean(0),
            np.maximum(d_all.std(0), 1e-3),
            m_all.mean(0),
            np.maximum(m_all.std(0), 1e-3),
        )

    def to_dict(self) -> dict[str, list[float]]:
        return {k: getattr(self, k).astype(float).tolist() for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Normaliser:
        return cls(**{k: np.asarray(v, dtype=np.float32) for k, v in data.items()})


SIDED = re.compile(r"\b(left|right|clockwise|anticlockwise|counterclockwise)\b", re.IGNORECASE)


def mirror_map(names: tuple[str, ...] = MOTION_FEATURE_NAMES) -> tuple[np.ndarray, np.ndarray]:
    """The left-right mirror of the motion features as a column permutation and sign:
    mirrored = features[:, perm] * sign. Left and right joints swap; the body frame's x axis
    (to the body's left) and the turning rate change sign."""
    index = {n: i for i, n in enumerate(names)}

    def other(name: str) -> str:
        swapped = name.replace("left_", "\0").replace("right_", "left_").replace("\0", "right_")
        return swapped if swapped in index else name

    perm = np.array([index[other(n)] for n in names])
    flips = tuple(n.endswith("_x") or n == "root_yaw_rate" for n in names)
    return perm, np.where(flips, -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Crop:
    """Temporal crop augmentation: shift a window by up to shift_s within its sequence and keep
    between min_share and all of its length."""

    shift_s: float = 2.0
    min_share: float = 0.8


@dataclass
class Batch:
    """music (B, T, 35) or None when no clip has music, motion (B, T, D), mask (B, T) bool True
    at real frames, has_music (B,) bool."""

    music: torch.Tensor | None
    motion: torch.Tensor
    mask: torch.Tensor
    has_music: torch.Tensor

    def to(self, device: str) -> Batch:
        music = None if self.music is None else self.music.to(device)
        return Batch(music, self.motion.to(device), self.mask.to(device), self.has_music.to(device))


def make_batch(
    data: ClipSet,
    positions: np.ndarray,
    norm: Normaliser,
    crop: Crop | None = None,
    rng: np.random.Generator | None = None,
    pad_to: int = 0,
    mirror: bool = False,
) -> Batch:
    """The clips at `positions`, normalised, padded to the longest (at least pad_to frames);
    cropped when crop and rng are given; with mirror (and rng) half of the clips whose
    captions name no side are mirrored left to right."""
    flip = mirror_map() if mirror and rng is not None else None
    windows = []
    for i in positions:
        row = data.clips.iloc[i]
        start, n = int(row["start_frame"]), int(row["n_frames"])
        if crop is not None and rng is not None:
            total = len(data.streams[row["seq_id"]][0])
            n = max(2, int(round(n * rng.uniform(crop.min_share, 1.0))))
            shift = int(round(crop.shift_s * FPS))
            start = int(np.clip(start + rng.integers(-shift, shift + 1), 0, max(total - n, 0)))
            n = min(n, total - start)
        mirrored = flip is not None and rng is not None and rng.random() < 0.5
        mirrored = mirrored and not any(SIDED.search(c) for c in data.captions[i])
        windows.append((row["seq_id"], start, n, bool(row["has_music"]), mirrored))
    t = max(pad_to, *(w[2] for w in windows))
    b = len(windows)
    d_dim = len(norm.motion_mean)
    motion = np.zeros((b, t, d_dim), np.float32)
    music = np.zeros((b, t, len(norm.music_mean)), np.float32)
    mask = np.zeros((b, t), bool)
    has_music = np.zeros(b, bool)
    for j, (seq_id, start, n, with_music, mirrored) in enumerate(windows):
        d, m = data.streams[seq_id]
        raw = d[start : start + n]
        if mirrored and flip is not None:
            raw = raw[:, flip[0]] * flip[1]
        motion[j, :n] = (raw - norm.motion_mean) / norm.motion_std
        mask[j, :n] = True
        if with_music and m is not None:
            music[j, :n] = (m[start : start + n] - norm.music_mean) / norm.music_std
            has_music[j] = True
    return Batch(
        torch.from_numpy(music) if has_music.any() else None,
        torch.from_numpy(motion),
        torch.from_numpy(mask),
        torch.from_numpy(has_music),
    )


def sampling_weights(data: ClipSet, power: float) -> np.ndarray:
    """(N,) weights: 1 / n**power, n the clips of the (source, genre, performer) stratum."""
    c = data.clips
    stratum = c["source"].fillna("") + "|" + c["genre_key"] + "|" + c["performer"].fillna("")
    counts = stratum.map(stratum.value_counts()).to_numpy(dtype=np.float64)
    w = counts**-power
    return w / w.sum()


def _seeded(seed: int, name: str) -> str:
    return hashlib.sha1(f"{seed}:{name}".encode()).hexdigest()


def cv_folds(
    clips: pd.DataFrame, splits: pd.DataFrame, k: int = 5, seed: int = 0, val_share: float = 0.12
) -> list[dict[str, str]]:
    """k folds over whole sequence groups: per fold, seq_id -> "train" | "val" | "test".
    Within each split stratum, groups go in seeded order to the fold with the fewest clips, so
    every fold mixes genres and performers; val is a seeded val_share of the other folds' clips
    per stratum. Excluded sequences stay excluded."""
    used = splits[splits["split"] != "excluded"]
    size = clips.groupby("seq_id").size()
    groups = used.assign(n=used["seq_id"].map(size).fillna(0)).groupby("group")
    table = groups.agg(stratum=("stratum", "first"), n=("n", "sum"))
    clips_in = {str(g): float(n) for g, n in table["n"].items()}
    fold_of: dict[str, int] = {}
    load = np.zeros(k)
    for _, members in sorted(table.groupby("stratum"), key=lambda s: _seeded(seed, str(s[0]))):
        for group in sorted(members.index, key=lambda g: _seeded(seed, str(g))):
            target = int(np.argmin(load + 1e-9 * ((np.arange(k) + len(fold_of)) % k)))
            fold_of[str(group)] = target
            load[target] += clips_in[str(group)]
    folds = []
    for f in range(k):
        role = {g: ("test" if fold_of[g] == f else "train") for g in fold_of}
        for _, members in table.groupby("stratum"):
            rest = [str(g) for g in members.index if role[str(g)] == "train"]
            budget = val_share * sum(clips_in[g] for g in rest)
            for group in sorted(rest, key=lambda g: _seeded(seed + 1000 + f, g)):
                if budget <= 0 or len(rest) < 3:
                    break
                role[group] = "val"
                budget -= clips_in[group]
        seq_split = {s: role[str(g)] for s, g in used[["seq_id", "group"]].itertuples(index=False)}
        seq_split.update(
            dict.fromkeys(splits.loc[splits["split"] == "excluded", "seq_id"], "excluded")
        )
        folds.append(seq_split)
    return folds
