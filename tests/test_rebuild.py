"""build_library and refresh_library decide what to skip; here their steps are plain
functions (no Prefect): a second run over the same library redoes nothing, a watched folder
that is gone is reported after the others, and the collection is only ever caught up, never
made."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dancesearch.annotate.labels import label_words_key
from dancesearch.annotate.pipeline import AnnotateReport, catalogue_fingerprint
from dancesearch.encoders.config import RunConfig
from dancesearch.errors import LibraryError
from dancesearch.freshness import catalogue_key, embedded_on, trained_on, training_key
from dancesearch.ingest import Summary
from dancesearch.rebuild import (
    BuildSteps,
    RefreshSteps,
    build_library,
    catch_up,
    refresh_library,
)
from dancesearch.storage.library import Library


@dataclass
class Fake:
    """Every step as a plain function that records its call: ingest adds a clip per call
    (`new` of them), annotate writes the record annotations_current checks, training writes a
    checkpoint, the collection exists when `collection` is set."""

    root: Path
    new: int = 1
    collection: bool = True
    summary: Summary = field(default_factory=Summary)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def ingest(self, path: str) -> Summary:
        self.calls.append(("ingest", path))
        lib = Library(self.root, create=True)
        lib.record("ingest", {"feature_key": "abc123def456"})
        clips = lib.clips()
        ids = [*clips.get("clip_id", []), *[f"{path}/{len(clips) + i}" for i in range(self.new)]]
        lib.write_table("clips", pd.DataFrame({"clip_id": ids}))
        return Summary(
            items=self.new + 1,
            unchanged=1,
            clips=self.new,
            skipped=self.summary.skipped,
            waiting=self.summary.waiting,
        )

    def annotate(self) -> AnnotateReport:
        self.calls.append(("annotate", None))
        lib = Library(self.root)
        lib.write_json("annotation", {"catalogue": catalogue_fingerprint(lib.clips()),
                                      "label_words": label_words_key()})  # fmt: skip
        return AnnotateReport(clips=len(lib.clips()), calibration="fitted on 2 train clips")

    def train(self, library: Library, config: RunConfig, out: Path) -> dict[str, Any]:
        self.calls.append(("train", out))
        out.mkdir(parents=True, exist_ok=True)
        (out / "checkpoint.pt").write_bytes(b"weights")
        return {"seconds": 12.3, "fingerprint": "f00"}

    def embed(self, out: Path) -> Any:
        self.calls.append(("embed", out))
        return {"embedded": 1}

    def job(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, params))
        if name == "info":
            return {"collection": {"checkpoint": "models/default"} if self.collection else None}
        return {"embedded": 1}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def test_build_trains_and_annotates_once_then_only_checks(tmp_path):
    fake = Fake(tmp_path / "lib")
    steps = BuildSteps(
        ingest=fake.ingest, annotate=fake.annotate, train=fake.train, embed=fake.embed
    )
    config = RunConfig()
    out = tmp_path / "lib" / "models" / config.model.name
    first = build_library(["a", "b"], tmp_path / "lib", config, steps)
    assert first == {
        "ingest": {"items": 4, "unchanged": 2, "new clips": 2, "skipped": []},
        "annotate": "2 clips annotated; tagger thresholds fitted on 2 train clips",
        "train": "12 s, fingerprint f00",
        "embed": {"embedded": 1},
    }
    assert fake.names() == ["ingest", "ingest", "annotate", "train", "embed"]
    assert trained_on(out) == training_key(Library(tmp_path / "lib"), config)
    fake.new, fake.calls = 0, []
    second = build_library(["a", "b"], tmp_path / "lib", config, steps)
    assert (second["annotate"], second["train"]) == ("unchanged", f"unchanged ({out})")
    assert fake.names() == ["ingest", "ingest", "embed"]  # embed checks each clip itself
    fake.new, fake.calls = 1, []
    third = build_library(["c"], tmp_path / "lib", config, steps)  # a new clip: all again
    assert fake.names() == ["ingest", "annotate", "train", "embed"]
    assert third["ingest"]["new clips"] == 1


def refresh_steps(fake: Fake) -> RefreshSteps:
    return RefreshSteps(ingest=fake.ingest, annotate=fake.annotate, job=fake.job)


def test_refresh_passes_over_empty_folders_and_catches_up_once(tmp_path, caplog):
    full, empty = tmp_path / "full", tmp_path / "empty"
    full.mkdir()
    empty.mkdir()
    (full / "take.bvh").write_text("")
    fake = Fake(tmp_path / "lib")
    fake.summary = Summary(skipped=[("x.bvh", "no motion")], waiting=["y.bvh"])
    with caplog.at_level(logging.INFO, logger="dancesearch.rebuild"):
        report = refresh_library([str(empty), str(full)], tmp_path / "lib", refresh_steps(fake))
    assert report == {"new_clips": 1, "waiting": ["y.bvh"], "skipped": ["x.bvh: no motion"],
                      "missing": [], "annotated_clips": 1, "embed": {"embedded": 1}}  # fmt: skip
    assert fake.calls == [("ingest", str(full)), ("annotate", None), ("info", {}), ("embed", {})]
    assert "y.bvh is still being written; left for the next run" in caplog.messages
    assert "skipped x.bvh: no motion" in caplog.messages
    assert caplog.messages[-1].startswith("refresh: {")
    fake.new, fake.calls = 0, []
    again = refresh_library([str(empty), str(full)], tmp_path / "lib", refresh_steps(fake))
    assert "annotated_clips" not in again and again["embed"] == "unchanged"
    assert fake.names() == ["ingest"]


def test_refresh_reports_a_missing_folder_after_the_others(tmp_path, caplog):
    full = tmp_path / "full"
    full.mkdir()
    (full / "take.bvh").write_text("")
    fake = Fake(tmp_path / "lib")
    with pytest.raises(LibraryError, match="watched folder\\(s\\) missing: .*gone"):
        refresh_library([str(tmp_path / "gone"), str(full)], tmp_path / "lib", refresh_steps(fake))
    assert fake.names() == ["ingest", "annotate", "info", "embed"]  # the others were done
    assert any("does not exist (any more)" in m for m in caplog.messages)


def test_refresh_of_a_library_without_clips_embeds_nothing(tmp_path):
    Library(tmp_path / "lib", create=True)
    fake = Fake(tmp_path / "lib")
    report = refresh_library([], tmp_path / "lib", refresh_steps(fake))
    assert report["embed"] == "nothing to embed yet" and fake.calls == []


def test_catch_up_never_makes_the_first_collection(tmp_path):
    fake = Fake(tmp_path / "lib", collection=False)
    fake.ingest("a")
    lib = Library(tmp_path / "lib")
    assert "run `dancesearch build` once" in catch_up(lib, fake.job)
    assert embedded_on(lib) is None and fake.names() == ["ingest", "info"]
    fake.collection = True
    assert catch_up(lib, fake.job) == {"embedded": 1}
    assert embedded_on(lib) == catalogue_key(lib)
    assert catch_up(lib, fake.job) == "unchanged"
