"""Embedding with a checkpoint: a checkpoint of other features is refused; the query text is
encoded by the ONNX export `dancesearch query` runs when the checkpoint has one (equal to the
torch model's), and an export of another checkpoint is refused as `query` refuses it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from dancesearch import checkpoint as ckpt_io
from dancesearch.encoders.inference import load_for, query_texts
from dancesearch.encoders.onnx_text import QueryEncoder
from dancesearch.errors import ConfigError
from dancesearch.storage.library import Library

TEXTS = ["a slow waltz with wide turns", "someone jumps twice", "hip hop"]


def test_the_query_text_is_encoded_by_the_onnx_export_and_equals_the_torch_model(searchable):
    folder = searchable / "models" / "default"
    ckpt = load_for(Library(searchable), folder)
    onnx = query_texts(ckpt, folder)(TEXTS)
    assert np.allclose(onnx, QueryEncoder.load(folder).encode(TEXTS), atol=1e-6)
    by_torch = query_texts(ckpt)(TEXTS)  # no folder: the torch model
    assert onnx.shape == by_torch.shape == (3, ckpt.config.model.embed_dim)
    assert (onnx * by_torch).sum(axis=1).min() > 0.9999
    assert query_texts(ckpt, folder)([]).shape == (0, ckpt.config.model.embed_dim)


def test_an_export_or_a_checkpoint_of_something_else_is_refused(searchable, tmp_path):
    copy = tmp_path / "default"
    shutil.copytree(searchable / "models" / "default", copy)
    meta = json.loads((copy / "text" / "text.json").read_text())
    (copy / "text" / "text.json").write_text(json.dumps({**meta, "fingerprint": "0" * 12}))
    ckpt = ckpt_io.load(copy)
    with pytest.raises(ConfigError, match="the text export of checkpoint 000000000000"):
        query_texts(ckpt, copy)
    ckpt.feature_key = "other-features"
    ckpt_io.save(ckpt, tmp_path / "other")
    with pytest.raises(ConfigError, match="trained on features other-features"):
        load_for(Library(searchable), tmp_path / "other")
