"""Every registered configuration: shapes, finite unit vectors, padding never changes an
embedding, a clip's vector does not depend on its batch, gradients reach every used weight."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from dancesearch.encoders.model import DanceTextModel, build_model
from dancesearch.encoders.registry import PRESETS

MOTION_DIM = 156


def small(name: str) -> DanceTextModel:
    config = PRESETS[name]
    m = config.model
    if m.temporal != "pooled":
        m = replace(m, d_model=16, heads=2, ff_dim=32)
    if m.text.adapter:  # without one the dance is mapped into the backbone's own width
        m = replace(m, embed_dim=24)
    torch.manual_seed(0)
    return build_model(m, config.loss, MOTION_DIM).eval()


def inputs(
    b: int = 4, t: int = 70
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    music = torch.randn(b, t, 35, generator=g)
    motion = torch.randn(b, t, MOTION_DIM, generator=g)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[1, 41:] = False  # a short take
    mask[3, 23:] = False
    has_music = torch.tensor([True, False, True, False])[:b]
    return music, motion, mask, has_music


@pytest.fixture(params=sorted(PRESETS))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_dance_vectors_are_finite_unit_vectors_of_the_embedding_size(name: str) -> None:
    model = small(name)
    music, motion, mask, has_music = inputs()
    with torch.no_grad():
        v = model.encode_dance(music, motion, mask, has_music)
    assert v.shape == (4, model.config.embed_dim)
    assert torch.isfinite(v).all()
    assert torch.allclose(v.norm(dim=1), torch.ones(4), atol=1e-5)


def test_padding_never_changes_an_embedding(name: str) -> None:
    model = small(name)
    music, motion, mask, has_music = inputs()
    garbage = 1e3 * torch.randn(4, 30, MOTION_DIM)
    padded_motion = torch.cat([motion.masked_fill(~mask[..., None], 0), garbage], 1)
    padded_music = torch.cat([music, 1e3 * torch.randn(4, 30, 35)], 1)
    padded_mask = torch.cat([mask, torch.zeros(4, 30, dtype=torch.bool)], 1)
    padded_motion[1, 41:70] = 7.0  # garbage inside the old padding too
    with torch.no_grad():
        a = model.dance_states(music, motion, mask, has_music)
        b = model.dance_states(padded_music, padded_motion, padded_mask, has_music)
        trimmed = model.encode_dance(
            music[1:2, :41], motion[1:2, :41], mask[1:2, :41], has_music[1:2]
        )
        texts = torch.nn.functional.normalize(torch.randn(3, model.config.embed_dim), dim=1)
    assert torch.allclose(a.vectors, b.vectors, atol=1e-5)
    assert torch.allclose(a.vectors[1], trimmed[0], atol=1e-5)
    assert torch.allclose(model.score(texts, a), model.score(texts, b), atol=1e-5)


def test_a_clip_embeds_alike_alone_or_in_a_mixed_batch(name: str) -> None:
    model = small(name)
    music, motion, mask, has_music = inputs()
    with torch.no_grad():
        batch = model.encode_dance(music, motion, mask, has_music)
        for i in range(4):
            alone_music = music[i : i + 1] if has_music[i] else None
            alone = model.encode_dance(alone_music, motion[i : i + 1], mask[i : i + 1])
            assert torch.allclose(batch[i], alone[0], atol=1e-5), f"clip {i}"


def test_gradients_reach_every_weight_the_variant_uses(name: str) -> None:
    model = small(name).train()
    music, motion, mask, has_music = inputs()
    text = torch.nn.functional.normalize(torch.randn(4, model.config.embed_dim), dim=1)
    states = model.dance_states(music, motion, mask, has_music)
    logits = model.score(text, states) * model.logit_scale()
    torch.nn.functional.cross_entropy(logits, torch.arange(4)).backward()
    frozen_text = {n for n, _ in model.named_parameters() if n.startswith("text_adapter")}
    for n, p in model.named_parameters():
        if n in frozen_text:
            continue  # the text side is not in this graph
        assert p.grad is not None and torch.isfinite(p.grad).all(), n


def test_silent_clips_get_their_own_dance_vector() -> None:
    model = small("customdancer-paper")
    music, motion, mask, _ = inputs()
    with torch.no_grad():
        with_music = model.encode_dance(music, motion, mask)
        silent = model.encode_dance(None, motion, mask)
    assert torch.isfinite(silent).all()
    assert not torch.allclose(with_music, silent, atol=1e-3)  # the music is heard
