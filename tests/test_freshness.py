"""The content keys that decide what work is skipped: each changes with what its step reads
and with nothing else, and keeps the value recorded by earlier versions (else every library
would retrain or re-embed once after an upgrade)."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from dancesearch.encoders.config import RunConfig, TrainConfig
from dancesearch.errors import LibraryError
from dancesearch.freshness import (
    CATALOGUE_FILES,
    TRAINED,
    TRAINING_FILES,
    catalogue_key,
    content_key,
    embedded_on,
    mark_embedded,
    mark_trained,
    trained_on,
    training_key,
)
from dancesearch.storage.library import Library


@pytest.fixture
def lib(tmp_path) -> Library:
    lib = Library(tmp_path / "lib", create=True)
    lib.record("ingest", {"feature_key": "abc123def456"})
    lib.write_table("clips", pd.DataFrame({"clip_id": ["a", "b"]}))
    lib.write_table("captions", pd.DataFrame({"clip_id": ["a"], "caption": ["a spin"]}))
    return lib


def as_recorded_before(lib: Library, config: RunConfig) -> tuple[str, str]:
    """The training and catalogue keys as flows/build.py and flows/deploy.py computed them."""
    h = hashlib.sha1(f"{config.key()}:abc123def456".encode())
    for path in TRAINING_FILES:
        file = lib.root / path
        h.update(file.read_bytes() if file.is_file() else b"-")
    c = hashlib.sha1()
    for name in CATALOGUE_FILES:
        file = lib.root / name
        c.update(name.encode() + (file.read_bytes() if file.is_file() else b"-"))
    return h.hexdigest()[:16], c.hexdigest()[:16]


def test_the_keys_keep_the_values_recorded_before(lib):
    config = RunConfig()
    assert (training_key(lib, config), catalogue_key(lib)) == as_recorded_before(lib, config)


def test_content_key_hashes_names_and_bytes_and_marks_a_missing_file(lib):
    key = content_key(lib, ["clips.parquet", "nothing.parquet"])
    assert len(key) == 16
    assert key != content_key(lib, ["clips.parquet"])  # the missing file counts, as "-"
    assert key != content_key(lib, ["clips.parquet", "nothing.parquet"], head="x")
    assert content_key(lib, ["clips.parquet"]) != content_key(lib, ["clips.parquet"], names=False)
    (lib.root / "nothing.parquet").write_bytes(b"-")
    # without names, a file holding "-" and a missing one are alike: names tell them apart
    assert content_key(lib, ["nothing.parquet"], names=False) == content_key(
        lib, ["x"], names=False
    )


def test_training_key_follows_config_features_and_tables_but_not_tags(lib):
    config = RunConfig()
    key, catalogue = training_key(lib, config), catalogue_key(lib)
    assert training_key(lib, RunConfig(train=TrainConfig(seed=7))) != key
    lib.write_table("tags", pd.DataFrame({"clip_id": ["a"], "tag": ["tempo.fast"]}))
    assert training_key(lib, config) == key  # training does not read tags
    assert catalogue_key(lib) != catalogue  # the collection does
    lib.write_table("splits", pd.DataFrame({"seq_id": ["s"], "split": ["train"]}))
    split_key = training_key(lib, config)
    assert split_key != key
    lib.record("ingest", {"feature_key": "other"})
    assert training_key(lib, config) != split_key


def test_training_key_needs_an_ingested_library(tmp_path):
    with pytest.raises(LibraryError, match="not ingested yet"):
        training_key(Library(tmp_path / "new", create=True), RunConfig())


def test_a_checkpoint_records_what_it_was_trained_on(tmp_path):
    folder = tmp_path / "models" / "default"
    folder.mkdir(parents=True)
    assert trained_on(folder) is None
    mark_trained(folder, "k1")
    assert (folder / TRAINED).read_text() == '{"key": "k1"}\n'
    assert trained_on(folder) is None  # no checkpoint beside it: nothing was trained
    (folder / "checkpoint.pt").write_bytes(b"")
    assert trained_on(folder) == "k1"


def test_the_collection_records_the_catalogue_it_caught_up_to(lib):
    assert embedded_on(lib) is None
    mark_embedded(lib, catalogue_key(lib))
    assert embedded_on(lib) == catalogue_key(lib)
    assert lib.read_json("refresh") == {"catalogue": catalogue_key(lib)}
