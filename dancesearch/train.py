"""Training, on one screen: seeded, AdamW with warm-up + cosine decay and gradient clipping,
genre/performer/source-balanced batches, one caption sampled per clip per step, temporal crop
augmentation, validation every eval_every steps with early stopping on it, best weights kept."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from dancesearch import checkpoint as ckpt_io
from dancesearch.dataset import Crop, Normaliser, load_clipset, make_batch, sampling_weights
from dancesearch.encoders.config import RunConfig
from dancesearch.encoders.export import export_text
from dancesearch.encoders.inference import embed_gallery, similarity
from dancesearch.encoders.model import build_model
from dancesearch.encoders.text import text_cache
from dancesearch.errors import LibraryError
from dancesearch.losses import contrastive_loss, false_negatives
from dancesearch.metrics import ranks, selection_score, summary
from dancesearch.storage.library import Library


def get_lr(step: int, base: float, warmup: int, total: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class TrainResult:
    checkpoint: ckpt_io.Checkpoint
    path: Path | None
    seconds: float
    best_step: int


def train(
    library: Library,
    config: RunConfig,
    out: Path | None = None,
    split_of: dict[str, str] | None = None,
    progress: bool = True,
    device: str | None = None,
) -> TrainResult:
    """Train `config` on the library's train split (split_of overrides the split), select on
    val, write out/checkpoint.pt, out/curves.png and the ONNX text export out/text/ when out
    is given."""
    started = time.perf_counter()
    tc, device = config.train, device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(tc.seed)
    rng = np.random.default_rng(tc.seed)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    data = load_clipset(library, split_of)
    train_set = data.subset(np.flatnonzero(data.clips["split"] == "train"))
    val_set = data.subset(np.flatnonzero(data.clips["split"] == "val"))
    if len(train_set) < tc.batch_size or len(val_set) < 2:
        raise LibraryError(
            f"{library.root}: {len(train_set)} train and {len(val_set)} val clips; need at "
            f"least batch_size = {tc.batch_size} and 2 (ingest more data)"
        )
    norm = Normaliser.fit(train_set)
    motion_dim = len(norm.motion_mean)
    model = build_model(config.model, config.loss, motion_dim).to(device)
    cache = text_cache(config)
    # every caption's backbone vector, and per clip its captions' unit vectors for filtering
    flat = [c for caps in train_set.captions for c in caps]
    vec = torch.from_numpy(cache(flat))
    offsets = np.cumsum([0] + [len(c) for c in train_set.captions])
    is_label = np.array([s == "label" for src in train_set.caption_sources for s in src])
    caption_ids = np.unique(np.array(flat, dtype=object), return_inverse=True)[1]  # same text
    held = [set(caption_ids[offsets[i] : offsets[i + 1]].tolist()) for i in range(len(train_set))]
    unit = torch.nn.functional.normalize(vec, dim=-1)
    # every caption of a val clip is a query, its own clip the one correct item (the full
    # protocol of dancesearch.evaluation, which training does not import)
    val_texts = [c for caps in val_set.captions for c in caps]
    val_clip = np.repeat(np.arange(len(val_set)), [len(c) for c in val_set.captions])
    cache(val_texts)  # a backbone that must load does so now, not between training steps
    val_own = np.zeros((len(val_texts), len(val_set)), bool)
    val_own[np.arange(len(val_texts)), val_clip] = True

    backbone = [p for n, p in model.named_parameters() if n.startswith("text_backbone.")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("text_backbone.")]
    groups = [{"params": rest, "lr": tc.lr, "base": tc.lr}]
    if backbone:
        groups.append({"params": backbone, "lr": tc.text_lr, "base": tc.text_lr})
    optim = torch.optim.AdamW(groups, weight_decay=tc.weight_decay)
    weights = sampling_weights(train_set, tc.balance_power)
    crop = Crop(tc.crop_shift_s, tc.crop_min_share) if tc.crop else None

    history: list[dict[str, float]] = []
    best, best_step, best_state, stale = -1.0, 0, None, 0
    bar = tqdm(range(tc.max_steps), desc="train", disable=not progress, leave=False)
    for step in bar:
        for g in optim.param_groups:
            g["lr"] = get_lr(step, g["base"], tc.warmup_steps, tc.max_steps)
        model.train()
        idx = rng.choice(len(train_set), tc.batch_size, replace=False, p=weights)
        if tc.all_captions:  # every caption of the batch's clips is a query
            pick = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in idx])
            owner = np.repeat(np.arange(len(idx)), np.diff(offsets)[idx])
        else:  # one caption per clip, drawn afresh each step
            pick = np.array([draw_caption(offsets, is_label, i, tc.label_share, rng) for i in idx])
            owner = np.arange(len(idx))
        owner_t = torch.from_numpy(owner).to(device)
        batch = make_batch(train_set, idx, norm, crop, rng, mirror=tc.mirror).to(device)
        if model.text_backbone is not None:
            text = model.encode_text([flat[p] for p in pick])
        else:
            text = model.encode_text_vectors(vec[pick].to(device))  # (N, E)
        states = model.dance_states(batch.music, batch.motion, batch.mask, batch.has_music)
        logits = model.score(text, states) * model.logit_scale()  # (N texts, B dances)
        ignore = None
        if config.loss.filter_threshold is not None:
            sims = torch.stack(
                [(unit[pick] @ unit[offsets[i] : offsets[i + 1]].T).max(1).values for i in idx], 1
            )  # (N texts, B dances): the closest caption of each dance
            ignore = false_negatives(sims, config.loss.filter_threshold, torch.from_numpy(owner))
            ignore = None if ignore is None else ignore.to(device)
        positives = None
        if tc.multi_positive:  # (N texts, B dances): the dance carries the text's exact caption
            positives = torch.tensor([[caption_ids[p] in held[i] for i in idx] for p in pick])
            positives = positives.to(device)
        loss = contrastive_loss(logits, config.loss.kind, ignore, owner_t, positives)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        optim.step()
        record = {"step": step, "loss": loss.item(), "temperature": 1 / model.logit_scale().item()}

        if (step + 1) % tc.eval_every == 0 or step + 1 == tc.max_steps:
            with torch.no_grad():
                model.eval()
                if model.text_backbone is not None:  # a fine-tuned backbone: fresh vectors
                    text_val = model.encode_text(val_texts)
                else:
                    text_val = model.encode_text_vectors(
                        torch.from_numpy(cache(val_texts)).to(device)
                    )
                sim = similarity(
                    model, text_val, embed_gallery(model, val_set, norm, device=device)
                )
            m = summary(ranks(sim, val_own))
            score = selection_score(m)  # rsum, MnR breaking ties: as retrain promotes
            record |= {f"val {k}": v for k, v in m.items() if k != "queries"}
            if score > best:
                best, best_step, stale = score, step + 1, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
            bar.set_postfix(loss=f"{loss.item():.3f}", val_rsum=f"{score:.1f}")
            if stale >= tc.patience:
                history.append(record)
                break
        history.append(record)

    assert best_state is not None
    model.load_state_dict(best_state)
    result = ckpt_io.Checkpoint(
        config, best_state, library.feature_key(), norm, motion_dim, library.uid, history
    )
    path = None
    if out is not None:
        path = ckpt_io.save(result, out)
        plot_curves(history, out / "curves.png")
        if config.model.text.backbone == "minilm":  # the fast query path reads MiniLM only
            export_text(result, out)
    else:
        result.fingerprint = ckpt_io.fingerprint(best_state, config, result.feature_key)
    return TrainResult(result, path, time.perf_counter() - started, best_step)


def draw_caption(
    offsets: np.ndarray,
    is_label: np.ndarray,
    clip: int,
    label_share: float,
    rng: np.random.Generator,
) -> int:
    """The position (in the flat caption list) of the caption clip `clip` trains on this step:
    one of its source labels with chance label_share when it has any, else any of its captions."""
    mine = np.arange(offsets[clip], offsets[clip + 1])
    labels = mine[is_label[mine]]
    if label_share > 0 and len(labels) and rng.random() < label_share:
        return int(rng.choice(labels))
    return int(offsets[clip] + rng.integers(len(mine)))


def plot_curves(history: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.plot([h["step"] for h in history], [h["loss"] for h in history], lw=0.8)
    a.set(xlabel="step", ylabel="training loss")
    val = [h for h in history if "val R@1" in h]
    for k in ("R@1", "R@5", "R@10"):
        b.plot([h["step"] for h in val], [h[f"val {k}"] for h in val], marker=".", label=k)
    b.set(xlabel="step", ylabel="validation recall, %")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
