"""Captions from tags: short, query-like texts of six kinds, written from templates with a seed.

`validate` rejects any caption naming a taxonomy word the clip's tags do not support; people's
own descriptions are kept as they are, and an optional LLM rewriter's output is validated too.
"""

from __future__ import annotations

import importlib
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, cast

from dancesearch.annotate.taxonomy import Tag, Tagset, Taxonomy
from dancesearch.errors import ConfigError

CaptionType = Literal["style", "rhythm", "body", "spatial", "transition", "mood", "human", "label"]
CaptionSource = Literal["template", "human", "llm", "label"]
Rewriter = Callable[[list[Tag], list[str]], list[str]]
"""Given a clip's tags (with definitions) and its template captions, return rewritten captions."""

MAX_WORDS = 14  # search-box length; longer texts are rejected, whoever wrote them


@dataclass(frozen=True)
class Caption:
    text: str
    type: CaptionType
    source: CaptionSource
    tags: tuple[str, ...] = ()  # the tag ids the text claims (empty for people's own words)


# ----------------------------------------------------------------------------- templates
# A slot draws a word from one of the clip's tags in the given facets, in a grammatical form:
# "adj" goes before a noun, "np" after "with", "post" after the subject ("dance travelling").
# A numbered slot ("moves2") takes a tag no other slot of the caption took; "{look moves}"
# puts an adjective in front of a noun phrase ("a sharp partner hold"). {head} is the subject,
# with the genre in front when the clip has one ("salsa dance").
_SLOTS: dict[str, tuple[tuple[str, ...], str]] = {
    "genre": (("genre",), "adj"),
    "look": (("fluidity", "intensity"), "adj"),
    "quality": (("fluidity",), "adj"),
    "intensity": (("intensity",), "adj"),
    "tempo": (("tempo",), "adj"),
    "rhythm": (("rhythm",), "adj"),
    "feel": (("rhythm",), "np"),
    "beat": (("musicality",), "post"),
    "mood": (("valence",), "adj"),
    "energy": (("energy",), "adj"),
    "moves": (("arms", "legs", "torso"), "np"),
    "motion": (("arms", "legs", "torso"), "adj"),
    "place": (("space",), "post"),
    "spatial": (("space",), "adj"),
    "path": (("space",), "np"),
}

# The facets a caption type is about: it applies to clips with one of these tags, every caption
# of the type claims at least one, and their count caps the type's captions (no padding).
FOCUS: dict[str, tuple[str, ...]] = {
    "style": ("genre", "intensity", "fluidity"),
    "rhythm": ("tempo", "rhythm", "musicality"),
    "body": ("arms", "legs", "torso"),
    "spatial": ("space",),
    "transition": ("fluidity",),
    "mood": ("valence", "energy"),
}

TEMPLATES: dict[str, tuple[str, ...]] = {
    "style": (
        "a {look} {head}",
        "{look} {head}",
        "{look} and {look2} {head}",
        "a {look}, {look2} {head}",
        "{head} with a {look} style",
        "{head} in a {look}, {look2} style",
        "{look} {head} with {moves}",
        "a {head}",
        "{genre} dancing",
    ),
    "rhythm": (
        "a {tempo} {head}",
        "{head} to a {tempo} beat",
        "{head} over a {tempo}, {rhythm} beat",
        "{head} to {rhythm} music",
        "{look moves} over a {tempo} beat",
        "{head} {beat}",
        "{tempo} {head} {beat}",
        "{head} with a {rhythm} rhythm",
        "{head} with {feel}",
        "{moves} {beat}",
        "{tempo}, {rhythm} {head}",
    ),
    "body": (
        "{head} with {moves}",
        "{head} with {moves} and {moves2}",
        "{moves} and {moves2}",
        "{motion} {head} with {moves}",
        "{head} featuring {moves}",
        "{moves} in a {head}",
        "a {motion} {head}",
        "{look moves} and {moves2}",
        "{head} mixing {moves} with {moves2}",
    ),
    "spatial": (
        "{head} {place}",
        "{head} {place} and {place2}",
        "a {spatial} {head}",
        "{head} with {path}",
        "{spatial} {head} with {path}",
        "{look} {head} {place}",
        "{look} {motion} {head} {place}",
        "{head} {place} with {moves}",
    ),
    "transition": (
        "{head} with {quality} transitions",
        "{quality} transitions between {moves} and {moves2}",
        "{quality} transitions in a {head}",
        "{head}, {quality} from one move to the next",
        "{quality} changes between moves",
        "{quality} transitions from {moves} to {moves2}",
        "{head} linking moves in a {quality} way",
    ),
    "mood": (
        "{head} to {mood} music",
        "a {mood}, {energy} {head}",
        "{head} with a {mood} feel",
        "{intensity} {head} to {energy} music",
        "{intensity} {head} to {energy}, {mood} music",
        "{mood} and {energy} {head}",
        "{head} to {energy} music",
        "{head} set to {mood}, {energy} music",
    ),
}

