"""The text-dance model: text tower, music and motion towers, blender, and the learnable
temperature, built from a ModelConfig alone.

Dance inputs: music (B, T, 35) or None, motion (B, T, D), mask (B, T) bool True at real frames,
has_music (B,) bool (None: every clip has music when music is given, none otherwise). A silent
clip's music stream is a learned no-music vector, so motion-only clips get a dance vector too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dancesearch.encoders.blender import Blender, masked_mean
from dancesearch.encoders.config import LossConfig, ModelConfig
from dancesearch.encoders.temporal import TemporalEncoder
from dancesearch.encoders.text import TextAdapter, TextBackbone

# the width of features.music (not imported from there: that would load librosa)
MUSIC_DIM = 35


@dataclass
class DanceStates:
    """What the model scores texts against: pooled vectors (G, E), or for text-conditioned
    pooling per-frame tokens (G, T', E) with their mask (G, T')."""

    vectors: torch.Tensor
    tokens: torch.Tensor | None = None
    mask: torch.Tensor | None = None


class DanceTextModel(nn.Module):
    def __init__(
        self, config: ModelConfig, loss: LossConfig, motion_dim: int, music_dim: int = MUSIC_DIM
    ) -> None:
        super().__init__()
        self.config, self.motion_dim, self.music_dim = config, motion_dim, music_dim
        c = config
        self.text_adapter = TextAdapter(c.text, c.embed_dim)
        # a frozen backbone is loaded on first use and kept out of the state dict
        self._frozen_backbone: list[TextBackbone] = []
        self.text_backbone = TextBackbone(c.text) if c.text.finetune else None
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / loss.temperature)))
        self.max_log_scale = math.log(1.0 / loss.min_temperature)
        stats_dim = 2 * motion_dim + 2 * music_dim + 1
        if c.temporal == "pooled":  # the linear probe
            self.probe = nn.Linear(stats_dim, c.embed_dim)
            return
        self.stats = nn.Linear(stats_dim, c.embed_dim) if c.stats_path else None

        def tower(in_dim: int) -> TemporalEncoder:
            return TemporalEncoder(
                in_dim, c.temporal, c.d_model, c.heads, c.ff_dim, c.stages, c.dropout, c.input_pool
            )

        self.motion_enc = tower(motion_dim) if c.modality != "music" else None
        self.music_enc = tower(music_dim) if c.modality != "motion" else None
        # what a silent clip's music stream reads: learned, so it still gets a dance vector
        self.no_music = nn.Parameter(0.02 * torch.randn(c.d_model)) if self.music_enc else None
        self.blender = Blender(c.fusion, c.modality, c.d_model, c.embed_dim, c.dropout)
        if c.pooling == "xpool":
            self.query = nn.Linear(c.embed_dim, c.embed_dim)
            self.key = nn.Linear(c.embed_dim, c.embed_dim)
            self.value = nn.Linear(c.embed_dim, c.embed_dim)

    # ---- text ------------------------------------------------------------------------------
    def backbone(self) -> TextBackbone:
        if self.text_backbone is not None:
            return self.text_backbone
        if not self._frozen_backbone:
            self._frozen_backbone.append(TextBackbone(self.config.text).eval())
        return self._frozen_backbone[0]

    def encode_text_vectors(self, vectors: torch.Tensor) -> torch.Tensor:
        """vectors: (B, backbone_dim) backbone outputs -> (B, E) L2-normalised."""
        return F.normalize(self.text_adapter(vectors), dim=-1)

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """texts: B strings -> (B, E) L2-normalised."""
        backbone = self.backbone()
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.text_backbone is not None):
            vectors = backbone(texts).float()  # (B, backbone_dim)
        return self.encode_text_vectors(vectors.to(self.log_scale.device))

    # ---- dance -----------------------------------------------------------------------------
    def _streams(
        self,
        music: torch.Tensor | None,
        motion: torch.Tensor,
        mask: torch.Tensor,
        has_music: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> fused tokens (B, T', E) and their mask (B, T')."""
        b, c = motion.shape[0], self.config
        if has_music is None:
            has_music = torch.full((b,), music is not None, dtype=torch.bool, device=mask.device)
        small = mask[:, :: c.input_pool * 2**c.stages]  # (B, T'): what the towers keep
        d_stream = m_stream = None
        if self.motion_enc is not None:
            d_stream, _ = self.motion_enc(motion, mask)  # (B, T', d)
        if self.music_enc is not None and self.no_music is not None:
            m_stream = self.no_music.expand(b, small.shape[1], -1)  # (B, T', d)
            if music is not None and bool(has_music.any()):
                idx = has_music.nonzero(as_tuple=True)[0]
                encoded, _ = self.music_enc(music[idx], mask[idx])  # (b', T', d)
                m_stream = m_stream.clone()
                m_stream[idx] = encoded
        tokens = self.blender.frames(m_stream, d_stream)  # (B, T', E)
        return tokens.masked_fill(~small[..., None], 0.0), small

    def dance_states(
        self,
        music: torch.Tensor | None,
        motion: torch.Tensor,
        mask: torch.Tensor,
        has_music: torch.Tensor | None = None,
    ) -> DanceStates:
        """What `score` compares texts with (see DanceStates); shapes as encode_dance."""
        if self.config.temporal == "pooled":
            stats = pooled_stats(music, motion, mask, has_music, self.music_dim)
            return DanceStates(F.normalize(self.probe(stats), dim=-1))
        tokens, small = self._streams(music, motion, mask, has_music)
        pooled = masked_mean(tokens, small)  # (B, E)
        if self.stats is not None:
            pooled = pooled + self.stats(
                pooled_stats(music, motion, mask, has_music, self.music_dim)
            )
        vectors = F.normalize(pooled, dim=-1)
        if self.config.pooling == "xpool":
            return DanceStates(vectors, tokens, small)
        return DanceStates(vectors)

    def encode_dance(
        self,
        music: torch.Tensor | None,
        motion: torch.Tensor,
        mask: torch.Tensor,
        has_music: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """music: (B, T, 35) or None, motion: (B, T, D), mask: (B, T) bool True at real frames,
        has_music: (B,) bool -> (B, E) L2-normalised. Text-conditioned pooling (xpool) returns
        its text-independent mean-pooled vector here; `score` is its real similarity."""
        return self.dance_states(music, motion, mask, has_music).vectors

    # ---- similarity ------------------------------------------------------------------------
    def score(self, text: torch.Tensor, dance: DanceStates, chunk: int = 128) -> torch.Tensor:
        """text: (Q, E) normalised, dance: G clips -> (Q, G) cosine similarities."""
        if dance.tokens is None:
            return text @ dance.vectors.T
        assert dance.mask is not None
        keys = self.key(dance.tokens)  # (G, T', E)
        values = self.value(dance.tokens)
        rows = []
        for q in self.query(text).split(chunk):  # (q, E)
            logits = torch.einsum("qe,gte->qgt", q, keys) / math.sqrt(keys.shape[-1])
            logits = logits.masked_fill(~dance.mask[None], float("-inf"))
            pooled = torch.einsum("qgt,gte->qge", logits.softmax(-1), values)  # (q, G, E)
            rows.append(pooled)
        pooled = F.normalize(torch.cat(rows), dim=-1)  # (Q, G, E)
        return torch.einsum("qe,qge->qg", text, pooled)

    def logit_scale(self) -> torch.Tensor:
        """1 / temperature, clamped to [1, 1 / min_temperature]."""
        return self.log_scale.clamp(0.0, self.max_log_scale).exp()


def pooled_stats(
    music: torch.Tensor | None,
    motion: torch.Tensor,
    mask: torch.Tensor,
    has_music: torch.Tensor | None,
    music_dim: int = MUSIC_DIM,
) -> torch.Tensor:
    """(B, 2 D + 2 * 35 + 1): mean and std over real frames of motion and music (zeros for a
    silent clip), and a has-music flag. Shapes as DanceTextModel.encode_dance."""
    b = motion.shape[0]
    if music is None:
        music = torch.zeros(b, motion.shape[1], music_dim, device=motion.device)
        has_music = torch.zeros(b, dtype=torch.bool, device=motion.device)
    elif has_music is None:
        has_music = torch.ones(b, dtype=torch.bool, device=motion.device)
    flag = has_music.to(motion.dtype)[:, None]  # (B, 1)
    parts = []
    for x in (motion, music * flag[..., None]):
        mean = masked_mean(x, mask)  # (B, C)
        var = masked_mean((x - mean[:, None]) ** 2, mask)
        parts += [mean, var.clamp(min=0).sqrt()]
    return torch.cat([*parts, flag], dim=1)


def build_model(config: ModelConfig, loss: LossConfig, motion_dim: int) -> DanceTextModel:
    return DanceTextModel(config, loss, motion_dim)
