"""Embedding with a trained model: a checkpoint loaded for a library (refused when trained on
other features), the dance states of a clip set, the (queries x gallery) scores, and the text
side -- through the checkpoint's ONNX export when it has one, as `dancesearch query` encodes.
Training, evaluation and indexing all embed through here; it imports none of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from dancesearch import checkpoint as ckpt_io
from dancesearch.dataset import Batch, ClipSet, Normaliser, make_batch
from dancesearch.encoders.model import DanceStates, DanceTextModel
from dancesearch.encoders.onnx_text import PRECISION, QueryEncoder
from dancesearch.encoders.text import text_cache
from dancesearch.errors import ConfigError
from dancesearch.storage.library import Library

# texts -> (Q, E) float32 unit vectors in the model's shared space
TextEncoder = Callable[[list[str]], np.ndarray]
TEXT_BATCH = 256  # texts per forward pass


def load_for(library: Library, path: str | Path) -> ckpt_io.Checkpoint:
    """A checkpoint, refused when it was trained on other features than the library's."""
    ckpt = ckpt_io.load(path)
    key = library.feature_key()
    if ckpt.feature_key != key:
        raise ConfigError(
            f"{path}: trained on features {ckpt.feature_key}, the library has {key}; "
            "train on this library first"
        )
    return ckpt


@torch.no_grad()
def embed_gallery(
    model: DanceTextModel, data: ClipSet, norm: Normaliser, batch: int = 64, device: str = "cpu"
) -> DanceStates:
    """Dance states of every clip, in order; tokens (xpool) padded to the longest clip."""
    model.eval()
    longest = int(data.clips["n_frames"].max())
    parts = []
    for i in range(0, len(data), batch):
        b: Batch = make_batch(data, np.arange(i, min(i + batch, len(data))), norm, pad_to=longest)
        b = b.to(device)
        parts.append(model.dance_states(b.music, b.motion, b.mask, b.has_music))
    vectors = torch.cat([p.vectors for p in parts])
    if parts[0].tokens is None:
        return DanceStates(vectors)
    return DanceStates(
        vectors,
        torch.cat([p.tokens for p in parts if p.tokens is not None]),
        torch.cat([p.mask for p in parts if p.mask is not None]),
    )


@torch.no_grad()
def similarity(
    model: DanceTextModel, text_vectors: torch.Tensor, gallery: DanceStates
) -> np.ndarray:
    """text_vectors: (Q, E) encoded queries -> (Q, G) scores."""
    return model.score(text_vectors, gallery).cpu().numpy()


@torch.no_grad()
def encode_texts(
    model: DanceTextModel,
    texts: list[str],
    cache: Callable[[list[str]], np.ndarray] | None = None,
) -> torch.Tensor:
    """(Q, E) text vectors by the torch model; cache: backbone vectors by text for a frozen
    backbone (encoders.text.text_cache)."""
    model.eval()
    if cache is not None and model.text_backbone is None:
        return model.encode_text_vectors(torch.from_numpy(cache(texts)))
    step = TEXT_BATCH
    return torch.cat([model.encode_text(texts[i : i + step]) for i in range(0, len(texts), step)])


def torch_texts(
    model: DanceTextModel, cache: Callable[[list[str]], np.ndarray] | None = None
) -> TextEncoder:
    """The torch model's text side as a TextEncoder (see encode_texts)."""
    return lambda texts: encode_texts(model, texts, cache).numpy()


def query_texts(
    ckpt: ckpt_io.Checkpoint, folder: str | Path | None = None, precision: str = PRECISION
) -> TextEncoder:
    """The checkpoint's text side as `dancesearch query` runs it: the ONNX export in
    folder/text/ when the checkpoint folder has one (so the encoder people query with is the
    one measured; precision: its "float" graph, which queries run, or its "int8" one), else the
    torch model, reading cached backbone vectors when the backbone was not fine-tuned. An
    export of another checkpoint is refused, as `query` refuses it."""
    export = None if folder is None else _folder(Path(folder)) / "text"
    if export is None or not (export / "text.json").exists():
        cache = None if ckpt.config.model.text.finetune else text_cache(ckpt.config)
        return torch_texts(ckpt.model(), cache)

    encoder = QueryEncoder.load(export, threads=torch.get_num_threads(), precision=precision)
    if encoder.fingerprint != ckpt.fingerprint:
        raise ConfigError(
            f"{export}: the text export of checkpoint {encoder.fingerprint}, not of "
            f"{ckpt.fingerprint}; export it again (`dancesearch embed` does)"
        )

    def encode(texts: list[str]) -> np.ndarray:
        parts = [
            encoder.encode(texts[i : i + TEXT_BATCH]) for i in range(0, len(texts), TEXT_BATCH)
        ]
        return np.concatenate(parts) if parts else encoder.encode([])

    return encode


def _folder(path: Path) -> Path:
    """The checkpoint folder of a checkpoint.pt or of the folder itself."""
    return path.parent if path.is_file() else path