_ADJ_FACETS = {"genre", "tempo", "rhythm", "valence", "energy", "fluidity", "intensity"}
_BODY_FACETS = {"arms", "legs", "torso"}
# Taxonomy words whose grammar their facet does not predict ("steps" but "swing feel",
# "turns"); a word left out of every form ("curling") is never written, only validated.
_FORMS: dict[str, dict[str, str]] = {
    "moderate": {"adj": "moderate-tempo"},  # "a moderate waltz" would not say what is moderate
    "swing feel": {"np": "a swing feel"},
    "isolated arm": {"np": "isolated arm movements"},
    "reaching up": {"np": "arms reaching up"},
    "partner hold": {"np": "a partner hold"},
    "ballroom frame": {"np": "a ballroom frame"},
    "closed hold": {"np": "a closed hold"},
    "dance frame": {"np": "a dance frame"},
    "twisting torso": {"np": "a twisting torso"},
    "contracting torso": {"np": "a contracting torso"},
    "curling": {},  # a sport too; and "a curling / bending / leaning dance" reads badly
    "bending": {},
    "leaning": {},
    "stationary": {"adj": "stationary"},
    "turns": {"np": "turns"},
    "level changes": {"np": "level changes"},
    "lateral": {"np": "lateral movement"},
    "in place": {"post": "in place"},
    "on the spot": {"post": "on the spot"},
}
# Words that may repeat in a caption; any other repeat ("beat ... off-beat", a second "and")
# reads badly.
_GLUE = {"a", "an", "the", "with", "to", "of", "in", "on", "over", "at", "from", "into"}


def _forms(tag: Tag, word: str) -> dict[str, str]:
    if word in _FORMS:
        return _FORMS[word]
    first = word.split()[0]
    if tag.facet in _ADJ_FACETS:
        return {"adj": word}
    if tag.facet in _BODY_FACETS:
        return {"adj": word} if " " not in word and word.endswith("ing") else {"np": word}
    if tag.facet == "space":
        if not first.endswith("ing"):
            return {"post": f"moving {word}"}  # forward, sideways, side to side
        return {"post": word, "adj": word} if " " not in word else {"post": word}
    return {"post": word}  # musicality: "on the beat"


def _premodify(adj: str, np: str) -> str | None:
    # "sharp kicks", but not "a sharp closed hold" or "crisp arms reaching up"
    return None if np.startswith(("a ", "arms ")) else f"{adj} {np}"


