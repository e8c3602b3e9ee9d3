import random
import re
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dancesearch.annotate.captions import (
    FOCUS,
    MAX_WORDS,
    TEMPLATES,
    Caption,
    claimed_tags,
    human_captions,
    load_rewriter,
    rewrite_captions,
    validate,
    write_captions,
)
from dancesearch.annotate.taxonomy import Tag, TagAssignment, Tagset, load_taxonomy
from dancesearch.errors import ConfigError

TAXONOMY = load_taxonomy()
FILE_GENRES = [t.words[0] for t in TAXONOMY.facet("genre").tags]
NEW_GENRES = ["hip-hop", "LA hip-hop", "krump", "house", "street jazz", "ballet"]
SUBJECTS = ["dance", "movement", "karate sequence", "walk"]


def tagset(clip_id: str, ids: list[str], genre: str | None = None) -> Tagset:
    ts = Tagset(clip_id, {i: TagAssignment(i, "auto") for i in ids})
    if genre:
        tag = TAXONOMY.genre_tag(genre)
        ts.tags[tag.id] = TagAssignment(tag.id, "human", genre)  # labels keep their spelling
    return ts


def random_tagset(rng: random.Random, clip_id: str, music: bool, p: float = 0.3) -> Tagset:
    """Tags that respect exclusive facets; music facets only when the clip has music."""
    ids = []
    for facet in TAXONOMY.facets:
        if facet.id == "genre" or (facet.domain != "motion" and not music):
            continue
        tag_ids = [t.id for t in facet.tags]
        if facet.exclusive:
            ids += [rng.choice(tag_ids)] if rng.random() < 0.6 else []
        else:
            ids += [t for t in tag_ids if rng.random() < p]
    genre = rng.choice([None, *FILE_GENRES, *NEW_GENRES])
    return tagset(clip_id, ids, genre)


@st.composite
def tagsets(draw: st.DrawFn) -> Tagset:
    rng = random.Random(draw(st.integers(0, 2**32)))
    clip_id = draw(st.text("0123456789abcdef", min_size=4, max_size=16))
    return random_tagset(rng, clip_id, music=draw(st.booleans()), p=draw(st.floats(0, 1)))


@settings(max_examples=250, deadline=None)
@given(tagsets(), st.integers(0, 10**6), st.sampled_from(SUBJECTS))
def test_written_captions_claim_only_the_clips_tags(ts, seed, subject):
    captions = write_captions(ts, TAXONOMY, seed, subject=subject)
    assert len(captions) <= 6
    for c in captions:
        assert c.source == "template" and c.type in FOCUS
        assert validate(c.text, ts, TAXONOMY) == [], c.text
        assert c.text.strip() and len(c.text.split()) <= 16
        assert set(c.tags) <= ts.ids() and c.tags == claimed_tags(c.text, ts, TAXONOMY)
        focus = {t for t in c.tags if t.split(".")[0] in FOCUS[c.type]}
        assert focus, f"{c.type} caption {c.text!r} names none of its type's tags"
        assert not re.search(r"\ba [aeiou]|\ban [^aeiou]", c.text), c.text  # article agreement
        assert c.text.split()[-1] not in {"a", "an", "and", "with", "to", "in", "over"}, c.text
    assert len({c.text for c in captions}) == len(captions)
    assert write_captions(ts, TAXONOMY, seed, subject=subject) == captions


def test_seeds_and_clips_vary_the_captions():
    rng = random.Random(7)
    clips = [random_tagset(rng, f"clip{i}", music=True, p=0.5) for i in range(40)]
    texts = [[c.text for c in write_captions(ts, TAXONOMY, 0)] for ts in clips]
    other_seed = [[c.text for c in write_captions(ts, TAXONOMY, 1)] for ts in clips]
    assert sum(a != b for a, b in zip(texts, other_seed, strict=True)) >= 36
    renamed = [Tagset(ts.clip_id + "x", ts.tags) for ts in clips]
    other_clip = [[c.text for c in write_captions(ts, TAXONOMY, 0)] for ts in renamed]
    assert sum(a != b for a, b in zip(texts, other_clip, strict=True)) >= 36


