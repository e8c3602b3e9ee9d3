"""A trained model on disk: weights, the resolved run configuration, the feature configuration
key, normalisation statistics, the text backbone id and a fingerprint. Loading rebuilds the
model from the saved configuration alone."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dancesearch.dataset import Normaliser
from dancesearch.encoders.config import RunConfig
from dancesearch.encoders.model import DanceTextModel, build_model
from dancesearch.encoders.text import backbone_id
from dancesearch.errors import ConfigError

FILENAME = "checkpoint.pt"


@dataclass
class Checkpoint:
    config: RunConfig
    state: dict[str, torch.Tensor]
    feature_key: str
    norm: Normaliser
    motion_dim: int
    library_uid: str = ""
    history: list[dict[str, float]] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def text_backbone(self) -> str:
        return backbone_id(self.config.model.text)

    def model(self, device: str = "cpu") -> DanceTextModel:
        model = build_model(self.config.model, self.config.loss, self.motion_dim)
        model.load_state_dict(self.state)
        return model.to(device).eval()


def fingerprint(state: dict[str, torch.Tensor], config: RunConfig, feature_key: str) -> str:
    """Content hash of the weights, the configuration and the features they read."""
    h = hashlib.sha1(f"{config.key()}:{feature_key}".encode())
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def save(ckpt: Checkpoint, folder: Path) -> Path:
    """Write folder/checkpoint.pt atomically; returns its path."""
    ckpt.fingerprint = fingerprint(ckpt.state, ckpt.config, ckpt.feature_key)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "config": ckpt.config.to_dict(),
        "state": {k: v.detach().cpu() for k, v in ckpt.state.items()},
        "feature_key": ckpt.feature_key,
        "norm": ckpt.norm.to_dict(),
        "motion_dim": ckpt.motion_dim,
        "library_uid": ckpt.library_uid,
        "history": ckpt.history,
        "text_backbone": ckpt.text_backbone,
        "fingerprint": ckpt.fingerprint,
    }
    path = folder / FILENAME
    tmp = folder / f".{FILENAME}.{os.getpid()}.tmp"
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)
    return path


def load(path: str | Path) -> Checkpoint:
    """A checkpoint file, or a folder holding checkpoint.pt."""
    path = Path(path)
    if path.is_dir():
        path = path / FILENAME
    if not path.is_file():
        raise ConfigError(f"{path}: no checkpoint there (train one with `dancesearch train`)")
    try:
        data: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        return Checkpoint(
            config=RunConfig.from_dict(data["config"]),
            state=data["state"],
            feature_key=data["feature_key"],
            norm=Normaliser.from_dict(data["norm"]),
            motion_dim=int(data["motion_dim"]),
            library_uid=str(data.get("library_uid", "")),
            history=list(data.get("history", [])),
            fingerprint=str(data["fingerprint"]),
        )
    except (KeyError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as e:
        raise ConfigError(f"{path}: not a dancesearch checkpoint ({e})") from e