# ----------------------------------------------------------------------------- validation
def _clip_tags(tagset: Tagset, taxonomy: Taxonomy) -> list[Tag]:
    """The clip's tags, sorted; genres outside the taxonomy file get their own tag."""
    known = taxonomy.tags
    tags = []
    for tag_id in sorted(tagset.tags):
        if tag_id in known:
            tags.append(known[tag_id])
        elif tag_id.startswith("genre."):
            label = tagset.tags[tag_id].evidence  # the source's label keeps its spelling
            tag = taxonomy.genre_tag(label) if isinstance(label, str) else None
            if tag is None or tag.id != tag_id:
                tag = taxonomy.genre_tag(tag_id.removeprefix("genre."))
            tags.append(tag)
        else:
            raise ConfigError(
                f"clip {tagset.clip_id}: unknown tag {tag_id!r} (taxonomy {taxonomy.version})"
            )
    return tags


@dataclass(frozen=True)
class _Lexicon:
    """Every claimable phrase, to the tag ids it names, and one longest-first pattern."""

    tags: dict[str, frozenset[str]]
    pattern: re.Pattern[str]


def _lexicon(tagset: Tagset, taxonomy: Taxonomy, genres: Iterable[str] = ()) -> _Lexicon:
    extra = [taxonomy.genre_tag(g) for g in genres]
    phrases: dict[str, set[str]] = {}
    for tag in [*taxonomy.tags.values(), *_clip_tags(tagset, taxonomy), *extra]:
        for word in tag.claims:
            phrases.setdefault(" ".join(word.lower().split()), set()).add(tag.id)
    # Longest first, so "moderate-intensity" is one claim (intensity) rather than "moderate"
    # (tempo), and "quick feet" is footwork, not a fast tempo; a match consumes its span.
    ordered = sorted(phrases, key=lambda p: (-len(p), p))
    alternatives = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in ordered)
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    return _Lexicon({p: frozenset(t) for p, t in phrases.items()}, pattern)


def _claims(text: str, lexicon: _Lexicon) -> list[tuple[str, frozenset[str]]]:
    """(phrase, tag ids it may name) for every taxonomy phrase in the text, in order."""
    found = []
    for m in lexicon.pattern.finditer(text):
        phrase = " ".join(m.group(0).lower().split())
        found.append((phrase, lexicon.tags[phrase]))
    return found


def _problems(text: str, ids: set[str], lexicon: _Lexicon) -> list[str]:
    words = text.split()
    if not words:
        return ["empty caption"]
    problems = [f"{len(words)} words, more than {MAX_WORDS}"] if len(words) > MAX_WORDS else []
    for phrase, tags in dict(_claims(text, lexicon)).items():
        if not tags & ids:
            problems.append(f"claims {phrase!r} ({', '.join(sorted(tags))}) which the clip lacks")
    return problems


def validate(
    text: str, tagset: Tagset, taxonomy: Taxonomy, genres: Iterable[str] = ()
) -> list[str]:
    """Problems with a caption for this clip; empty when it is valid.

    Every taxonomy word or phrase in the text (case-insensitive, whole words, longest first)
    must belong to a tag the clip has. genres: further genre labels (for example all of the
    library's) that count as claims, beyond those in the taxonomy file and the clip's own.
    """
    return _problems(text, tagset.ids(), _lexicon(tagset, taxonomy, genres))


def claimed_tags(text: str, tagset: Tagset, taxonomy: Taxonomy) -> tuple[str, ...]:
    """The clip's tag ids that a caption names, sorted."""
    claims = _claims(text, _lexicon(tagset, taxonomy))
    return tuple(sorted({t for _, tags in claims for t in tags} & tagset.ids()))


def named_tags(text: str, taxonomy: Taxonomy, genres: Iterable[str] = ()) -> frozenset[str]:
    """Every tag id a free text names through the caption lexicon (words and their other
    forms, longest phrase first): the tags a query asks for. A phrase that may name several
    tags ("fast": tempo or speed) names all of them."""
    claims = _claims(text, _lexicon(Tagset(""), taxonomy, genres))
    return frozenset(t for _, tags in claims for t in tags)


