"""Interactive refinement, the paper's loop: search, look, then narrow the last results with
short commands instead of retyping -- `+genre waltz`, `+tempo fast`, `-tag legs.jump`,
`more 3`, `undo`. A session is a stack of states; each command pushes one and reruns it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dancesearch.errors import ConfigError
from dancesearch.search.query import MODES, Result, Results, Searcher, parse_bpm
from dancesearch.storage.filters import SearchFilter

HELP = """commands (anything else is a new query text, keeping the filters):
  +genre V / -genre V      only / never this genre (also performer, source, tag)
  +tempo fast / -tempo slow  tempo tags: slow, moderate, fast
  bpm 80:120 / bpm off     BPM range
  music / silent / any     clips with music, without, or both
  more N                   dances like result N
  clear                    drop every filter
  mode dense|text|hybrid   how to rank;  limit N   how many to show
  undo                     back one step;  filters   show the state;  quit"""

FACETS = {"genre": "genres", "performer": "performers", "source": "sources", "tag": "tags"}


@dataclass(frozen=True)
class State:
    """What a query is: a text or a clip to find dances like, filters, mode and size."""

    text: str | None
    like: str | None = None
    where: SearchFilter = SearchFilter()
    mode: str = "hybrid"
    limit: int = 10
    per_sequence: int | None = None

    def describe(self) -> str:
        what = f"like {self.like}" if self.like else repr(self.text)
        w = self.where
        parts = [f"+{f} {v}" for f, name in FACETS.items() for v in getattr(w, name)]
        parts += [f"-{f} {v}" for f, name in FACETS.items() for v in getattr(w, "not_" + name)]
        if w.bpm_min is not None or w.bpm_max is not None:
            parts.append(f"bpm {_num(w.bpm_min)}:{_num(w.bpm_max)}")
        if w.has_music is not None:
            parts.append("music" if w.has_music else "silent")
        return f"{what} [{self.mode}] " + (" ".join(parts) or "no filters")


class Session:
    """A refinement session over one searcher; `apply` a command, `run` the current state."""

    def __init__(self, searcher: Searcher, state: State) -> None:
        self.searcher = searcher
        self.states = [state]
        self.last: Results | None = None

    @property
    def state(self) -> State:
        return self.states[-1]

    def run(self) -> Results:
        s = self.state
        if s.like:
            self.last = self.searcher.similar(s.like, s.where, s.limit, s.per_sequence)
        else:
            self.last = self.searcher.search(s.text or "", s.where, s.mode, s.limit, s.per_sequence)
        return self.last

    def apply(self, line: str) -> str | None:
        """Apply one command. Returns "quit", "help", "filters" or "undone" for commands
        that print instead of searching, None after a new state; ConfigError for a bad one
        (the state is then unchanged)."""
        words = line.strip().split()
        if not words:
            return "help"
        head, rest = words[0].lower(), " ".join(words[1:])
        if head in ("quit", "exit", "q"):
            return "quit"
        if head in ("help", "?"):
            return "help"
        if head == "filters":
            return "filters"
        if head == "undo":
            if len(self.states) == 1:
                raise ConfigError("nothing to undo")
            self.states.pop()
            return "undone"
        new = self._next(head, rest, line.strip())
        self.searcher.check(new.where)  # a bad value fails here, before the state changes
        self.states.append(new)
        return None

    def _next(self, head: str, rest: str, line: str) -> State:
        s, w = self.state, self.state.where
        if head[:1] in "+-" and len(head) > 1:
            facet, value = head[1:], rest.strip()
            if facet == "tempo":
                facet, value = "tag", f"tempo.{value}" if value else ""
            if facet not in FACETS:
                raise ConfigError(f"{head}: refine by genre, performer, source, tag or tempo")
            if not value:
                raise ConfigError(f"{head}: give a value, e.g. {head} waltz")
            name = FACETS[facet] if head[0] == "+" else "not_" + FACETS[facet]
            given: dict[str, Any] = {name: (value,)}
            spelled: str = getattr(self.searcher.check(replace(SearchFilter(), **given)), name)[0]
            if facet != "tag" and head[0] == "+":  # one genre at a time reads as "instead"
                given = {name: (spelled,)}
            else:
                given = {name: (*getattr(w, name), spelled)}
            return replace(s, where=replace(w, **given))
        if head == "bpm":
            low, high = (None, None) if rest.strip() == "off" else parse_bpm(rest)
            return replace(s, where=replace(w, bpm_min=low, bpm_max=high))
        if head in ("music", "silent", "any"):
            return replace(
                s, where=replace(w, has_music={"music": True, "silent": False}.get(head))
            )
        if head == "clear":
            return replace(s, where=SearchFilter())
        if head == "more":
            return replace(s, like=self._result(rest).clip_id)
        if head == "mode":
            if rest not in MODES:
                raise ConfigError(f"mode {rest!r}: choose one of {', '.join(MODES)}")
            return replace(s, mode=rest, like=None)
        if head == "limit":
            if not rest.isdigit():
                raise ConfigError(f"limit {rest!r}: give a number")
            return replace(s, limit=int(rest))
        return replace(s, text=line, like=None)

    def _result(self, rest: str) -> Result:
        results = self.last.results if self.last else []
        if not rest.isdigit() or not 1 <= int(rest) <= len(results):
            raise ConfigError(f"more {rest!r}: give a result number from 1 to {len(results)}")
        return results[int(rest) - 1]


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"
