"""The fast query encoder: the ONNX export of a checkpoint's text side gives what
model.encode_text gives (frozen MiniLM, with an adapter, fine-tuned), its int8 graph stays
close to it, it loads without torch, and it refuses what it cannot encode faithfully."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from dancesearch import checkpoint as ckpt_io
from dancesearch.dataset import Normaliser
from dancesearch.encoders.config import RunConfig
from dancesearch.encoders.export import ensure_text_export, export_text, quantize_text_export
from dancesearch.encoders.model import DanceTextModel, build_model
from dancesearch.encoders.onnx_text import QueryEncoder
from dancesearch.encoders.registry import PRESETS
from dancesearch.errors import ConfigError

MOTION_DIM = 12
TEXTS = [
    "a slow waltz with wide turns",
    "hip hop",
    "Krump",
    "SHARP ARM ISOLATIONS OVER A FAST BEAT",
    "sharp arm isolations over a fast beat",
    "jazz, then tap; then -- finally -- a spin!",
    "(ballet) [pointe] {adagio} 50% slower?",
    "un vals lento con giros amplios",
    "très élégant, à la française",
    "Tanz: ein langsamer Walzer mit Drehungen",
    "舞蹈 — 慢华尔兹",
    "ダンス ✨ 💃 🕺",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines",
    "x",
    "a dancer jumps, lands softly, rolls to the floor and rises again while the music swells "
    "into a crescendo of strings and drums, then freezes in a low crouch until the beat drops",
    " ".join(["step", "hop", "turn", "kick"] * 20),
    "the dancer's left hand traces a figure-8 above the head at 120 bpm",
    "break-dance power moves: windmill, flare & head-spin",
    "a 2-step line dance, 4/4 time, country music",
]


def checkpoint_of(config: RunConfig, seed: int = 0) -> tuple[ckpt_io.Checkpoint, DanceTextModel]:
    """A randomly initialised model of config and its checkpoint (no training needed)."""
    torch.manual_seed(seed)
    model = build_model(config.model, config.loss, MOTION_DIM).eval()
    if model.text_backbone is not None:  # fine-tuned: weights the bundled MiniLM does not have
        with torch.no_grad():
            for p in model.text_backbone.parameters():
                p.mul_(1 + 0.05 * torch.randn_like(p))
    motion, music = np.zeros(MOTION_DIM, np.float32), np.zeros(35, np.float32)
    norm = Normaliser(motion, motion + 1, music, music + 1)
    return ckpt_io.Checkpoint(config, model.state_dict(), "features", norm, MOTION_DIM), model


def finetuned(name: str) -> RunConfig:
    base = PRESETS[name]
    text = replace(base.model.text, finetune=True)
    return replace(base, model=replace(base.model, name=f"{name}+finetune", text=text))


CONFIGS = {
    "default": PRESETS["default"],  # no adapter: MiniLM's own vector
    "default-with-adapter": PRESETS["default-with-adapter"],
    "default+finetune": finetuned("default"),
}


class Exported:
    def __init__(self, folder: Path, model: DanceTextModel, fingerprint: str) -> None:
        self.folder, self.model, self.fingerprint = folder, model, fingerprint
        self.encoder = QueryEncoder.load(folder / "text")  # float: what queries run
        quantize_text_export(folder / "text")
        self.int8 = QueryEncoder.load(folder / "text", precision="int8")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Exported]:
    """Each configuration saved and exported once per module (a MiniLM load costs seconds)."""
    out = {}
    for name, config in CONFIGS.items():
        ckpt, model = checkpoint_of(config)
        folder = tmp_path_factory.mktemp(name)
        ckpt_io.save(ckpt, folder)
        export_text(ckpt_io.load(folder), folder)  # from the file, as a user would
        out[name] = Exported(folder, model, ckpt.fingerprint)
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_onnx_gives_what_encode_text_gives(exports: dict[str, Exported], name: str) -> None:
    e = exports[name]
    with torch.no_grad():
        expected = e.model.encode_text(TEXTS).numpy()  # (20, E)
    batch = e.encoder.encode(TEXTS)  # padded to the longest
    alone = np.concatenate([e.encoder.encode([t]) for t in TEXTS])  # no padding
    assert batch.shape == alone.shape == expected.shape == (len(TEXTS), e.encoder.embed_dim)
    assert batch.dtype == np.float32
    assert np.abs(np.linalg.norm(batch, axis=1) - 1).max() < 1e-5
    for got in (batch, alone):
        cosine = (got * expected).sum(1) / np.linalg.norm(expected, axis=1)
        assert cosine.min() >= 0.9999, TEXTS[int(cosine.argmin())]
    assert e.encoder.fingerprint == e.fingerprint and e.encoder.max_tokens == 256


def nearest(vectors: np.ndarray) -> np.ndarray:
    sim = vectors @ vectors.T
    np.fill_diagonal(sim, -np.inf)
    return sim.argmax(1)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_int8_graph_stays_close_to_the_float_one(exports: dict[str, Exported], name: str):
    e = exports[name]
    exact, fast = e.encoder.encode(TEXTS), e.int8.encode(TEXTS)
    assert fast.shape == exact.shape and fast.dtype == np.float32
    assert np.abs(np.linalg.norm(fast, axis=1) - 1).max() < 1e-5
    cosine = (fast * exact).sum(1)
    assert cosine.min() >= 0.97, TEXTS[int(cosine.argmin())]  # trained model: 0.99 (query_int8.md)
    # each text's nearest other text is (nearly always) the same under both graphs
    assert (nearest(exact) == nearest(fast)).mean() >= 0.9
    folder = e.folder / "text"
    int8, weights = (folder / "model.int8.onnx").stat(), (folder / "model.onnx.data").stat()
    assert int8.st_size < 0.7 * weights.st_size


def test_a_finetuned_backbone_is_exported_with_its_own_weights(exports) -> None:
    tuned = exports["default+finetune"].encoder.encode(TEXTS)
    frozen = exports["default"].encoder.encode(TEXTS)
    assert (tuned * frozen).sum(1).min() < 0.999


def test_the_query_side_imports_no_torch(exports) -> None:
    folder = exports["default"].folder
    script = f"""
