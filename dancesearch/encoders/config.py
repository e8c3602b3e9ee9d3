"""Configuration of a model and its training: frozen dataclasses, read from and written to TOML.

A checkpoint stores `RunConfig.to_dict()`; `RunConfig.from_dict` rebuilds it, so evaluation and
search never take architecture options.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from dancesearch.errors import ConfigError

TEMPORAL = ("transformer", "rnn", "lstm", "frames", "pooled")
FUSION = ("add+mul", "add", "mul")
MODALITY = ("music+motion", "motion", "music")
POOLING = ("mean", "xpool")
LOSS = ("t2d", "symmetric")
BACKBONES = ("minilm", "clip")


@dataclass(frozen=True)
class TextConfig:
    """backbone: "minilm" (all-MiniLM-L6-v2, bundled) or "clip" (CLIP's text tower, from the
    Hugging Face cache; needs the weights there). adapter: a 2-layer MLP on the backbone vector;
    False maps the backbone vector unchanged (its width must then equal embed_dim).
    finetune: train the backbone too, at TrainConfig.text_lr."""

    backbone: str = "minilm"
    clip_id: str = "openai/clip-vit-base-patch32"
    adapter: bool = True
    adapter_hidden: int = 512
    dropout: float = 0.1
    finetune: bool = False


@dataclass(frozen=True)
class ModelConfig:
    """temporal: "transformer" | "rnn" | "lstm" layers between the downsampling convolutions;
    "frames" (downsampling only, no temporal layer: X-Pool's per-frame tokens); "pooled" (the
    linear probe: mean and std over time, one linear map). stages: conv downsamplings
    (kernel 3, stride 2), T -> ~T / 2**stages, each followed by a temporal layer.
    input_pool: frames averaged into one before the towers (2: 30 -> 15 FPS).
    stats_path: add a linear map of the clip's time-pooled features (the linear probe's input)
    to the pooled dance vector, so the towers learn what those statistics miss.
    """

    name: str = "customdancer-paper"
    embed_dim: int = 256
    d_model: int = 64
    heads: int = 4
    ff_dim: int = 128
    stages: int = 2
    input_pool: int = 1
    temporal: str = "transformer"
    fusion: str = "add+mul"
    modality: str = "music+motion"
    pooling: str = "mean"
    dropout: float = 0.1
    stats_path: bool = False
    text: TextConfig = field(default_factory=TextConfig)


@dataclass(frozen=True)
class LossConfig:
    """kind: "t2d" (InfoNCE text -> dance, the paper) or "symmetric" (both directions).
    filter_threshold: a dance is not a negative of a text when one of its captions has a text
    embedding at least this cosine-similar to it (None: no filtering).
    temperature: initial; learnable in log space, clamped to [min_temperature, 1]."""

    kind: str = "t2d"
    filter_threshold: float | None = None
    temperature: float = 0.07
    min_temperature: float = 0.01


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and data. crop: temporal crop augmentation (a window shifted by up to
    crop_shift_s inside its sequence and shortened to crop_min_share of its length at most).
    balance_power: a clip is drawn with weight 1 / n**power, n the clips of its
    (source, genre, performer) stratum (0: uniform, 1: every stratum equal).
    all_captions: every caption of the batch's clips is a query (else one sampled per clip).
    mirror: mirror half of the clips left to right (not those whose captions name a side).
    label_share: the chance that a clip with source labels (captions of source "label") draws
    one of them as its caption of the step (0: every caption alike).
    multi_positive: a dance carrying the text's exact caption is a positive of that text, not a
    negative (Bandai takes of one content x style share their label caption)."""

    seed: int = 0
    batch_size: int = 64
    lr: float = 5e-4
    text_lr: float = 2e-5
    weight_decay: float = 0.01
    warmup_steps: int = 15
    max_steps: int = 300
    eval_every: int = 15
    patience: int = 6
    grad_clip: float = 1.0
    crop: bool = True
    crop_shift_s: float = 2.0
    crop_min_share: float = 0.8
    balance_power: float = 0.5
    all_captions: bool = False
    mirror: bool = False
    label_share: float = 0.0
    multi_positive: bool = False
    threads: int = 0


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        data = dict(data)
        model = dict(data.get("model", {}))
        text = _build(TextConfig, model.pop("text", {}), "model.text")
        return cls(
            model=replace(_build(ModelConfig, model, "model"), text=text),
            loss=_build(LossConfig, data.get("loss", {}), "loss"),
            train=_build(TrainConfig, data.get("train", {}), "train"),
        ).checked()

    def key(self) -> str:
        """Content hash of the whole configuration."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    def checked(self) -> RunConfig:
        m, t = self.model, self.model.text
        for name, value, allowed in (
            ("model.temporal", m.temporal, TEMPORAL),
            ("model.fusion", m.fusion, FUSION),
            ("model.modality", m.modality, MODALITY),
            ("model.pooling", m.pooling, POOLING),
            ("model.text.backbone", t.backbone, BACKBONES),
            ("loss.kind", self.loss.kind, LOSS),
        ):
            if value not in allowed:
                raise ConfigError(f"{name} = {value!r}: choose one of {', '.join(allowed)}")
        if m.d_model % m.heads:
            raise ConfigError(f"model.d_model = {m.d_model} is not divisible by heads = {m.heads}")
        if m.stats_path and m.pooling != "mean":
            raise ConfigError("model.stats_path needs pooling = 'mean'")
        if m.temporal == "pooled" and m.pooling != "mean":
            raise ConfigError("model.temporal = 'pooled' (linear probe) needs pooling = 'mean'")
        if self.train.batch_size < 2:
            raise ConfigError(f"train.batch_size = {self.train.batch_size}: need at least 2")
        if not 0 < self.loss.min_temperature <= self.loss.temperature <= 1:
            raise ConfigError("loss: need 0 < min_temperature <= temperature <= 1")
        return self


def _build(cls: Any, data: dict[str, Any], section: str) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"[{section}] has unknown keys: {', '.join(unknown)}")
    return cls(**data)