# ----------------------------------------------------------------------------- writing
class _Writer:
    """Fills templates for one clip; every draw comes from one seeded generator."""

    def __init__(self, tags: list[Tag], taxonomy: Taxonomy, subject: str, seed: str) -> None:
        self.tags, self.subject = tags, subject
        self.rng = random.Random(seed)  # str seeds hash the same in every process
        self.genre = next((t for t in tags if t.facet == "genre"), None)
        self.genre_in_file = self.genre is not None and self.genre.id in taxonomy.tags

    def draw(self, kind: str, used: set[str]) -> tuple[str, str] | None:
        """(tag id, phrase) for a slot: a tag no other slot took, then one of its words."""
        facets, form = _SLOTS[kind]
        options: dict[str, list[str]] = {}
        for t in self.tags:
            if t.facet in facets and t.id not in used:
                phrases = [p for w in t.words if (p := _forms(t, w).get(form))]
                if phrases:
                    options[t.id] = phrases
        if not options:
            return None
        tag_id = self.rng.choice(sorted(options))
        return tag_id, self.rng.choice(options[tag_id])

    def head(self, with_genre: bool, used: set[str]) -> str:
        if self.genre is None or not with_genre:
            return self.subject
        used.add(self.genre.id)
        genre = self.rng.choice(self.genre.words)
        # a named ballroom or latin dance needs no "dance" after it ("a slow waltz")
        if self.subject == "dance" and self.genre_in_file and self.rng.random() < 0.6:
            return genre
        return f"{genre} {self.subject}"

    def fill(self, template: str, caption_type: str) -> str | None:
        used: set[str] = set()
        failed = False

        def slot(m: re.Match[str]) -> str:
            nonlocal failed
            parts = []
            for name in m.group(1).split():
                if name == "head":
                    with_genre = caption_type == "style" or self.rng.random() < 0.5
                    parts.append(self.head(with_genre, used))
                    continue
                drawn = self.draw(name.rstrip("0123456789"), used)
                if drawn is None:
                    failed = True
                    return ""
                used.add(drawn[0])
                parts.append(drawn[1])
            phrase = parts[0] if len(parts) == 1 else _premodify(*parts)
            failed = failed or phrase is None
            return phrase or ""

        text = re.sub(r"\{([a-z0-9 ]+)\}", slot, template)
        if failed:
            return None
        return re.sub(r"\ba (?=[aeiou])", "an ", " ".join(text.split()))


def _well_formed(text: str) -> bool:
    tokens = re.findall(r"[a-z]+", text.lower())
    content = [t for t in tokens if t not in _GLUE]
    return len(text.split()) <= MAX_WORDS and len(content) == len(set(content))


def write_captions(
    tagset: Tagset, taxonomy: Taxonomy, seed: int, subject: str = "dance", n: int = 6
) -> list[Caption]:
    """Up to n short, query-like captions of the types the clip's tags support.

    Deterministic for (seed, clip id). Each type gives at most as many captions as the clip has
    tags in its focus facets, so a sparsely tagged clip gets fewer captions, not padding.
    subject: the noun for what the clip shows ("dance", "karate sequence", "walk").
    """
    tags = _clip_tags(tagset, taxonomy)
    lexicon = _lexicon(tagset, taxonomy)
    ids = tagset.ids()
    if problems := _problems(subject, ids, lexicon):  # it would spoil every caption
        raise ConfigError(f"caption subject {subject!r}: {'; '.join(problems)}")
    writer = _Writer(tags, taxonomy, subject, f"{seed}:{tagset.clip_id}")
    rng = writer.rng
    focus_ids = {k: {t.id for t in tags if t.facet in fs} for k, fs in FOCUS.items()}
    left = {k: len(v) for k, v in focus_ids.items() if v}
    order = sorted(left)
    rng.shuffle(order)
    plan: list[str] = []  # round robin: every type once before any type twice
    while len(plan) < n and any(left.values()):
        for kind in order:
            if left[kind] and len(plan) < n:
                plan.append(kind)
                left[kind] -= 1

    captions: list[Caption] = []
    seen: set[str] = set()
    used_templates: set[str] = set()
    for kind in plan:
        templates = list(TEMPLATES[kind])
        rng.shuffle(templates)
        templates.sort(key=lambda t: t in used_templates)  # untried structures first
        for template in templates * 2:  # a second round draws other words
            text = writer.fill(template, kind)
            if text is None or not _well_formed(text):
                continue
            if any(text in s or s in text for s in seen):  # "walk moving forward (with steps)"
                continue
            claims = {t for _, ts in _claims(text, lexicon) for t in ts}
            if _problems(text, ids, lexicon) or not claims & focus_ids[kind]:
                continue
            seen.add(text)
            used_templates.add(template)
            caption_type = cast(CaptionType, kind)
            captions.append(Caption(text, caption_type, "template", tuple(sorted(claims & ids))))
            break
    return captions