import sys
from dancesearch.encoders.onnx_text import QueryEncoder
vectors = QueryEncoder.load({str(folder)!r}).encode(["a slow waltz with wide turns"])
assert vectors.shape == (1, 384), vectors.shape
heavy = {{"torch", "transformers", "sentence_transformers"}} & set(sys.modules)
assert not heavy, heavy
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "\u200b", "\x00"])
def test_an_empty_query_is_an_error(exports, query: str) -> None:
    with pytest.raises(ConfigError, match="the query is empty"):
        exports["default"].encoder.encode(["a waltz", query])


def test_a_query_over_max_tokens_is_an_error_not_truncated(exports) -> None:
    encoder = exports["default"].encoder
    longest = "a " * (encoder.max_tokens - 2)  # with [CLS] and [SEP]: exactly max_tokens
    assert len(encoder.tokens(longest)) == encoder.max_tokens
    assert encoder.encode([longest]).shape == (1, 384)
    with pytest.raises(ConfigError, match=r"is 257 tokens long .* at most 256"):
        encoder.encode(["a waltz", longest + "a"])


def test_missing_or_broken_exports_name_the_file(exports, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere: no text export there .*dancesearch train"):
        QueryEncoder.load(tmp_path / "nowhere")
    source = exports["default"].folder / "text"
    for broken in ("text.json", "tokenizer.json", "model.onnx", "model.onnx.data"):
        folder = tmp_path / broken
        folder.mkdir()
        for f in source.iterdir():  # links: the weights are 90 MB
            (folder / f.name).symlink_to(f)
        (folder / broken).unlink()
        with pytest.raises(ConfigError, match=rf"{re.escape(broken)}\b.*dancesearch train"):
            QueryEncoder.load(folder)
        (folder / broken).write_text("{not json")
        with pytest.raises(ConfigError, match=rf"{re.escape(broken)}\b.*dancesearch train"):
            QueryEncoder.load(folder)
    folder = tmp_path / "no-int8"
    folder.mkdir()
    for f in source.iterdir():
        if f.name != "model.int8.onnx":
            (folder / f.name).symlink_to(f)
    with pytest.raises(ConfigError, match=r"model\.int8\.onnx\b.*dancesearch train"):
        QueryEncoder.load(folder, precision="int8")
    with pytest.raises(ConfigError, match="precision 'int4'"):
        QueryEncoder.load(source, precision="int4")


def test_ensure_text_export_follows_the_checkpoint(exports, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(exports["default"].folder, folder)
    model_file = folder / "text" / "model.onnx"
    before = model_file.stat().st_mtime_ns
    assert ensure_text_export(folder / "checkpoint.pt") == folder / "text"
    assert model_file.stat().st_mtime_ns == before  # same fingerprint: untouched
    ckpt = ckpt_io.load(folder)
    ckpt.state["log_scale"] = ckpt.state["log_scale"] + 1  # new weights, new fingerprint
    ckpt_io.save(ckpt, folder)
    assert ensure_text_export(folder) == folder / "text"
    encoder = QueryEncoder.load(folder)
    assert encoder.fingerprint == ckpt.fingerprint != exports["default"].fingerprint
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "text"]  # no leftovers


def test_clip_has_no_fast_query_path() -> None:
    base = PRESETS["default-with-adapter"]
    text = replace(base.model.text, backbone="clip")
    config = replace(base, model=replace(base.model, text=text))
    ckpt = ckpt_io.Checkpoint(config, {}, "features", None, MOTION_DIM)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="supports the minilm backbone"):
        export_text(ckpt, Path("unused"))
