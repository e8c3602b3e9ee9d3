"""The text side of a checkpoint as ONNX, so queries are encoded without torch: a folder `text/`
beside checkpoint.pt holding model.onnx (+ its weights, model.onnx.data), tokenizer.json and
text.json. dancesearch.encoders.onnx_text reads it back."""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dancesearch import checkpoint as ckpt_io
from dancesearch.encoders.model import DanceTextModel
from dancesearch.encoders.onnx_text import FOLDER, FORMAT, GRAPHS, WEIGHTS
from dancesearch.encoders.text import backbone_id
from dancesearch.errors import ConfigError

INPUTS = ["input_ids", "attention_mask"]
# not "embedding": the exporter names a node after BERT's `embeddings` and would clash
OUTPUT = "text_embedding"
OPSET = 17
# the weights beside the graph (WEIGHTS), not inside it: onnxruntime then maps them instead of
# parsing 90 MB of protobuf, which halves the session's start (0.3 -> 0.1 s); a stale export
# (another FORMAT) is rebuilt
FILES = (GRAPHS["float"], WEIGHTS, "tokenizer.json", "text.json")
# padded so the traced graph takes the attention-mask path, not a no-padding shortcut
SAMPLE = ["a slow waltz with wide turns and a spin", "hip hop"]


class TextGraph(nn.Module):
    """model.encode_text from token ids: input_ids, attention_mask (B, L) int64, 1 at real
    tokens -> (B, E) float32, L2-normalised. The backbone runs whole (BERT, mean pooling and its
    own normalisation), then the adapter and the final normalisation of encode_text_vectors."""

    def __init__(self, model: DanceTextModel) -> None:
        super().__init__()
        self.model = model
        self.st = model.backbone().st  # the fine-tuned one when the checkpoint holds it

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # one sentence per row, so BERT's segment ids are all 0 (what the tokenizer gives)
        features = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": torch.zeros_like(input_ids),
        }
        vectors = self.st(features)["sentence_embedding"].float()  # (B, backbone_dim)
        return self.model.encode_text_vectors(vectors)  # (B, E)


def export_text(ckpt: ckpt_io.Checkpoint, folder: Path) -> Path:
    """Write folder/text/ (the FILES) for the checkpoint's text side; built in a temporary
    folder beside it and swapped in, so readers never see half of one.
    Returns the text folder."""
    text = ckpt.config.model.text
    if text.backbone != "minilm":
        raise ConfigError(
            f"model.text.backbone = {text.backbone!r}: the fast query path (ONNX, no torch) "
            "supports the minilm backbone only"
        )
    if not ckpt.fingerprint:
        ckpt.fingerprint = ckpt_io.fingerprint(ckpt.state, ckpt.config, ckpt.feature_key)
    model = ckpt.model()
    graph = TextGraph(model).eval()
    tokenizer = _plain_tokenizer(graph.st.tokenizer)
    target = folder / FOLDER
    tmp = folder / f".{FOLDER}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        tokenizer.save(str(tmp / "tokenizer.json"))
        _export_onnx(graph, tokenizer, tmp / GRAPHS["float"])
        meta = {
            "format": FORMAT,
            "fingerprint": ckpt.fingerprint,
            "backbone": backbone_id(text),
            "embed_dim": ckpt.config.model.embed_dim,
            "max_tokens": int(graph.st.max_seq_length),
            "inputs": INPUTS,
            "output": OUTPUT,
            "pad_id": int(graph.st.tokenizer.pad_token_id),
            "pad_token": str(graph.st.tokenizer.pad_token),
        }
        (tmp / "text.json").write_text(json.dumps(meta, indent=2) + "\n")
        _swap(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def ensure_text_export(checkpoint_path: str | Path) -> Path:
    """The text folder of a checkpoint (a checkpoint.pt or its folder), exported again when it
    is missing, unreadable, or of another fingerprint or format. Returns the text folder."""
    path = Path(checkpoint_path)
    folder = path if path.is_dir() else path.parent
    ckpt = ckpt_io.load(path)
    target = folder / FOLDER
    if _current(target, ckpt.fingerprint):
        return target
    return export_text(ckpt, folder)


def _current(target: Path, fingerprint: str) -> bool:
    try:
        meta = json.loads((target / "text.json").read_text())
    except (OSError, ValueError):
        return False
    files = all((target / name).is_file() for name in FILES)
    return files and meta.get("format") == FORMAT and meta.get("fingerprint") == fingerprint


def _plain_tokenizer(hf_tokenizer: Any) -> Any:
    """The backbone's own fast tokenizer (tokenizers.Tokenizer, with any lower-casing the
    sentence-transformers config adds) without its padding and truncation: the query side pads
    to the longest text and refuses, rather than cuts, a text that is too long."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(hf_tokenizer.backend_tokenizer.to_str())
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _export_onnx(graph: TextGraph, tokenizer: Any, path: Path) -> None:
    import onnx

    tokenizer.enable_padding(pad_id=graph.st.tokenizer.pad_token_id)
    encodings = tokenizer.encode_batch(SAMPLE)
    tokenizer.no_padding()
    ids = torch.tensor([e.ids for e in encodings])  # (2, L)
    mask = torch.tensor([e.attention_mask for e in encodings])  # (2, L)
    axes = {0: "batch", 1: "tokens"}
    traced = path.with_name("traced.onnx")  # one file, weights inside
    # the TorchScript exporter: 3 s and one file here, where the dynamo one takes 16 s and
    # needs onnxscript. The tracer warns of shape checks it freezes (mask width == sequence
    # length, a mask is given), which hold for every input the query side builds.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)  # it deprecates itself
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            graph,
            (ids, mask),
            str(traced),
            input_names=INPUTS,
            output_names=[OUTPUT],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, OUTPUT: {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    onnx.save(
        onnx.load(str(traced)),
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=WEIGHTS,
        size_threshold=1024,
    )
    shutil.copymode(path, path.with_name(WEIGHTS))  # onnx writes it owner-only
    traced.unlink()


def quantize_text_export(text: Path) -> Path:
    """Add the int8 graph to a text export folder (text/ of a checkpoint) unless it has one;
    returns its path. Queries run the float graph; the int8 one is for measuring
    (benchmarks/query_precision.py) and for callers that choose it."""
    out = text / GRAPHS["int8"]
    if not out.is_file():
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            _quantize(text / GRAPHS["float"], tmp)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    return out


def _quantize(float_graph: Path, out: Path) -> None:
    """The int8 graph: every MatMul's weights quantized per output channel, activations
    quantized at run time (dynamic quantization); the embedding table and the rest stay float.
    Quantizing the embedding lookups too (onnxruntime's default) moved query vectors to cosine
    0.96 of the float ones, MatMul only per channel keeps 0.99. The same input gives the same
    bytes."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(float_graph))  # from memory: the quantizer writes no scratch files
    root = logging.getLogger()
    was, root.disabled = root.disabled, True  # it advises pre-processing on the root logger
    try:
        quantize_dynamic(model, out, op_types_to_quantize=["MatMul"], per_channel=True,
                         weight_type=QuantType.QInt8)  # fmt: skip
    finally:
        root.disabled = was
    os.chmod(out, 0o644)


def _swap(new: Path, target: Path) -> None:
    """Put folder `new` at `target`, replacing what is there (a folder cannot be os.replace'd
    over a non-empty one, so the old one steps aside first)."""
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
