"""The `retrain` deployment's flow, run for real on a small library: it trains when the library
changed since the current model was trained, promotes the new checkpoint only when it is not
worse on validation (re-embedding, switching, dropping the old collection), records each
decision, and does nothing when run again on the same library."""

from __future__ import annotations

import json

from dancesearch.flows.deploy import retrain
from dancesearch.promote import RETRAINS
from dancesearch.search.query import Searcher

TINY = """
preset = "default"
[model]
d_model = 16
heads = 2
ff_dim = 32
[train]
seed = 1
batch_size = 16
max_steps = 8
eval_every = 4
"""


def test_retrain_promotes_only_when_not_worse_and_then_rests(library_copy, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    with Searcher.open(library_copy) as s:
        before = s.info
    record = retrain(str(library_copy), config_path=str(config))
    assert record["promoted"] == (record["candidate"] >= record["current"])
    logged = [json.loads(line) for line in (library_copy / RETRAINS).read_text().splitlines()]
    assert logged[-1]["fingerprint"] == record["fingerprint"]
    candidate = library_copy / record["checkpoint"]
    with Searcher.open(library_copy) as s:
        if record["promoted"]:  # queries use the new model; the old collection is gone
            assert s.info.fingerprint == record["fingerprint"] != before.fingerprint
            assert s.store.names() == [s.info.name]
            assert s.search("a dance", limit=3).results
        else:  # the current model stays and the worse one is not kept
            assert s.info == before and not candidate.exists()
    again = retrain(str(library_copy), config_path=str(config))
    assert again["trained"] is False


def test_retrain_that_makes_the_same_model_promotes_nothing_and_then_rests(library_copy, tmp_path):
    config = tmp_path / "same.toml"  # the configuration the library's model was trained with
    config.write_text(TINY.replace("seed = 1", "seed = 0"))
    with Searcher.open(library_copy) as s:
        before = s.info
    record = retrain(str(library_copy), config_path=str(config))
    assert (
        record["trained"] and not record["promoted"] and record["fingerprint"] == before.fingerprint
    )
    assert not (library_copy / record["checkpoint"]).exists()
    with Searcher.open(library_copy) as s:
        assert s.info == before
    assert retrain(str(library_copy), config_path=str(config))["trained"] is False
