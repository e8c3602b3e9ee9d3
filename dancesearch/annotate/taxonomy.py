"""The music/motion taxonomy (a versioned data file) and the records that carry tags.

`taxonomy.toml` beside this module is the source of truth: facets, tags, one-line definitions,
caption words and the automatic tagger's rules. A `Tagset` is one clip's tags, each with its
evidence and where it came from.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from dancesearch.errors import ConfigError

DEFAULT_PATH = Path(__file__).with_name("taxonomy.toml")
TagSource = Literal["auto", "expert", "human"]


@dataclass(frozen=True)
class Tag:
    id: str  # "<facet>.<name>", e.g. "legs.jump"
    facet: str
    words: tuple[str, ...]  # phrases the caption writer uses for this tag
    definition: str
    rule: dict[str, Any] | None  # None: only labels or experts set it
    also: tuple[str, ...] = ()  # further forms that claim the tag (singulars, synonyms)

    @property
    def claims(self) -> tuple[str, ...]:
        """Every phrase whose presence in a caption claims this tag."""
        return self.words + self.also


@dataclass(frozen=True)
class Facet:
    id: str
    domain: str  # "music", "motion" or "both"
    exclusive: bool  # at most one tag of the facet per clip
    definition: str
    tags: tuple[Tag, ...]


@dataclass(frozen=True)
class Taxonomy:
    version: str
    facets: tuple[Facet, ...]

    @property
    def tags(self) -> dict[str, Tag]:
        return {t.id: t for f in self.facets for t in f.tags}

    def facet(self, facet_id: str) -> Facet:
        for f in self.facets:
            if f.id == facet_id:
                return f
        raise KeyError(facet_id)

    def tag(self, tag_id: str) -> Tag:
        try:
            return self.tags[tag_id]
        except KeyError:
            raise ConfigError(f"unknown tag {tag_id!r} (taxonomy {self.version})") from None

    def genre_tag(self, genre: str) -> Tag:
        """The genre tag for a source's genre label; unknown genres get a tag of their own."""
        tag_id = "genre." + re.sub(r"[^a-z0-9-]+", "-", genre.strip().lower()).strip("-")
        known = self.tags.get(tag_id)
        if known is not None:
            return known
        return Tag(tag_id, "genre", (genre.strip().lower(),), f"Genre label {genre!r}.", None)


@dataclass
class TagAssignment:
    """One tag on one clip: the measured evidence (or label) and who set it."""

    tag: str
    source: TagSource
    evidence: float | str | None = None  # descriptor value for auto tags, label text otherwise
    annotator: str | None = None  # expert name or file for expert tags


@dataclass
class Tagset:
    """The tags of one clip, keyed by tag id."""

    clip_id: str
    tags: dict[str, TagAssignment] = field(default_factory=dict)

    def has(self, tag_id: str) -> bool:
        return tag_id in self.tags

    def ids(self) -> set[str]:
        return set(self.tags)


def _parse(data: dict[str, Any], path: Path) -> Taxonomy:
    try:
        facets = []
        for f in data["facet"]:
            tags = tuple(
                Tag(
                    t["id"],
                    f["id"],
                    tuple(t["words"]),
                    t["definition"],
                    t.get("rule"),
                    tuple(t.get("also", ())),
                )
                for t in f["tags"]
            )
            for t in tags:
                if not t.id.startswith(f["id"] + "."):
                    raise ConfigError(f"{path}: tag {t.id!r} is not in facet {f['id']!r}")
            facets.append(Facet(f["id"], f["domain"], f["exclusive"], f["definition"], tags))
        return Taxonomy(str(data["version"]), tuple(facets))
    except KeyError as e:
        raise ConfigError(f"{path}: taxonomy entry lacks {e}") from None


@cache
def load_taxonomy(path: Path = DEFAULT_PATH) -> Taxonomy:
    """Read and check a taxonomy file (the packaged one by default)."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read taxonomy: {e}") from None
    return _parse(data, Path(path))