def structure(c: Caption) -> int:
    """Index of the template of the caption's type that fits it with the most fixed text."""
    fits = []
    for i, template in enumerate(TEMPLATES[c.type]):
        literal = re.split(r"\{[a-z0-9 ]+\}", template)
        parts = [re.sub(r"(?<![a-z])a\\ ", r"an?\\ ", re.escape(p)) for p in literal]
        if re.fullmatch(".+".join(parts), c.text):
            fits.append((-len("".join(literal)), i))
    assert fits, f"{c.text!r} fits no {c.type} template"
    return min(fits)[1]


def test_every_type_appears_with_varied_structures_and_words():
    rng = random.Random(3)
    captions = [
        c
        for i in range(300)
        for c in write_captions(
            random_tagset(rng, f"c{i}", music=i % 3 > 0, p=0.4), TAXONOMY, i, rng.choice(SUBJECTS)
        )
    ]
    by_type: dict[str, set[int]] = {}
    for c in captions:
        by_type.setdefault(c.type, set()).add(structure(c))
    assert set(by_type) == set(FOCUS)
    for kind, structures in by_type.items():
        assert len(structures) >= 5, (kind, structures)
    # vocabulary: several of a tag's words are used, not always the first
    fast = [c.text for c in captions if "tempo.fast" in c.tags]
    assert {"fast", "quick", "up-tempo"} <= {w for t in fast for w in t.split()}


def test_few_tags_give_few_captions():
    assert write_captions(tagset("a", []), TAXONOMY, 0) == []
    only_genre = write_captions(tagset("b", [], "waltz"), TAXONOMY, 0)
    assert [(c.type, c.tags) for c in only_genre] == [("style", ("genre.waltz",))]
    karate = write_captions(
        tagset("c", ["legs.kick", "intensity.explosive"]), TAXONOMY, 0, "karate sequence"
    )
    assert sorted(c.type for c in karate) == ["body", "style"]
    assert all("karate sequence" in c.text for c in karate)
    rich = random_tagset(random.Random(1), "d", music=True, p=0.8)
    assert len(write_captions(rich, TAXONOMY, 0, n=3)) == 3


def test_a_subject_that_claims_an_absent_tag_is_a_config_error():
    with pytest.raises(ConfigError, match="turning drill"):
        write_captions(tagset("a", ["legs.steps"]), TAXONOMY, 0, subject="turning drill")


SLOW_WALTZ = tagset("w", ["tempo.slow", "fluidity.smooth", "intensity.moderate"], "waltz")


def test_validator_rejects_absent_movements_wrong_tempo_and_genre():
    problems = validate("a fast waltz with jumps", SLOW_WALTZ, TAXONOMY)
    assert problems == [
        "claims 'fast' (tempo.fast) which the clip lacks",
        "claims 'jumps' (legs.jump) which the clip lacks",
    ]
    assert validate("A SLOW Waltz, smooth and measured", SLOW_WALTZ, TAXONOMY) == []
    assert validate("a slow tango", SLOW_WALTZ, TAXONOMY) == [
        "claims 'tango' (genre.tango) which the clip lacks"
    ]
    hip_hop = tagset("h", ["tempo.fast"], "hip-hop")
    assert validate("a fast hip-hop dance", hip_hop, TAXONOMY) == []
    assert len(validate("a fast salsa", hip_hop, TAXONOMY)) == 1
    # genres outside the file are claims only when named: the clip's own, or the library's
    assert validate("a slow hip-hop dance", SLOW_WALTZ, TAXONOMY) == []
    assert validate("a slow hip-hop dance", SLOW_WALTZ, TAXONOMY, genres=["hip-hop"]) == [
        "claims 'hip-hop' (genre.hip-hop) which the clip lacks"
    ]
    assert validate("", SLOW_WALTZ, TAXONOMY) == ["empty caption"]
    assert validate("slow waltz " * 8, SLOW_WALTZ, TAXONOMY) == ["16 words, more than 14"]
    assert MAX_WORDS == 14


