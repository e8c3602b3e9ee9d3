"""The contrastive losses: what they reward, and what filtering removes."""

from __future__ import annotations

import torch

from dancesearch.losses import contrastive_loss, false_negatives


def test_matched_pairs_far_ahead_cost_nothing_and_swapped_ones_a_lot() -> None:
    good = 50 * torch.eye(4)
    assert contrastive_loss(good) < 1e-6
    assert contrastive_loss(good[[1, 0, 2, 3]]) > 10


def test_t2d_reads_rows_only_and_symmetric_reads_columns_too() -> None:
    logits = torch.tensor([[5.0, 0.0], [5.0, 0.0]])  # both texts pick dance 0
    assert torch.isclose(contrastive_loss(logits, "t2d"), contrastive_loss(logits.clone(), "t2d"))
    transposed = contrastive_loss(logits.T.contiguous(), "t2d")
    sym = contrastive_loss(logits, "symmetric")
    assert torch.isclose(sym, (contrastive_loss(logits, "t2d") + transposed) / 2)


def test_a_near_identical_caption_is_not_a_negative() -> None:
    # text 0 and dance 1 share a caption: dance 1 scoring high must not be punished
    logits = torch.tensor([[5.0, 5.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]])
    caption_sim = torch.tensor([[1.0, 0.97, 0.2], [0.97, 1.0, 0.1], [0.2, 0.1, 1.0]])
    ignore = false_negatives(caption_sim, 0.95)
    assert ignore is not None and ignore.tolist() == [
        [False, True, False],
        [True, False, False],
        [False, False, False],
    ]
    assert contrastive_loss(logits, ignore=ignore) < contrastive_loss(logits)
    assert false_negatives(caption_sim, None) is None


def test_dances_sharing_the_caption_are_positives_not_negatives() -> None:
    # texts 0 and 1 are the same label caption, carried by dances 0 and 1
    logits = torch.tensor([[5.0, 5.0, 0.0], [5.0, 5.0, 0.0], [0.0, 0.0, 5.0]])
    shared = torch.tensor([[False, True, False], [True, False, False], [False] * 3])
    multi = contrastive_loss(logits, positives=shared)
    assert multi < 0.02 < contrastive_loss(logits)  # plain InfoNCE pays for the twin
    # -log of the softmax mass on the positives, by hand
    p = logits.softmax(1)
    by_hand = -torch.log(torch.stack([p[0, :2].sum(), p[1, :2].sum(), p[2, 2]])).mean()
    assert torch.isclose(multi, by_hand, atol=1e-6)
    # without further positives it is plain InfoNCE
    none = torch.zeros(3, 3, dtype=torch.bool)
    assert torch.isclose(contrastive_loss(logits, positives=none), contrastive_loss(logits))
