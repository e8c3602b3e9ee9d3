"""Music-motion blender: additive and Hadamard fusion of the two streams, a learnable projection,
a nonlinearity, then masked temporal average pooling to one dance vector."""

from __future__ import annotations

import torch
from torch import nn


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x: (B, T, C), mask: (B, T) True at real frames -> (B, C), the mean over real frames."""
    weights = mask.to(x.dtype)[..., None]  # (B, T, 1)
    return (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class Blender(nn.Module):
    """fused = GELU(W_add (m + d) + W_mul (m * d)) for fusion "add+mul"; "add" or "mul" keep one
    path. With one modality the stream itself goes through W_add."""

    def __init__(self, fusion: str, modality: str, dim: int, embed_dim: int, dropout: float):
        super().__init__()
        both = modality == "music+motion"
        self.use_add = not both or "add" in fusion.split("+")
        self.use_mul = both and "mul" in fusion.split("+")
        self.modality = modality
        self.w_add = nn.Linear(dim, dim) if self.use_add else None
        self.w_mul = nn.Linear(dim, dim) if self.use_mul else None
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(dim, embed_dim)

    def frames(self, music: torch.Tensor | None, motion: torch.Tensor | None) -> torch.Tensor:
        """music, motion: (B, T', dim) (None when the modality is not used) -> (B, T', embed_dim)
        per-frame fused tokens."""
        if self.modality == "music":
            assert music is not None
            h = self.w_add(music)  # type: ignore[misc]
        elif self.modality == "motion":
            assert motion is not None
            h = self.w_add(motion)  # type: ignore[misc]
        else:
            assert music is not None and motion is not None
            h = 0.0
            if self.w_add is not None:
                h = h + self.w_add(music + motion)
            if self.w_mul is not None:
                h = h + self.w_mul(music * motion)
        return self.out(self.drop(self.act(h)))  # (B, T', E)

    def forward(
        self, music: torch.Tensor | None, motion: torch.Tensor | None, mask: torch.Tensor
    ) -> torch.Tensor:
        """Streams (B, T', dim), mask (B, T') True at real frames -> (B, E), unnormalised."""
        return masked_mean(self.frames(music, motion), mask)