def test_longest_phrase_wins_and_words_need_boundaries():
    # "moderate-intensity" is the intensity tag, not the moderate tempo inside it
    assert claimed_tags("a moderate-intensity waltz", SLOW_WALTZ, TAXONOMY) == (
        "genre.waltz",
        "intensity.moderate",
    )
    assert validate("a moderate-intensity waltz", SLOW_WALTZ, TAXONOMY) == []
    assert validate("a moderate waltz", SLOW_WALTZ, TAXONOMY) == [
        "claims 'moderate' (tempo.moderate) which the clip lacks"
    ]
    # "quick feet" is footwork, not a fast tempo; "moving forward" is one claim
    feet = tagset("f", ["legs.footwork", "space.forward"])
    assert validate("quick feet moving  forward", feet, TAXONOMY) == []
    assert claimed_tags("quick feet moving forward", feet, TAXONOMY) == (
        "legs.footwork",
        "space.forward",
    )
    assert validate("breakfast steadily", SLOW_WALTZ, TAXONOMY) == []  # "fast", "steady" inside


def test_human_descriptions_are_kept_verbatim():
    captions = human_captions(["  salsa dance ", "salsa dance", "", "Two people doing a JIVE"])
    assert captions == [
        Caption("salsa dance", "human", "human", ()),
        Caption("Two people doing a JIVE", "human", "human", ()),
    ]


RICH_WALTZ = tagset(
    "r", ["tempo.slow", "arms.hold", "fluidity.smooth", "space.travelling", "legs.steps"], "waltz"
)


def half_wrong(tags: list[Tag], captions: list[str]) -> list[str]:
    """A stand-in for an LLM: rephrases, but adds jumps (which the clip lacks) to every other."""
    assert all(t.definition for t in tags) and captions
    good = [f"clip of {text}" for text in captions[::2]]
    bad = [f"{text} and jumps" for text in captions[1::2]]
    return [*good, *bad, "a nice dance", 42]  # type: ignore[list-item]


def krump(tags: list[Tag], captions: list[str]) -> list[str]:
    return ["a krump waltz with a partner hold"]


def broken(tags: list[Tag], captions: list[str]) -> list[str]:
    raise TimeoutError("model offline")


def test_rewrites_pass_the_same_validator():
    written = write_captions(RICH_WALTZ, TAXONOMY, 0)
    kept, rejected = rewrite_captions(RICH_WALTZ, TAXONOMY, written, half_wrong)
    assert kept[: len(written)] == written
    llm = kept[len(written) :]
    assert len(llm) == len(written[::2]) and all(c.source == "llm" for c in llm)
    for c in llm:
        assert validate(c.text, RICH_WALTZ, TAXONOMY) == [] and c.text.startswith("clip of ")
        assert c.tags == claimed_tags(c.text, RICH_WALTZ, TAXONOMY) and c.type in FOCUS
    jumps = [r for r in rejected if "'jumps' (legs.jump) which the clip lacks" in r]
    assert len(jumps) == len(written[1::2])
    assert "'a nice dance': names none of the clip's tags" in rejected
    assert "42: not a string" in rejected
    # an LLM may name any genre: the library's genres make those claims too
    assert rewrite_captions(RICH_WALTZ, TAXONOMY, [], krump)[1] == []
    assert rewrite_captions(RICH_WALTZ, TAXONOMY, [], krump, genres=["krump", "waltz"])[1] == [
        "'a krump waltz with a partner hold': claims 'krump' (genre.krump) which the clip lacks"
    ]


def test_a_failing_rewriter_leaves_the_template_captions():
    written = write_captions(RICH_WALTZ, TAXONOMY, 0)
    kept, rejected = rewrite_captions(RICH_WALTZ, TAXONOMY, written, broken)
    assert kept == written
    assert rejected == ["rewriter failed: TimeoutError: model offline"]


def test_load_rewriter():
    assert load_rewriter(None) is None and load_rewriter("") is None
    assert load_rewriter("textwrap:dedent") is textwrap.dedent
    for spec in ("no_such_module_xyz:rewrite", "textwrap:no_such_function", "textwrap:__doc__"):
        with pytest.raises(ConfigError, match=re.escape(spec)):
            load_rewriter(spec)
    with pytest.raises(ConfigError, match="package.module:function"):
        load_rewriter("textwrap")
