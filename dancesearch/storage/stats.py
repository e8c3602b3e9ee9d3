"""Summary tables of a library: counts and minutes by source, genre, performer and music."""

from __future__ import annotations

import json

import pandas as pd

from dancesearch.storage.library import Library

UNLABELLED = "(unlabelled)"


def library_stats(library: Library) -> dict[str, pd.DataFrame]:
    """One table per grouping, each with sequences, clips, sequence minutes and clip minutes.

    Clip minutes are smaller than sequence minutes by the windowing loss (short tails and
    dropped static or broken windows).
    """
    seqs = library.table("sequences")
    clips = library.clips()
    if seqs.empty:
        return {}
    seqs = seqs.assign(
        music=seqs["has_music"].map({True: "with music", False: "silent"}),
        category=seqs["labels"].map(lambda text: json.loads(text).get("category")),
    )
    clips = clips.drop(columns=["category"], errors="ignore").merge(
        seqs[["seq_id", "music", "category"]], on="seq_id", how="left"
    )
    out = {}
    for key in ("source", "category", "genre", "performer", "music"):
        s = (
            seqs.fillna({key: UNLABELLED})
            .groupby(key)
            .agg(sequences=("seq_id", "count"), sequence_min=("duration_s", lambda d: d.sum() / 60))
        )
        c = (
            clips.fillna({key: UNLABELLED})
            .groupby(key)
            .agg(clips=("clip_id", "count"), clip_min=("duration_s", lambda d: d.sum() / 60))
        )
        table = s.join(c, how="left").fillna({"clips": 0, "clip_min": 0.0})
        table["clips"] = table["clips"].astype(int)
        table.loc["all"] = [
            int(table["sequences"].sum()),
            table["sequence_min"].sum(),
            int(table["clips"].sum()),
            table["clip_min"].sum(),
        ]
        out[key] = table.round(2).reset_index()
    return out
