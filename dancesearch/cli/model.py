"""`dancesearch train` and `dancesearch evaluate`: thin wrappers of the train and evaluate flows."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import click

from dancesearch.errors import ConfigError


def register(main: click.Group, library_option: Callable[[Any], Any]) -> None:
    @main.command()
    @library_option
    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML file: `preset = NAME` and [model], [loss], [train] overrides.",
    )
    @click.option("--preset", help="Start from this named configuration  [default: default].")
    @click.option("--seed", type=int, help="Override train.seed.")
    @click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        help="Checkpoint folder  [default: <library>/models/<config name>].",
    )
    def train(
        library: Path,
        config_path: Path | None,
        preset: str | None,
        seed: int | None,
        out: Path | None,
    ) -> None:
        """Train a text-dance model on the library's train split, selecting on val."""
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        from dancesearch.encoders.registry import load_config
        from dancesearch.flows.train import train as train_flow

        config = load_config(config_path, preset)
        if seed is not None:
            config = replace(config, train=replace(config.train, seed=seed))
        result = train_flow(str(library), config, str(out) if out else None, progress=True)
        click.echo(
            f"trained {config.model.name} in {result['seconds']:.0f} s "
            f"(best at step {result['best_step']}): {result['checkpoint']} "
            f"fingerprint {result['fingerprint']}"
        )

    @main.command()
    @click.argument("checkpoint", type=click.Path(path_type=Path), required=False)
    @library_option
    @click.option("--split", default="test", show_default=True, help="Gallery: this split's clips.")
    @click.option(
        "--search",
        is_flag=True,
        help="Evaluate through the library's Qdrant collection (dense, text and hybrid ranking) "
        "instead of in memory; CHECKPOINT is then the collection's. Writes nothing (the "
        "evaluate-search deployment keeps the history).",
    )
    @click.option("--qdrant", envvar="DANCESEARCH_QDRANT", help="Qdrant server URL for --search.")
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
    def evaluate(
        checkpoint: Path | None,
        library: Path,
        split: str,
        search: bool,
        qdrant: str | None,
        as_json: bool,
    ) -> None:
        """Text -> dance retrieval of CHECKPOINT over the full gallery of a split, every protocol
        with chance level and the caption-matching reference."""
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        from dancesearch.evaluation.report import markdown
        from dancesearch.flows.train import evaluate as evaluate_flow

        if search:  # reads only: the deployment's evaluate-search keeps the history
            from dancesearch.serving.jobs import run_job

            figures = run_job(library, qdrant, "evaluate", split=split)["figures"]
            table = markdown(figures, split, blocks=("full",), via="Qdrant")
            click.echo(json.dumps(figures, indent=2) if as_json else table)
            return
        if checkpoint is None:
            raise ConfigError("give the CHECKPOINT folder (or --search for the collection's)")
        report = evaluate_flow(str(library), str(checkpoint), split)
        if as_json:
            click.echo(json.dumps(asdict(report), indent=2))
        else:
            reference = {"caption matching": report.caption_matching}
            if report.rule_tags:
                reference["rule tags"] = report.rule_tags
            click.echo(markdown({checkpoint.name: report.model}, report.split, reference))
