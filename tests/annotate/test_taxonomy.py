import re

import pytest

from dancesearch.annotate.taxonomy import DEFAULT_PATH, load_taxonomy
from dancesearch.errors import ConfigError

RULE_KEYS = {"descriptor", "above", "below", "above_pct", "below_pct", "equals", "all", "any"}


def rule_descriptors(rule):
    assert set(rule) <= RULE_KEYS, rule
    for key in ("all", "any"):
        if key in rule:
            return [d for sub in rule[key] for d in rule_descriptors(sub)]
    return [rule["descriptor"]]


def test_every_tag_is_defined_worded_and_in_its_facet():
    taxonomy = load_taxonomy()
    assert re.fullmatch(r"\d+\.\d+", taxonomy.version)
    facets = {f.id for f in taxonomy.facets}
    assert {"genre", "rhythm", "tempo", "valence", "energy"} <= facets  # music
    assert {"arms", "legs", "torso", "fluidity", "space", "intensity"} <= facets  # motion
    for tag in taxonomy.tags.values():
        assert tag.definition.endswith(".") and len(tag.definition) > 10, tag.id
        assert tag.words and all(w == w.lower() for w in tag.words), tag.id
        assert tag.facet in facets and tag.id.startswith(tag.facet + ".")
        if tag.facet != "genre":
            assert tag.rule is not None, f"{tag.id} has no rule for the automatic tagger"


def test_rules_name_descriptors_the_tagger_measures():
    from dancesearch.annotate import descriptors

    measured = set(descriptors.MOTION_DESCRIPTORS) | set(descriptors.MUSIC_DESCRIPTORS)
    for tag in load_taxonomy().tags.values():
        if tag.rule:
            for name in rule_descriptors(tag.rule):
                assert name in measured, f"{tag.id}: rule uses unknown descriptor {name!r}"


def test_genre_labels_map_to_tags_and_unknown_tags_are_config_errors():
    taxonomy = load_taxonomy()
    assert taxonomy.genre_tag("Cha-Cha").id == "genre.cha-cha"
    new = taxonomy.genre_tag("Street Jazz")
    assert new.id == "genre.street-jazz" and new.words == ("street jazz",)
    with pytest.raises(ConfigError, match="unknown tag 'legs.moonwalk'"):
        taxonomy.tag("legs.moonwalk")


def test_a_broken_taxonomy_file_names_itself(tmp_path):
    bad = tmp_path / "taxonomy.toml"
    bad.write_text(DEFAULT_PATH.read_text().replace('version = "2.0"', "version = "))
    with pytest.raises(ConfigError, match="taxonomy.toml: cannot read taxonomy"):
        load_taxonomy(bad)
