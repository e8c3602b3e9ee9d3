"""Temporal encoders of one stream (music or motion): input projection, positional embedding,
then temporal layers (Transformer, RNN or LSTM) interleaved with 1-D convolutional downsampling.

Mask convention everywhere: mask (B, T) bool, True at real frames, False at padding. Padded
frames are zeroed before every convolution, which then sees exactly the zeros its own padding
would give, so padding never changes the outputs at real frames.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def sinusoidal(t: int, dim: int, device: torch.device) -> torch.Tensor:
    """(t, dim) fixed positional embedding (Vaswani et al.); no length limit."""
    position = torch.arange(t, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device) * (-math.log(10000.0) / dim))
    pe = torch.zeros(t, dim, device=device)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return pe


class Downsample(nn.Module):
    """Conv1d, kernel 3, stride 2, padding 1: T -> ceil(T / 2)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, kernel_size=3, stride=2, padding=1)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, C), mask: (B, T) -> (B, ceil(T/2), C), (B, ceil(T/2)).
        Output t is centred on input 2t, so it is real exactly when frame 2t is."""
        x = x.masked_fill(~mask[..., None], 0.0)
        y = self.act(self.conv(x.transpose(1, 2))).transpose(1, 2)  # (B, ceil(T/2), C)
        return y, mask[:, ::2]


def pool_frames(
    x: torch.Tensor, mask: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked average over non-overlapping windows of `size` frames: (B, T, C), (B, T) ->
    (B, ceil(T/size), C), (B, ceil(T/size)); a window is real when its first frame is."""
    if size == 1:
        return x, mask
    b, t, c = x.shape
    pad = (-t) % size
    x = nn.functional.pad(x.masked_fill(~mask[..., None], 0.0), (0, 0, 0, pad))
    m = nn.functional.pad(mask, (0, pad)).to(x.dtype)
    total = x.reshape(b, -1, size, c).sum(2)  # (B, T/size, C)
    count = m.reshape(b, -1, size).sum(2)[..., None]
    return total / count.clamp(min=1.0), mask[:, ::size]


class TransformerLayer(nn.Module):
    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            dim, heads, ff_dim, dropout, activation="gelu", batch_first=True, norm_first=True
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C), mask: (B, T) -> (B, T, C); padded keys are never attended to."""
        return self.layer(x, src_key_padding_mask=~mask)


class RecurrentLayer(nn.Module):
    """Bidirectional RNN or LSTM over the real frames only (packed), dim // 2 per direction."""

    def __init__(self, kind: str, dim: int, dropout: float) -> None:
        super().__init__()
        cls = nn.LSTM if kind == "lstm" else nn.RNN
        self.rnn = cls(dim, dim // 2, batch_first=True, bidirectional=True)
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C), mask: (B, T), real frames first -> (B, T, C), residual."""
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.norm(x), lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])  # (B, T, C)
        return x + self.drop(out)


class Identity(nn.Module):
    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x


class TemporalEncoder(nn.Module):
    """One stream: optional frame pooling (input_pool frames -> 1), Linear(in_dim -> d) +
    positional embedding, then [downsample, layer] * stages
    (T -> ~T / 2**stages; attention never runs at the full frame rate, where it would cost
    4**stages times more). temporal "frames" has no layers (downsampling only)."""

    def __init__(
        self,
        in_dim: int,
        temporal: str,
        dim: int,
        heads: int,
        ff_dim: int,
        stages: int,
        dropout: float,
        input_pool: int = 1,
    ) -> None:
        super().__init__()
        self.input_pool = input_pool
        self.proj = nn.Linear(in_dim, dim)
        self.drop = nn.Dropout(dropout)

        def layer() -> nn.Module:
            if temporal == "transformer":
                return TransformerLayer(dim, heads, ff_dim, dropout)
            if temporal in ("rnn", "lstm"):
                return RecurrentLayer(temporal, dim, dropout)
            return Identity()

        self.layers = nn.ModuleList(layer() for _ in range(stages))
        self.downs = nn.ModuleList(Downsample(dim) for _ in range(stages))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, in_dim), mask: (B, T) -> (B, T', dim), (B, T'),
        T' = ceil(ceil(T / input_pool) / 2**stages). Values at padded positions are zero."""
        x, mask = pool_frames(x, mask, self.input_pool)  # (B, T/input_pool, in_dim)
        h = self.proj(x) + sinusoidal(x.shape[1], self.proj.out_features, x.device)  # (B, T, d)
        h = self.drop(h)
        for down, layer in zip(self.downs, self.layers, strict=True):
            h, mask = down(h, mask)  # (B, ceil(T/2), d)
            h = layer(h, mask)
        h = self.norm(h).masked_fill(~mask[..., None], 0.0)
        return h, mask
