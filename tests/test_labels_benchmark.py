"""The label benchmark's protocols and statistics (benchmarks/labels.py): what is held out is
what the protocol says, every phrasing table entry composes, and the intervals and paired
errors behave as their definitions say."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pandas as pd

from benchmarks.labels import (
    TABLE,
    held_out_cells,
    label_queries,
    protocol_split,
    relevance,
    shared_words,
)
from benchmarks.labels_stats import paired, summarise

CONTENTS = ["walk", "run", "wave-left-hand", "raise-up-both-hands", "walk-turn-right"]
STYLES = ["elderly", "youthful", "normal", "exhausted", "feminine", "masculine", "active"]


def catalogue() -> pd.DataFrame:
    """Dataset-2 takes 1-6 of every content x style above, and one dataset-1 test take."""
    rows = [
        {"seq_id": f"bandai/dataset-2_{c}_{s}_{t:03d}", "labels": json.dumps(
            {"dataset": "dataset-2", "content": c, "style": s, "take": f"{t:03d}"})}
        for c in CONTENTS for s in STYLES for t in range(1, 7)
    ]  # fmt: skip
    rows.append({"seq_id": "bandai/dataset-1_bow_sad_001", "labels": json.dumps(
        {"dataset": "dataset-1", "content": "bow", "style": "sad", "take": "001"})})  # fmt: skip
    return pd.DataFrame(rows)


def test_unseen_takes_test_takes_5_and_6_and_keep_dataset_1_for_training():
    clips = catalogue()
    split = protocol_split(clips, {"bandai/dataset-1_bow_sad_001": "test"}, "takes", seed=3)
    for seq, role in split.items():
        take = seq.rsplit("_", 1)[1]
        if "dataset-2" in seq:
            assert (role == "test") == (take in ("005", "006")), seq
    assert split["bandai/dataset-1_bow_sad_001"] == "train"
    assert sum(role == "val" for role in split.values()) == len(CONTENTS) * len(STYLES)


def test_unseen_combinations_keep_every_content_and_style_seen():
    contents = list(tomllib.loads(TABLE.read_text())["content"])  # dataset-2's 10
    cells = [f"{c}|{s}" for c in contents for s in STYLES]
    for seed in range(5):
        test, val = held_out_cells(cells, np.random.default_rng(seed))
        assert len(test) == 14 and len(val) == 7 and not test & val
        train = [c.split("|") for c in cells if c not in test | val]
        assert {c for c, _ in train} == set(contents) and {s for _, s in train} == set(STYLES)
        for held, cap in ((test, 2), (val, 1)):
            parts = [c.split("|") for c in held]
            assert max(sum(c == x for c, _ in parts) for x in contents) <= cap
            assert max(sum(s == x for _, s in parts) for x in STYLES) <= cap


def test_every_cell_phrases_and_paraphrases_share_no_label_word():
    table = tomllib.loads(TABLE.read_text())
    cells = [(c, s) for c in table["content"] for s in table["style"]]
    queries = label_queries(cells, table)
    assert len(queries) == 4 * len(cells)
    assert not [q.text for q in queries if q.kind == "paraphrase" and shared_words(q)]
    gallery = catalogue().assign(labels=catalogue()["labels"])
    rel = relevance(queries[:4], gallery)  # walk x normal: its takes 2, other walks 1
    lab = [json.loads(x) for x in gallery["labels"]]
    want = [2 if (d["content"], d["style"]) == ("walk", "normal") else int(d["content"] == "walk")
            for d in lab]  # fmt: skip
    assert (rel == np.array(want)).all()


def test_intervals_cover_the_mean_and_clustered_errors_grow_with_correlation():
    rng = np.random.default_rng(0)
    values = rng.normal(10, 1, 200)
    mean, low, high = summarise(values, np.arange(200) // 4)
    assert low < mean < high and high - low < 1
    a = rng.normal(0, 1, 200)
    independent = paired(a, np.zeros(200), np.arange(200))[1]
    clustered = paired(np.repeat(a[:50], 4), np.zeros(200), np.arange(200) // 4)[1]
    assert clustered > 1.5 * independent  # four copies of a value are one observation
