"""Query text -> the checkpoint's text embedding, fast: the ONNX export of the text side
(dancesearch.encoders.export) run by onnxruntime, tokenised by `tokenizers`. Imports neither
torch nor transformers (0.2 s against 8 s), so keep it that way: nothing from the modules of
dancesearch.encoders that import torch (the package itself imports nothing). The layout of the
export is defined here and written by export.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from dancesearch.errors import ConfigError

FOLDER = "text"  # beside checkpoint.pt
FORMAT = 1  # of text.json; raise it when the layout changes
WEIGHTS = "model.onnx.data"  # the float graph's external weights
# the graph a precision runs. int8: the float graph with its MatMul weights quantized per
# channel (onnxruntime's dynamic quantization), 2x faster on one thread, retrieval figures
# within noise, but its top 10 over a library share 0.89 of the float graph's (near-ties swap
# places: benchmarks/results/query_int8.md) -- short of the 0.95 asked, so queries run float
# and the int8 graph is made only on request (export.quantize_text_export)
PRECISION = "float"
GRAPHS = {"int8": "model.int8.onnx", "float": "model.onnx"}
REEXPORT = "run `dancesearch train` again, or re-export it with ensure_text_export"


@dataclass(frozen=True)
class TextMeta:
    """text.json: what the export was made from and how to feed it."""

    fingerprint: str
    backbone: str
    embed_dim: int
    max_tokens: int
    inputs: list[str]
    output: str
    pad_id: int
    pad_token: str

    @classmethod
    def read(cls, path: Path) -> TextMeta:
        try:
            data = json.loads(path.read_text())
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, this version reads {FORMAT}")
            return cls(
                fingerprint=str(data["fingerprint"]),
                backbone=str(data["backbone"]),
                embed_dim=int(data["embed_dim"]),
                max_tokens=int(data["max_tokens"]),
                inputs=[str(name) for name in data["inputs"]],
                output=str(data["output"]),
                pad_id=int(data["pad_id"]),
                pad_token=str(data["pad_token"]),
            )
        except FileNotFoundError as e:
            raise ConfigError(f"{path}: missing, no text export there ({REEXPORT})") from e
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise ConfigError(f"{path}: not a readable text export ({e}; {REEXPORT})") from e


class QueryEncoder:
    """encode(texts) -> (B, E) float32 unit vectors, equal (cosine > 0.9999) to the checkpoint's
    model.encode_text. Texts are never truncated: one longer than max_tokens tokens is an error."""

    def __init__(self, session: ort.InferenceSession, tokenizer: Tokenizer, meta: TextMeta):
        self.session, self.tokenizer, self.meta = session, tokenizer, meta

    @classmethod
    def load(cls, folder: str | Path, threads: int = 1, precision: str = PRECISION) -> QueryEncoder:
        """folder: the text export (the graphs, tokenizer.json, text.json), or the checkpoint
        folder holding it in text/. threads: onnxruntime's intra-op threads (one query of a few
        words gains little from more). precision: "float" (what queries run) or "int8"."""
        if precision not in GRAPHS:
            raise ConfigError(f"precision {precision!r}: choose one of {', '.join(GRAPHS)}")
        folder = Path(folder)
        if not (folder / "text.json").exists() and (folder / FOLDER).is_dir():
            folder = folder / FOLDER
        if not folder.is_dir():
            raise ConfigError(f"{folder}: no text export there ({REEXPORT})")
        meta = TextMeta.read(folder / "text.json")
        tokenizer_path = folder / "tokenizer.json"
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as e:  # tokenizers raises plain Exception for a missing or bad file
            raise ConfigError(
                f"{tokenizer_path}: cannot read the tokenizer ({e}; {REEXPORT})"
            ) from e
        tokenizer.no_truncation()
        tokenizer.enable_padding(pad_id=meta.pad_id, pad_token=meta.pad_token)  # to the longest
        return cls(_session(folder / GRAPHS[precision], meta, threads), tokenizer, meta)

    @property
    def fingerprint(self) -> str:
        """The checkpoint's fingerprint: vectors from another checkpoint are not comparable."""
        return self.meta.fingerprint

    @property
    def max_tokens(self) -> int:
        """The longest text the model reads, in tokens with [CLS] and [SEP]."""
        return self.meta.max_tokens

    @property
    def embed_dim(self) -> int:
        return self.meta.embed_dim

    def tokens(self, text: str) -> list[str]:
        """The wordpieces the model reads for text, [CLS] and [SEP] included."""
        return list(self.tokenizer.encode(text).tokens)

    def encode(self, texts: list[str]) -> np.ndarray:
        """texts: B queries -> (B, E) float32, L2-normalised. ConfigError for a query with no
        words or over max_tokens tokens."""
        if not texts:
            return np.zeros((0, self.embed_dim), np.float32)
        encodings = self.tokenizer.encode_batch(texts)  # padded to the longest
        # blank, or only what the normaliser drops (control or zero-width characters)
        if any(all(e.special_tokens_mask) for e in encodings):
            raise ConfigError("the query is empty")
        ids = np.array([e.ids for e in encodings], np.int64)  # (B, L)
        mask = np.array([e.attention_mask for e in encodings], np.int64)  # (B, L)
        lengths = mask.sum(1)
        worst = int(lengths.argmax())
        if lengths[worst] > self.max_tokens:
            raise ConfigError(
                f"the query {_preview(texts[worst])} is {lengths[worst]} tokens long (wordpieces "
                f"with [CLS] and [SEP]); the text encoder reads at most {self.max_tokens}: "
                "shorten it"
            )
        feeds = dict(zip(self.meta.inputs, (ids, mask), strict=True))
        (out,) = self.session.run([self.meta.output], feeds)
        return np.asarray(out, np.float32)  # (B, E)


def _session(path: Path, meta: TextMeta, threads: int) -> ort.InferenceSession:
    if threads < 1:
        raise ConfigError(f"threads = {threads}: need at least 1")
    weights = [path.with_name(WEIGHTS)] if path.name == GRAPHS["float"] else []
    for needed in (path, *weights):
        if not needed.is_file():
            raise ConfigError(f"{needed}: missing, no text model there ({REEXPORT})")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its warnings are about the CPU, not the user
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's errors subclass Exception directly
        raise ConfigError(f"{path}: cannot load the text model ({e}; {REEXPORT})") from e
    names = [i.name for i in session.get_inputs()]
    shape: list[Any] = session.get_outputs()[0].shape
    if names != meta.inputs or shape[-1] != meta.embed_dim:
        raise ConfigError(
            f"{path}: takes {names} and gives width {shape[-1]}, but text.json says "
            f"{meta.inputs} and {meta.embed_dim} ({REEXPORT})"
        )
    return session


def _preview(text: str, chars: int = 40) -> str:
    return repr(text if len(text) <= chars else text[:chars] + "...")
