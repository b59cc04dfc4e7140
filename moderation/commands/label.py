"""`moderation label`: offline, batched, cached labeling of a split by a saved model."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from moderation.commands.common import friendly_errors, json_option, model_option, resolve_model_path
from moderation.commands.data import data_options
from moderation.data import load
from moderation.labeling import ENGINES, label


@click.command("label")
@model_option
@click.option("--data", "data_name", required=True, help="Data set(s) to label.")
@click.option("--split", default="unlabeled", show_default=True,
              type=click.Choice(["train", "validation", "test", "unlabeled"]),
              help="Split to label (the held-out audit split cannot be labeled).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output .parquet file.")
@data_options
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="local: batches in this process; ray: batches spread over a Ray cluster (--ray-address).")
@click.option("--ray-address", default=None, help="Ray cluster address (with --engine ray); default: a local Ray.")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True,
              help="Texts scored at a time: memory and speed, never the scores.")
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Prediction cache (SQLite). Default: <user data folder>/cache/predictions.sqlite.")
@json_option
@friendly_errors
def command(model_path: Path | None, data_name: str, split: str, out: Path, data_dir: Path | None,
            limit: int | None, labeled: int | None, engine: str, ray_address: str | None, batch_size: int,
            cache_path: Path | None, as_json: bool) -> None:
    """Score one split of DATA with MODEL (a teacher, prompted or fine-tuned) into a parquet file of
    id, text, text_hash, score, model_fingerprint. Cached: re-runs and resumed runs compute only what is new."""
    records = load(data_name, data_dir, limit=limit, labeled=labeled).split(split, "label")
    run = label(resolve_model_path(model_path), records, out, cache_path=cache_path, batch_size=batch_size,
                engine=engine, ray_address=ray_address)
    if as_json:
        click.echo(json.dumps({**asdict(run), "output": str(run.output)}))
    else:
        rate = run.computed / run.seconds if run.seconds else 0.0
        click.echo(f"Labeled {run.rows:,} rows into {run.output}: {run.computed:,} computed "
                   f"({rate:,.0f}/s), {run.cached:,} from the cache, {run.seconds:.1f} s ({run.engine})")