def human_captions(descriptions: list[str]) -> list[Caption]:
    """People's own descriptions, verbatim (stripped, repeats dropped); never validated."""
    out: list[Caption] = []
    seen: set[str] = set()
    for d in descriptions:
        text = d.strip()
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(Caption(text, "human", "human", ()))
    return out


# ----------------------------------------------------------------------------- LLM rewriter
def load_rewriter(spec: str | None) -> Rewriter | None:
    """The rewriter named "package.module:function", or None when spec is empty (the default)."""
    if not spec:
        return None
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ConfigError(f"caption rewriter {spec!r}: expected 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # the user's module may fail in any way while it loads
        raise ConfigError(f"caption rewriter {spec!r}: cannot import {module_name}: {e}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ConfigError(f"caption rewriter {spec!r}: {module_name} has no function {name!r}")
    return cast(Rewriter, function)


def _type_of(claimed: Iterable[str]) -> CaptionType:
    """The type whose focus facets the caption names most (ties: the more specific type)."""
    facets = [t.split(".")[0] for t in claimed]
    order = ("body", "spatial", "rhythm", "mood", "transition", "style")
    best = max(order, key=lambda k: (sum(f in FOCUS[k] for f in facets), -order.index(k)))
    return cast(CaptionType, best)


def rewrite_captions(
    tagset: Tagset,
    taxonomy: Taxonomy,
    captions: list[Caption],
    rewriter: Rewriter,
    genres: Iterable[str] = (),
) -> tuple[list[Caption], list[str]]:
    """The captions plus the rewriter's valid outputs (source "llm"), and the rejected ones.

    The rewriter sees the clip's tags and the template captions. An output is kept only if it
    passes `validate` and names at least one of the clip's tags (an unchecked paraphrase could
    hide a false claim); repeats of an existing caption are dropped. If the rewriter fails, the
    captions stand and the failure is reported. genres: as for `validate` (an LLM may name any
    genre; pass the library's so that those count as claims).
    """
    tags = _clip_tags(tagset, taxonomy)
    templates = [c.text for c in captions if c.source == "template"]
    try:
        outputs = list(rewriter(tags, templates))
    except Exception as e:  # a user's plug-in (often a network call): never abort annotation
        return list(captions), [f"rewriter failed: {type(e).__name__}: {e}"]
    lexicon, ids = _lexicon(tagset, taxonomy, genres), tagset.ids()
    kept, rejected = list(captions), []
    seen = {c.text.lower() for c in captions}
    for out in outputs:
        if not isinstance(out, str):
            rejected.append(f"{out!r}: not a string")
            continue
        text = " ".join(out.split())
        problems = _problems(text, ids, lexicon)
        claimed = sorted({t for _, ts in _claims(text, lexicon) for t in ts} & ids)
        if not problems and not claimed:
            problems = ["names none of the clip's tags"]
        if problems:
            rejected.append(f"{text!r}: {'; '.join(problems)}")
        elif text.lower() not in seen:
            seen.add(text.lower())
            kept.append(Caption(text, _type_of(claimed), "llm", tuple(claimed)))
    return kept, rejected
