"""Training on real clips: a tiny model learns a small real batch perfectly; a saved checkpoint
rebuilds the same model from its own configuration; `dancesearch train` and `evaluate` run on
a real (Bandai) library."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from dancesearch import checkpoint as ckpt_io
from dancesearch.cli import main
from dancesearch.dataset import Normaliser, load_clipset, make_batch
from dancesearch.encoders.model import build_model
from dancesearch.encoders.registry import PRESETS
from dancesearch.encoders.text import TextBackbone
from dancesearch.features.motion import motion_features
from dancesearch.losses import contrastive_loss
from dancesearch.metrics import ranks
from dancesearch.sources import bandai
from dancesearch.storage.library import Library

TINY = """
preset = "customdancer-paper"
[model]
d_model = 16
heads = 2
ff_dim = 32
embed_dim = 32
[train]
batch_size = 8
max_steps = 12
eval_every = 4
warmup_steps = 2
"""


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def backbone() -> TextBackbone:
    return TextBackbone(PRESETS["customdancer-paper"].model.text)


def test_a_tiny_model_learns_a_small_real_batch_perfectly(data: Path, backbone) -> None:
    files = sorted((data / "bandai").glob("*_normal_001.bvh"))[:8]
    motions, texts = [], []
    for path in files:
        seq = bandai.read(path)[0]
        motions.append(motion_features(seq.joints[:120], seq.fps))
        texts.append(f"{seq.labels['content']} in a {seq.labels['style']} style")
    assert len(set(texts)) == 8
    t = min(len(m) for m in motions)
    motion = torch.from_numpy(np.stack([m[:t] for m in motions]))
    motion = (motion - motion.mean((0, 1))) / (motion.std((0, 1)) + 1e-3)
    mask = torch.ones(8, t, dtype=torch.bool)
    config = PRESETS["customdancer-paper"]
    model = build_model(
        replace(config.model, d_model=32, heads=2, ff_dim=64, embed_dim=32, dropout=0.0),
        config.loss,
        motion.shape[-1],
    )
    with torch.no_grad():
        vectors = backbone(texts)
    torch.manual_seed(0)
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        logits = model.score(
            model.encode_text_vectors(vectors), model.dance_states(None, motion, mask)
        )
        loss = contrastive_loss(logits * model.logit_scale())
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    with torch.no_grad():
        sim = model.score(
            model.encode_text_vectors(vectors), model.dance_states(None, motion, mask)
        )
    assert ranks(sim.numpy(), np.eye(8, dtype=bool)).tolist() == [1] * 8


@pytest.fixture(scope="module")
def library(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lib = tmp_path_factory.mktemp("model") / "lib"
    assert run("ingest", data / "bandai", "--library", lib).exit_code == 0
    result = run("annotate", "--library", lib)
    assert result.exit_code == 0, result.output
    return lib


def test_train_then_evaluate_from_the_command_line(library: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "model"
    result = run("train", "--library", library, "--config", config, "--out", out)
    assert result.exit_code == 0, result.output
    assert "fingerprint" in result.output
    assert (out / "checkpoint.pt").is_file() and (out / "curves.png").stat().st_size > 1000
    ckpt = ckpt_io.load(out)
    assert ckpt.config.model.d_model == 16 and ckpt.config.train.max_steps == 12
    assert ckpt.text_backbone == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(ckpt.fingerprint) == 12

    result = run("evaluate", out, "--library", library, "--split", "val", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    full = report["model"]["full"]
    n = report["clips"]
    assert full["gallery"] == n and full["chance R@1"] == pytest.approx(100 / n)
    assert report["caption_matching"]["full"]["queries"] == full["queries"]
    text = run("evaluate", out, "--library", library, "--split", "val").output
    assert "| full | chance |" in text and "caption matching" in text


def test_a_reloaded_checkpoint_embeds_identically(library: Path, tmp_path: Path) -> None:
    from dancesearch.train import train

    config = replace(
        PRESETS["default"],
        model=replace(PRESETS["default"].model, d_model=16, heads=2, ff_dim=32),
        train=replace(PRESETS["default"].train, batch_size=8, max_steps=4, eval_every=2),
    )
    lib = Library(library)
    result = train(lib, config, out=tmp_path, progress=False)
    first = result.checkpoint.model()
    again = ckpt_io.load(tmp_path).model()
    data = load_clipset(lib)
    batch = make_batch(data, np.arange(6), result.checkpoint.norm)
    with torch.no_grad():
        a = first.encode_dance(batch.music, batch.motion, batch.mask, batch.has_music)
        b = again.encode_dance(batch.music, batch.motion, batch.mask, batch.has_music)
        ta, tb = first.encode_text(["a slow waltz"]), again.encode_text(["a slow waltz"])
    assert torch.equal(a, b) and torch.equal(ta, tb)
    assert ckpt_io.load(tmp_path).fingerprint == result.checkpoint.fingerprint
    assert isinstance(result.checkpoint.norm, Normaliser)


def test_bad_configurations_and_checkpoints_are_one_line_errors(library: Path, tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\ntemporal = 'gru'\n")
    result = run("train", "--library", library, "--config", bad)
    assert result.exit_code == 2 and "model.temporal = 'gru'" in result.output
    bad.write_text("[model]\nlayers = 3\n")
    result = run("train", "--library", library, "--config", bad)
    assert result.exit_code == 2 and "unknown keys: layers" in result.output
    result = run("train", "--library", library, "--preset", "nope")
    assert result.exit_code == 2 and "unknown preset 'nope'" in result.output
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    result = run("evaluate", junk, "--library", library)
    assert result.exit_code == 2 and "not a dancesearch checkpoint" in result.output


def test_a_fine_tuned_text_backbone_is_trained_saved_and_reloaded(library: Path, tmp_path):
    from dancesearch.train import train

    base = PRESETS["customdancer-paper"]
    config = replace(
        base,
        model=replace(
            base.model, d_model=16, heads=2, ff_dim=32, text=replace(base.model.text, finetune=True)
        ),
        train=replace(base.train, batch_size=8, max_steps=2, eval_every=1, text_lr=1e-3),
    )
    before = TextBackbone(config.model.text).state_dict()
    result = train(Library(library), config, out=tmp_path, progress=False)
    tuned = result.checkpoint.state
    name = next(k for k in tuned if k.startswith("text_backbone.") and "word_embeddings" not in k)
    assert not torch.equal(tuned[name], before[name.removeprefix("text_backbone.")])
    a = result.checkpoint.model().encode_text(["a slow waltz"])
    b = ckpt_io.load(tmp_path).model().encode_text(["a slow waltz"])
    assert torch.equal(a, b)


def test_a_clip_with_labels_trains_on_them_as_often_as_label_share_says() -> None:
    import numpy as np

    from dancesearch.train import draw_caption

    offsets = np.array([0, 3, 5])  # clip 0: captions 0-2 (2 a label), clip 1: 3-4 (no label)
    is_label = np.array([False, False, True, False, False])
    rng = np.random.default_rng(0)
    always = {draw_caption(offsets, is_label, 0, 1.0, rng) for _ in range(50)}
    assert always == {2}
    never_label = [draw_caption(offsets, is_label, 1, 1.0, rng) for _ in range(200)]
    assert set(never_label) == {3, 4}  # no label to prefer: any of its own captions
    half = [draw_caption(offsets, is_label, 0, 0.5, rng) for _ in range(2000)]
    share = np.mean(np.array(half) == 2)
    assert 0.6 < share < 0.73  # 0.5 + 0.5 / 3
