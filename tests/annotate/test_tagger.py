"""The tagger: rules on calibrated descriptors, proved on a small library of constructed motions."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from dancesearch.annotate.descriptors import motion_descriptors, music_descriptors
from dancesearch.annotate.tagger import Calibration, auto_tags, fit_calibration, label_tags
from dancesearch.annotate.taxonomy import Facet, Tag, Taxonomy, load_taxonomy
from dancesearch.errors import ConfigError
from tests.fixtures import motions as fx

TAXONOMY = load_taxonomy()
MOTION_TAG = ("arms.", "legs.", "torso.", "fluidity.", "space.", "intensity.")


@pytest.fixture(scope="module")
def library() -> dict[str, dict[str, float | str]]:
    """Descriptors of the constructed motions plus a few varied ones, by name."""
    motions = {
        "arms_only": fx.arms_only(),
        "sharp": fx.arm_path(sharp=True),
        "smooth": fx.arm_path(sharp=False),
        "spin": fx.spin(),
        "walk": fx.walk(heading=0.7),
        "walk_sideways": fx.walk(speed=0.6, sideways=True),
        "jumps": fx.jumps(),
        "standing": fx.standing(),
        **{f"groove{i}": fx.groove(seed=i) for i in range(3)},
    }
    return {name: motion_descriptors(j, fx.FPS) for name, j in motions.items()}


@pytest.fixture(scope="module")
def tags(library: dict[str, dict[str, float | str]]) -> dict[str, set[str]]:
    frame = pd.DataFrame([{"clip_id": k, **v} for k, v in library.items()])
    cal = fit_calibration(frame, TAXONOMY)
    return {k: auto_tags(k, v, cal, TAXONOMY).ids() for k, v in library.items()}


def test_arms_only(tags: dict[str, set[str]]) -> None:
    got = tags["arms_only"]
    assert {"arms.raise", "arms.wave", "arms.isolation", "space.stationary"} <= got
    assert not got & {"legs.steps", "legs.jump", "legs.spin", "space.travelling", "arms.hold"}


def test_sharp_and_smooth(tags: dict[str, set[str]]) -> None:
    assert "fluidity.sharp" in tags["sharp"] and "fluidity.smooth" not in tags["sharp"]
    assert "fluidity.smooth" in tags["smooth"] and "fluidity.sharp" not in tags["smooth"]


def test_spin_in_place(tags: dict[str, set[str]]) -> None:
    got = tags["spin"]
    assert {"legs.spin", "space.turning", "space.stationary"} <= got
    assert not got & {"space.travelling", "space.forward", "legs.steps", "legs.jump"}


def test_travelling_in_a_line(tags: dict[str, set[str]]) -> None:
    assert {"space.travelling", "space.forward", "legs.steps"} <= tags["walk"]
    assert {"space.travelling", "space.sideways"} <= tags["walk_sideways"]
    for name in ("walk", "walk_sideways"):
        assert not tags[name] & {"space.turning", "legs.spin", "legs.jump", "space.stationary"}


def test_jump(tags: dict[str, set[str]]) -> None:
    assert {"legs.jump", "space.levels"} <= tags["jumps"]
    assert all("legs.jump" not in t for name, t in tags.items() if name != "jumps")


def test_every_exclusive_facet_gives_at_most_one(tags: dict[str, set[str]]) -> None:
    for facet in TAXONOMY.facets:
        if facet.exclusive:
            ids = {t.id for t in facet.tags}
            assert all(len(got & ids) <= 1 for got in tags.values()), facet.id
    assert all(
        len(got & {t.id for t in TAXONOMY.facet("intensity").tags}) == 1 for got in tags.values()
    )


def test_silent_clip_gets_no_music_tags(tags: dict[str, set[str]]) -> None:
    for got in tags.values():
        assert got and all(t.startswith(MOTION_TAG) for t in got)


# ----------------------------------------------------------------------------------- rules
def music_clip(bpm: float, beat_cv_s: float = 0.0) -> dict[str, float]:
    beats = np.arange(0.1, 12.0, 60.0 / bpm)
    beats = beats + np.random.default_rng(0).normal(0.0, beat_cv_s, len(beats))
    music = np.zeros((360, 35))
    music[:, 20:32] = 1.0
    music[:, 20] = 2.0
    music[:, 32] = 1.0
    return music_descriptors(music, beats, bpm, fx.FPS)


@pytest.mark.parametrize(
    ("bpm", "tempo"),
    [
        (90.0, "tempo.slow"),
        (100.0, "tempo.moderate"),
        (124.9, "tempo.moderate"),
        (140.0, "tempo.fast"),
    ],
)
def test_tempo_from_bpm(bpm: float, tempo: str) -> None:
    cal = fit_calibration(pd.DataFrame([music_clip(bpm)]), TAXONOMY)
    got = auto_tags("c", music_clip(bpm), cal, TAXONOMY)
    assert {t for t in got.ids() if t.startswith("tempo.")} == {tempo}
    assert got.tags[tempo].evidence == pytest.approx(bpm) and got.tags[tempo].source == "auto"
    assert "rhythm.steady" in got.ids()
    assert "rhythm.steady" not in auto_tags("c", music_clip(bpm, 0.04), cal, TAXONOMY).ids()


def test_percentiles_ignore_nan() -> None:
    frame = pd.DataFrame(
        {
            "syncopation": [0.1, 0.2, np.nan, 0.3, 0.4, np.nan, 0.5],
            "sharpness": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    cal = fit_calibration(frame, TAXONOMY)
    assert cal.threshold("syncopation", 75) == pytest.approx(0.4)  # of the 5 music clips
    assert cal.counts["syncopation"] == 5 and cal.counts["sharpness"] == 7
    assert cal.threshold("sharpness", 33) == pytest.approx(np.percentile(range(1, 8), 33))
    assert math.isnan(cal.threshold("swing", 80))  # no column: no clip passes
    assert "rhythm.swung" not in auto_tags("c", {"swing": 9.0}, cal, TAXONOMY).ids()


def test_missing_or_nan_descriptor_is_false() -> None:
    cal = fit_calibration(pd.DataFrame({"bpm": [90.0]}), TAXONOMY)
    assert not auto_tags("c", {"bpm": float("nan"), "beat_cv": None}, cal, TAXONOMY).ids()
    assert not auto_tags("c", {}, cal, TAXONOMY).ids()


def test_calibration_round_trips_through_json() -> None:
    frame = pd.DataFrame({"sway": [0.01, 0.02, 0.03], "swing": [np.nan] * 3})
    cal = fit_calibration(frame, TAXONOMY)
    again = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again.threshold("sway", 75) == cal.threshold("sway", 75)
    assert math.isnan(again.threshold("swing", 80))
    assert again.taxonomy_version == TAXONOMY.version and again.scales == cal.scales
    with pytest.raises(ConfigError, match="refit"):
        Calibration(TAXONOMY.version).threshold("sway", 75)


def overlapping(exclusive: bool = True) -> Taxonomy:
    """A facet whose rules overlap, on descriptors of different scales."""
    tags = (
        Tag("speed.x", "speed", ("x",), "X.", {"descriptor": "x", "above": 1.0}),
        Tag("speed.y", "speed", ("y",), "Y.", {"descriptor": "y", "above_pct": 50}),
    )
    return Taxonomy("t", (Facet("speed", "motion", exclusive, "Speed.", tags),))


def test_exclusive_facet_keeps_the_clearest() -> None:
    taxonomy = overlapping()
    library = pd.DataFrame({"x": [0.0, 2.0, 4.0], "y": [0.0, 20.0, 40.0]})
    cal = fit_calibration(library, taxonomy)  # x: IQR 2; y: median 20, IQR 20
    # margins in library IQRs: x (5 - 1) / 2 = 2; y (70 - 20) / 20 = 2.5, (50 - 20) / 20 = 1.5
    assert auto_tags("c", {"x": 5.0, "y": 70.0}, cal, taxonomy).ids() == {"speed.y"}
    assert auto_tags("c", {"x": 5.0, "y": 50.0}, cal, taxonomy).ids() == {"speed.x"}
    assert auto_tags("c", {"x": 0.0, "y": 50.0}, cal, taxonomy).ids() == {"speed.y"}
    both = auto_tags("c", {"x": 5.0, "y": 70.0}, cal, overlapping(exclusive=False))
    assert both.ids() == {"speed.x", "speed.y"}
    assert both.tags["speed.y"].evidence == 70.0


def test_label_tags() -> None:
    got = label_tags("c", "Waltz", TAXONOMY)
    assert got.ids() == {"genre.waltz"}
    assert got.tags["genre.waltz"].source == "human" and got.tags["genre.waltz"].evidence == "Waltz"
    assert label_tags("c", "Lindy Hop", TAXONOMY).ids() == {"genre.lindy-hop"}
    assert not label_tags("c", None, TAXONOMY).ids() and not label_tags("c", " ", TAXONOMY).ids()


def test_an_any_rule_holds_when_one_part_holds_by_its_largest_margin() -> None:
    from dancesearch.annotate.tagger import Calibration, _margin

    rule = {"any": [{"descriptor": "a", "above": 1.0}, {"descriptor": "b", "above": 5.0}]}
    cal = Calibration("test")
    assert _margin(rule, {"a": 0.5, "b": 4.0}, cal) is None
    assert _margin(rule, {"a": 3.0, "b": 4.0}, cal) == pytest.approx(2.0)
    assert _margin(rule, {"a": 3.0, "b": 9.0}, cal) == pytest.approx(4.0)
    assert _margin(rule, {"a": float("nan"), "b": 6.0}, cal) == pytest.approx(1.0)
