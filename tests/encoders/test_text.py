"""The text tower: MiniLM offline from the bundled package; CLIP from the Hugging Face cache
when a user has it, one clear error when not."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from dancesearch.encoders.config import LossConfig, ModelConfig, TextConfig
from dancesearch.encoders.model import build_model
from dancesearch.encoders.text import TextBackbone, TextCache
from dancesearch.errors import ConfigError

CLIP_ID = TextConfig().clip_id


def clip_cached() -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(CLIP_ID, "config.json"), str)


def test_minilm_encodes_offline_and_the_cache_agrees(tmp_path) -> None:
    backbone = TextBackbone(TextConfig())
    texts = ["a slow waltz with wide turns", "sharp arm isolations over a fast beat"]
    with torch.no_grad():
        direct = backbone(texts).numpy()
    cache = TextCache(backbone, tmp_path / "minilm.npz")
    assert cache(texts) == pytest.approx(direct, abs=1e-5)
    reread = TextCache(backbone, tmp_path / "minilm.npz")
    assert set(reread.vectors) == set(cache.vectors)  # persisted
    model = build_model(ModelConfig(embed_dim=32), LossConfig(), 156).eval()
    out = model.encode_text(texts)
    assert out.shape == (2, 32) and torch.allclose(out.norm(dim=1), torch.ones(2))


def test_clip_without_its_weights_is_one_clear_error() -> None:
    if clip_cached():
        pytest.skip("CLIP is in the Hugging Face cache here")
    with pytest.raises(ConfigError, match="not in the Hugging Face cache"):
        TextBackbone(TextConfig(backbone="clip"))


def test_clip_text_tower_when_its_weights_are_cached() -> None:
    if not clip_cached():
        pytest.skip(f"{CLIP_ID} weights are not in the Hugging Face cache (no hub access here)")
    config = replace(ModelConfig(embed_dim=32), text=TextConfig(backbone="clip"))
    model = build_model(config, LossConfig(), 156).eval()
    out = model.encode_text(["a slow waltz"])
    assert out.shape == (1, 32) and torch.isfinite(out).all()
