"""Contrastive losses over a batch of B dances and N texts describing them (N = B when one
caption is sampled per dance; more when every caption of the batch is a query).

logits (N, B): row i is text i against every dance of the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def false_negatives(
    text_vs_captions: torch.Tensor, threshold: float | None, owner: torch.Tensor | None = None
) -> torch.Tensor | None:
    """text_vs_captions: (N, B) the highest cosine similarity between text i's backbone vector
    and any caption of dance j; owner: (N,) each text's own dance (None: the diagonal)
    -> (N, B) bool, True where dance j is not a fair negative of text i (it carries a
    near-identical caption); never True at a text's own dance."""
    if threshold is None:
        return None
    n, b = text_vs_captions.shape
    if owner is None:
        owner = torch.arange(n, device=text_vs_captions.device)
    own = owner[:, None] == torch.arange(b, device=text_vs_captions.device)[None, :]
    return (text_vs_captions >= threshold) & ~own


def contrastive_loss(
    logits: torch.Tensor,
    kind: str = "t2d",
    ignore: torch.Tensor | None = None,
    owner: torch.Tensor | None = None,
    positives: torch.Tensor | None = None,
) -> torch.Tensor:
    """InfoNCE. logits: (N, B) scaled similarities of N texts to B dances; owner: (N,) the dance
    each text describes (None: N == B, text i describes dance i). kind "t2d": each text against
    every dance (the paper); "symmetric": the mean of that and each dance against every text,
    where all of a dance's texts are its positives. ignore: (N, B) bool pairs left out of the
    softmax denominators (false negatives). positives: (N, B) bool, further dances a text
    describes as well as its own (they carry the same caption): multi-positive InfoNCE, where
    a text's loss is -log of the softmax mass on all its positives, so a dance sharing the
    caption is never pushed away."""
    n, b = logits.shape
    if owner is None:
        owner = torch.arange(n, device=logits.device)
    if ignore is not None:
        logits = logits.masked_fill(ignore, float("-inf"))
    if positives is not None:
        own = owner[:, None] == torch.arange(b, device=logits.device)[None, :]
        pos = positives | own  # (N, B)
        t2d = (logits.logsumexp(1) - logits.masked_fill(~pos, float("-inf")).logsumexp(1)).mean()
    else:
        t2d = F.cross_entropy(logits, owner)
    if kind == "t2d":
        return t2d
    positive = owner[None, :] == torch.arange(b, device=logits.device)[:, None]  # (B, N)
    log_p = logits.T.log_softmax(dim=1)  # (B, N): each dance against every text
    d2t = -log_p.masked_fill(~positive, float("-inf")).logsumexp(dim=1)
    return (t2d + d2t.mean()) / 2
