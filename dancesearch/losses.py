"""Contrastive losses over a batch of B (text, dance) pairs.

logits (B, B): row i is text i against every dance of the batch, column i its own dance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def false_negatives(text_vs_captions: torch.Tensor, threshold: float | None) -> torch.Tensor | None:
    """text_vs_captions: (B, B) the highest cosine similarity between text i's backbone vector
    and any caption of dance j -> (B, B) bool, True where dance j is not a fair negative of
    text i (it carries a near-identical caption); the diagonal is False."""
    if threshold is None:
        return None
    mask = text_vs_captions >= threshold
    return mask & ~torch.eye(len(mask), dtype=torch.bool, device=mask.device)


def contrastive_loss(
    logits: torch.Tensor, kind: str = "t2d", ignore: torch.Tensor | None = None
) -> torch.Tensor:
    """InfoNCE. logits: (B, B) scaled similarities, text rows x dance columns, matched pairs on
    the diagonal. kind "t2d": each text against every dance (the paper); "symmetric": the mean
    of that and each dance against every text. ignore: (B, B) bool pairs left out of the
    softmax denominators (false negatives)."""
    if ignore is not None:
        logits = logits.masked_fill(ignore, float("-inf"))
    target = torch.arange(len(logits), device=logits.device)
    t2d = F.cross_entropy(logits, target)
    if kind == "t2d":
        return t2d
    return (t2d + F.cross_entropy(logits.T, target)) / 2
