"""The automatic tagger: the taxonomy's rules applied to a clip's measured descriptors.

Owns the calibration (the percentile thresholds the rules name, fitted over the clips it is
given: the annotate pipeline gives it the train split's), rule evaluation, and the tags that come
from a source's own labels (genre).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dancesearch.annotate.taxonomy import TagAssignment, Tagset, Taxonomy
from dancesearch.errors import ConfigError

_NUMERIC = ("above", "below", "above_pct", "below_pct")


def _leaves(rule: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The single-descriptor conditions of a rule, depth first."""
    for key in ("all", "any"):
        if key in rule:
            for sub in rule[key]:
                yield from _leaves(sub)
            return
    else:
        yield rule


def _pct_key(pct: float) -> str:
    return f"{float(pct):g}"  # 75 and 75.0 name one threshold; JSON keys are text


@dataclass
class Calibration:
    """Thresholds the rules take from the library, and each descriptor's spread.

    thresholds: descriptor -> percentile ("75") -> value at that percentile of the library's
        clips, NaN where no clip has a value.
    scales: descriptor -> interquartile range over the library (1.0 where it is 0 or unknown);
        puts margins of different descriptors on one footing (see `auto_tags`).
    counts: descriptor -> clips that had a value (music descriptors: music clips only).
    """

    taxonomy_version: str
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def threshold(self, descriptor: str, pct: float) -> float:
        try:
            return self.thresholds[descriptor][_pct_key(pct)]
        except KeyError:
            raise ConfigError(
                f"calibration (taxonomy {self.taxonomy_version}) has no {pct:g}th percentile "
                f"of {descriptor!r}; refit it with fit_calibration"
            ) from None

    def scale(self, descriptor: str) -> float:
        return self.scales.get(descriptor, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON; NaN becomes None."""

        def clean(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {
            "taxonomy_version": self.taxonomy_version,
            "thresholds": {
                d: {p: clean(v) for p, v in by_pct.items()} for d, by_pct in self.thresholds.items()
            },
            "scales": dict(self.scales),
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        def num(x: Any) -> float:
            return float("nan") if x is None else float(x)

        return cls(
            taxonomy_version=str(data["taxonomy_version"]),
            thresholds={
                d: {str(p): num(v) for p, v in by_pct.items()}
                for d, by_pct in data["thresholds"].items()
            },
            scales={d: float(v) for d, v in data.get("scales", {}).items()},
            counts={d: int(v) for d, v in data.get("counts", {}).items()},
        )


def fit_calibration(descriptors: pd.DataFrame, taxonomy: Taxonomy) -> Calibration:
    """Percentile thresholds of every `above_pct` / `below_pct` condition in the taxonomy.

    descriptors: one row per library clip (`library_descriptors`). Percentiles are taken over the
    clips with a finite value, so music descriptors calibrate over music clips only; a missing
    column gives NaN thresholds, which no clip passes.
    """
    cal = Calibration(taxonomy.version)
    for tag in taxonomy.tags.values():
        for leaf in _leaves(tag.rule) if tag.rule is not None else ():
            name = leaf.get("descriptor")
            if name is None or not any(k in leaf for k in _NUMERIC):
                continue
            column = descriptors[name] if name in descriptors else pd.Series(dtype=float)
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]
            cal.counts[name] = len(values)
            iqr = float(np.subtract(*np.percentile(values, [75, 25]))) if len(values) else 0.0
            cal.scales[name] = iqr if iqr > 0 else 1.0
            for key in ("above_pct", "below_pct"):
                if key in leaf:
                    pct = float(leaf[key])
                    value = float(np.percentile(values, pct)) if len(values) else float("nan")
                    cal.thresholds.setdefault(name, {})[_pct_key(pct)] = value
    return cal


def refit_reason(stored: Mapping[str, Any], taxonomy: Taxonomy) -> str | None:
    """Why the calibration a library stored (its annotation record: "calibration",
    "calibration_fit") cannot be reused for taxonomy; None when it can."""
    old, fit = stored.get("calibration"), stored.get("calibration_fit") or {}
    if not old:
        return "none stored"
    if old.get("taxonomy_version") != taxonomy.version:
        return f"taxonomy {old.get('taxonomy_version')} -> {taxonomy.version}"
    if fit.get("on") != "train":  # fitted on all clips: held-out clips set thresholds
        return "the stored one was fitted on all clips"
    return None


def _number(value: Any) -> float | None:
    """A finite real number, or None (missing, NaN, text)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _margin(rule: Mapping[str, Any], values: Mapping[str, Any], cal: Calibration) -> float | None:
    """How far past its threshold a rule holds (in library interquartile ranges), or None when
    it does not hold. `above` is inclusive and `below` strict, so bands that share a boundary
    (tempo 100-125 and 125+) never both hold. `all`: the smallest margin of its parts; `any`: the
    largest margin of the parts that hold; `equals`: infinite (a category either matches or
    not)."""
    if "all" in rule:
        margins = [_margin(sub, values, cal) for sub in rule["all"]]
        if any(m is None for m in margins):
            return None
        return min(m for m in margins if m is not None)
    if "any" in rule:
        held = [m for m in (_margin(sub, values, cal) for sub in rule["any"]) if m is not None]
        return max(held) if held else None
    name = rule.get("descriptor")
    if name is None:
        raise ConfigError(f"rule {dict(rule)} names no descriptor")
    if "equals" in rule:
        return math.inf if values.get(name) == rule["equals"] else None
    x = _number(values.get(name))
    if x is None:
        return None  # missing or NaN: a silent clip holds no music rule
    for key, pct_key, sign in (("above", "above_pct", 1.0), ("below", "below_pct", -1.0)):
        if key in rule or pct_key in rule:
            threshold = float(rule[key]) if key in rule else cal.threshold(name, rule[pct_key])
            if math.isnan(threshold):
                return None
            past = sign * (x - threshold) / cal.scale(name)
            holds = past >= 0 if sign > 0 else past > 0
            return past if holds else None
    raise ConfigError(f"rule {dict(rule)} has none of above, below, above_pct, below_pct, equals")


def _evidence(rule: Mapping[str, Any], values: Mapping[str, Any]) -> float | str | None:
    """The value of the rule's first descriptor, as plain Python."""
    name = next(_leaves(rule)).get("descriptor")
    value = values.get(name) if name is not None else None
    return value if isinstance(value, str) else _number(value)


def auto_tags(
    clip_id: str, descriptors: Mapping[str, Any], calibration: Calibration, taxonomy: Taxonomy
) -> Tagset:
    """The tags whose rules hold for a clip's descriptors (source "auto").

    A missing or NaN descriptor makes its condition false. Evidence is the value of the rule's
    first descriptor. In an exclusive facet where several rules hold (only possible with
    overlapping rules), the tag whose rule holds by the largest margin wins: distance past the
    threshold in library interquartile ranges, the weakest part for an `all` rule; ties keep the
    earlier tag of the facet.
    """
    tagset = Tagset(clip_id)
    for facet in taxonomy.facets:
        held = []
        for tag in facet.tags:
            if tag.rule is None:
                continue
            margin = _margin(tag.rule, descriptors, calibration)
            if margin is not None:
                held.append((margin, tag))
        if facet.exclusive and len(held) > 1:
            best = max(range(len(held)), key=lambda i: (held[i][0], -i))
            held = [held[best]]
        for _, tag in held:
            assert tag.rule is not None
            tagset.tags[tag.id] = TagAssignment(tag.id, "auto", _evidence(tag.rule, descriptors))
    return tagset


def label_tags(clip_id: str, genre: str | None, taxonomy: Taxonomy) -> Tagset:
    """Tags from the source's own labels: the genre tag (source "human", evidence the label)."""
    tagset = Tagset(clip_id)
    if genre is not None and isinstance(genre, str) and genre.strip():
        tag = taxonomy.genre_tag(genre)
        tagset.tags[tag.id] = TagAssignment(tag.id, "human", genre)
    return tagset
