"""Which clips a search may return: SearchFilter, the user's filter, and the conditions it
becomes (Match, Range), which each backend turns into its own filter type."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    """Payload field `key` equals one of `values` (for a list field: contains one of them)."""

    key: str
    values: tuple[str, ...]
    negate: bool = False  # the field holds none of them


@dataclass(frozen=True)
class Range:
    """Payload field `key` lies in [gte, lte]; None leaves a side open."""

    key: str
    gte: float | None
    lte: float | None


Condition = Match | Range


@dataclass(frozen=True)
class SearchFilter:
    """Which clips a search may return; empty fields do not filter. A clip passes when it has
    one of the genres, performers, sources and splits given, bpm in [bpm_min, bpm_max] (beats
    per minute), every one of the tags, none of the excluded values, and music or not as
    has_music says."""

    genres: tuple[str, ...] = ()
    performers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    bpm_min: float | None = None
    bpm_max: float | None = None
    tags: tuple[str, ...] = ()
    has_music: bool | None = None
    splits: tuple[str, ...] = ()
    not_genres: tuple[str, ...] = ()
    not_performers: tuple[str, ...] = ()
    not_sources: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()

    def conditions(self) -> list[Condition]:
        """The filter as conditions that must all hold."""
        any_of = (("genre", self.genres), ("performer", self.performers),
                  ("source", self.sources), ("split", self.splits))  # fmt: skip
        out: list[Condition] = [Match(key, tuple(v)) for key, v in any_of if v]
        out += [Match("tags", (tag,)) for tag in self.tags]  # all of them
        none_of = (("genre", self.not_genres), ("performer", self.not_performers),
                   ("source", self.not_sources), ("tags", self.not_tags))  # fmt: skip
        out += [Match(key, tuple(v), negate=True) for key, v in none_of if v]
        if self.has_music is not None:
            out.append(Match("has_music", ("yes" if self.has_music else "no",)))
        if self.bpm_min is not None or self.bpm_max is not None:
            out.append(Range("bpm", self.bpm_min, self.bpm_max))
        return out
