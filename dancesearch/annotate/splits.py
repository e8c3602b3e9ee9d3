"""Held-out splits of a library: whole sequence groups, seeded, stratified by genre and performer.

FineDance sequences keep their official cross-genre split. `check_splits` lists what is wrong
with a split; `split_table` counts clips per genre and split.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from typing import Any

import pandas as pd

from dancesearch.errors import ConfigError

SPLITS = ("train", "val", "test")
OFFICIAL = "split_cross_genre"  # FineDance@Genre, set by the FineDance reader
OFFICIAL_STRATUM = "official FineDance cross_genre"


def _labels(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) or str(value) == "" else str(value)


def genre_key(row: Any) -> str:
    """What a row is stratified and counted by: its genre, else its category, else its source."""
    return (
        _text(row.get("genre"))
        or _text(_labels(row.get("labels")).get("category"))
        or _text(row.get("source"))
        or "unknown"
    )


def _prepare(sequences: pd.DataFrame) -> pd.DataFrame:
    """Per sequence: seq_id, group, key (genre_key), performer, minutes, official split."""
    rows = []
    for r in sequences.to_dict("records"):
        duration = r.get("duration_s")
        rows.append(
            {
                "seq_id": str(r["seq_id"]),
                "group": _text(r.get("group")) or str(r["seq_id"]),
                "key": genre_key(r),
                "performer": _text(r.get("performer")),
                "minutes": 0.0 if duration is None or pd.isna(duration) else duration / 60,
                "official": _text(_labels(r.get("labels")).get(OFFICIAL)),
            }
        )
    columns = ["seq_id", "group", "key", "performer", "minutes", "official"]
    return pd.DataFrame(rows, columns=columns)


def _dominant(t: pd.DataFrame) -> list[tuple[str, str, float]]:
    """(column, value, share) for a genre key or performer holding over half of the test
    minutes while the library has others; t has a split column."""
    used = t[t["split"] != "excluded"]
    test = t[t["split"] == "test"]
    total = test["minutes"].sum()
    out = []
    for column in ("key", "performer"):
        by = test.groupby(column)["minutes"].sum()
        if total > 0 and used[column].nunique() > 1 and len(by) and by.max() > total / 2:
            out.append((column, str(by.idxmax()), float(by.max() / total)))
    return out


def _seeded(seed: int, group: str) -> str:
    """Order key: a group's place depends on the seed and its own id only, so adding groups to
    a library never reshuffles the others."""
    return hashlib.sha1(f"{seed}:{group}".encode()).hexdigest()


def _fill(order: list[tuple[str, float]], fractions: dict[str, float]) -> dict[str, str]:
    """Split one stratum's groups, given as (group, minutes) in seeded order.

    Test, then val, take groups in order while each brings them closer to their share of the
    stratum's minutes, at least one group each; train takes the rest. A stratum with too few
    groups to give every split one goes to train whole.
    """
    held = [s for s in ("test", "val") if fractions[s] > 0]
    if len(order) < len(held) + 1:
        return {group: "train" for group, _ in order}
    total = sum(minutes for _, minutes in order)
    out: dict[str, str] = {}
    remaining = list(order)
    for i, split in enumerate(held):
        keep = len(held) - i  # one group for each later held-out split, and one for train
        target, got = fractions[split] * total, 0.0
        taken: list[tuple[str, float]] = []
        for group, minutes in remaining:
            if len(remaining) - len(taken) <= keep:
                break
            if got + minutes / 2 < target:
                taken.append((group, minutes))
                got += minutes
        if not taken:  # every group overshoots the share: the shortest one
            taken = [min(remaining, key=lambda gm: gm[1])]
        out.update({group: split for group, _ in taken})
        remaining = [gm for gm in remaining if gm not in taken]
    out.update({group: "train" for group, _ in remaining})
    return out


def _undominate(t: pd.DataFrame, stratum: dict[str, str], seed: int) -> None:
    """While one genre or performer holds over half of the test minutes, move its test groups
    to train, last drawn first, as long as each stratum keeps one test group (in place)."""
    while found := _dominant(t):
        column, value, _ = found[0]
        test_groups = set(t.loc[t["split"] == "test", "group"])
        per_stratum = Counter(stratum[g] for g in test_groups)
        holders = set(t.loc[(t[column] == value) & t["group"].isin(test_groups), "group"])
        movable = [
            g for g in holders if stratum[g] != OFFICIAL_STRATUM and per_stratum[stratum[g]] > 1
        ]
        if not movable:
            return  # check_splits reports what is left
        back = max(movable, key=lambda g: _seeded(seed, g))
        t.loc[t["group"] == back, "split"] = "train"


def make_splits(
    sequences: pd.DataFrame, seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
) -> pd.DataFrame:
    """train / val / test / excluded per sequence (columns seq_id, group, split, stratum).

    Whole groups (recordings of one dance) go to one split. Strata: genre (else category, else
    source) crossed with the group's performers where a performer has at least 3 groups in it;
    the other groups of that genre form one stratum. Each stratum gives every split roughly its
    fraction of the minutes, then test gives back groups while one genre or performer holds
    over half of it. FineDance sequences keep labels["split_cross_genre"]; that split has no
    validation part, so val holds none of them.
    """
    if len(fractions) != 3 or min(fractions) < 0 or fractions[0] <= 0:
        raise ConfigError(f"split fractions {fractions}: need three, train > 0, none < 0")
    if abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(f"split fractions {fractions} must sum to 1")
    share = dict(zip(SPLITS, fractions, strict=True))
    t = _prepare(sequences)
    ordered = t.sort_values("seq_id")
    groups = ordered.groupby("group").agg(
        key=("key", "first"), minutes=("minutes", "sum"), official=("official", "first")
    )
    # a group's performers, joined in order (a loop: a lambda per group costs 1 ms each)
    who: dict[str, set[str]] = defaultdict(set)
    for group, performer in zip(ordered["group"], ordered["performer"], strict=True):
        if isinstance(performer, str):  # None or NaN when unknown
            who[group].add(performer)
    groups["performers"] = ["+".join(sorted(who[g])) for g in groups.index]
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    for group, g in groups[groups["official"].isna()].iterrows():
        cells[(g["key"], g["performers"])].append(str(group))
    need = 1 + sum(share[s] > 0 for s in ("val", "test"))
    strata: dict[str, list[str]] = defaultdict(list)
    for (genre, performers), members in cells.items():
        own = performers and len(members) >= need  # else pooled with the genre's other groups
        strata[f"{genre} x {performers}" if own else genre] += members

    official = groups["official"].dropna()
    split_of = {str(g): str(s) for g, s in official.items()}
    stratum_of = dict.fromkeys(split_of, OFFICIAL_STRATUM)
    minutes = groups["minutes"].to_dict()
    for stratum, members in strata.items():
        order = sorted(members, key=lambda g: _seeded(seed, g))
        split_of.update(_fill([(g, float(minutes[g])) for g in order], share))
        stratum_of.update(dict.fromkeys(members, stratum))
    t["split"] = t["group"].map(split_of)
    _undominate(t, stratum_of, seed)
    t["stratum"] = t["group"].map(stratum_of)
    return t[["seq_id", "group", "split", "stratum"]].reset_index(drop=True)


def _top_up(
    order: list[tuple[str, float]], got: dict[str, float], total: float, share: dict[str, float]
) -> dict[str, str]:
    """Split the new groups of a stratum that already has split groups, given as (group,
    minutes) in seeded order: each goes to the first held-out split (test, then val) it brings
    closer to its share of the stratum's minutes `total` -- _fill's rule, with the minutes the
    splits already hold in `got` -- else to train."""
    out: dict[str, str] = {}
    for group, minutes in order:
        closer = [s for s in ("test", "val") if got[s] + minutes / 2 < share[s] * total]
        split = closer[0] if closer else "train"
        out[group] = split
        got[split] += minutes
    return out


def extend_splits(
    sequences: pd.DataFrame,
    stored: pd.DataFrame,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> pd.DataFrame:
    """The split of a library that changed since `stored` (a make_splits table) was made,
    moving no sequence that stored places: rows of sequences still there in the same group are
    kept as they are; a new sequence of a group stored joins that group's split.

    A new group is split as make_splits would place it, with the stored groups fixed: its
    official FineDance split, else its stratum (make_splits' over the library now; the genre's
    when the stored split has no group in that one) and seeded order (a hash of seed and the
    group id) decide, by _fill's rule over the stratum's minutes (`_top_up`); a stratum of new
    groups only is split by _fill itself. Nothing is moved back from test for dominance: that
    would move stored groups; check_splits reports it.
    """
    fresh = make_splits(sequences, seed, fractions)
    if stored.empty:
        return fresh
    share = dict(zip(SPLITS, fractions, strict=True))
    old = stored.astype({"seq_id": str}).drop_duplicates("seq_id").set_index("seq_id")
    same = fresh["seq_id"].isin(old.index)
    same &= fresh["group"].to_numpy() == old["group"].reindex(fresh["seq_id"]).to_numpy()
    kept = old.loc[fresh.loc[same, "seq_id"]].reset_index()
    split_of = dict(zip(kept["group"], kept["split"], strict=True))
    stratum_of = dict(zip(kept["group"], kept["stratum"], strict=True))
    t = _prepare(sequences)
    minutes = t.groupby("group")["minutes"].sum().to_dict()
    keys = t.drop_duplicates("group").set_index("group")["key"]
    new = fresh[~same & ~fresh["group"].isin(split_of)].drop_duplicates("group")
    by_stratum: dict[str, list[str]] = defaultdict(list)
    held: defaultdict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0.0))
    for group, stratum in stratum_of.items():
        split = split_of[group]
        held[stratum][split] = held[stratum].get(split, 0.0) + float(minutes.get(group, 0.0))
    for group, split, stratum in zip(new["group"], new["split"], new["stratum"], strict=True):
        if stratum == OFFICIAL_STRATUM:
            split_of[group], stratum_of[group] = split, stratum
            continue
        if stratum not in held and keys[group] in held:
            stratum = keys[group]  # a performer's stratum new to the library: the genre's
        by_stratum[stratum].append(group)
    for stratum, groups in by_stratum.items():
        order = [(g, float(minutes[g])) for g in sorted(groups, key=lambda g: _seeded(seed, g))]
        if stratum in held:
            got = held[stratum]
            total = sum(got.values()) + sum(m for _, m in order)
            split_of.update(_top_up(order, got, total, share))
        else:
            split_of.update(_fill(order, share))
        stratum_of.update(dict.fromkeys(groups, stratum))
    out = fresh[["seq_id", "group"]].copy()
    out["split"] = out["group"].map(split_of)
    out["stratum"] = out["group"].map(stratum_of)
    rows = out.set_index("seq_id")
    rows.loc[kept["seq_id"], ["split", "stratum"]] = kept.set_index("seq_id")[["split", "stratum"]]
    return rows.reset_index()[["seq_id", "group", "split", "stratum"]]


def check_splits(sequences: pd.DataFrame, splits: pd.DataFrame) -> list[str]:
    """Problems of a split: sequences without one, groups split apart, an empty or dominated
    test split (one genre or one performer over half its minutes while the library has
    others), genres in train but not in test."""
    problems = []
    t = _prepare(sequences)
    t["split"] = t["seq_id"].map(splits.set_index("seq_id")["split"]).fillna("none")
    if (t["split"] == "none").any():
        missing = t.loc[t["split"] == "none", "seq_id"]
        problems.append(f"{len(missing)} sequences have no split, e.g. {missing.iloc[0]}")
    odd = sorted(set(t["split"]) - {*SPLITS, "excluded", "none"})
    if odd:
        problems.append(f"unknown split names: {', '.join(odd)}")
    used = t[t["split"] != "excluded"]
    for group, splits_of in used.groupby("group")["split"]:
        if splits_of.nunique() > 1:
            problems.append(f"group {group} is in {' and '.join(sorted(set(splits_of)))}")
    for split in SPLITS:
        if not (t["split"] == split).any():
            problems.append(f"{split} split is empty")
    library_minutes = used["minutes"].sum()
    for column, value, share in _dominant(t):
        library = used.loc[used[column] == value, "minutes"].sum() / library_minutes
        what = "genre" if column == "key" else column
        problems.append(
            f"test split dominated by {what} {value!r}: {share:.0%} of its minutes "
            f"(library: {library:.0%})"
        )
    absent = sorted(
        set(t.loc[t["split"] == "train", "key"]) - set(t.loc[t["split"] == "test", "key"])
    )
    if absent:
        n = used.groupby("key")["group"].nunique()
        listed = ", ".join(f"{k} (groups: {n.get(k, 0)})" for k in absent)
        problems.append(f"genres in train but not in test: {listed}")
    return problems


def split_table(clips: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """Clip counts per genre (else category, else source) and split, with totals."""
    if clips.empty:
        return pd.DataFrame(0, index=pd.Index(["total"], name="genre"), columns=[*SPLITS, "total"])
    split = clips["seq_id"].map(splits.set_index("seq_id")["split"]).fillna("none")
    genre = pd.Series([genre_key(r) for r in clips.to_dict("records")], index=clips.index)
    table = pd.crosstab(
        genre.rename("genre"), split.rename("split"), margins=True, margins_name="total"
    )
    extra = [s for s in ("excluded", "none") if s in table.columns]
    return table.reindex(columns=[*SPLITS, *extra, "total"], fill_value=0)
