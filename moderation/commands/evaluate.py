"""`moderation evaluate`: quality, calibration, agreement with a teacher, latency, throughput, size."""

from __future__ import annotations

import json
from pathlib import Path

import click

from moderation.artifacts import load_model, read_manifest
from moderation.commands.common import (
    friendly_errors,
    from_renamed,
    json_option,
    model_option,
    renamed,
    resolve_model_path,
)
from moderation.commands.data import data_options
from moderation.data import load
from moderation.evaluation import agreement, as_metrics, base_bytes, quality, size_bytes, speed
from moderation.policy import BLOCK_PRECISION, REVIEW_RECALL, choose
from moderation.protocols import optional
from moderation.scoring import score_texts


@click.command("evaluate")
@model_option
@click.option("--data", "data_name", required=True, help="Data set(s) to evaluate on.")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "validation", "test"]),
              help="Which split of DATA to measure on (choose settings on validation, report test).")
@data_options
@renamed("--teacher", "--compare", type=click.Path(file_okay=False, path_type=Path))
@click.option("--compare", "teacher_path", type=click.Path(file_okay=False, path_type=Path), default=None,
              callback=from_renamed,
              help="A saved model (e.g. the teacher) to measure agreement with (Spearman of scores, decisions).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Decision threshold for F1, precision, recall and agreement.")
@click.option("--singles", type=click.IntRange(1), default=200, show_default=True,
              help="Comments timed one at a time for the latency percentiles.")
@click.option("--choose-policy", is_flag=True,
              help="Also choose review and block thresholds on these rows, e.g. your own platform's labelled "
                   "comments: precision depends on how many of them are toxic.")
@click.option("--review-recall", type=click.FloatRange(0, 1, min_open=True), default=REVIEW_RECALL,
              show_default=True, help="With --choose-policy: review where this share of toxic rows is flagged.")
@click.option("--block-precision", type=click.FloatRange(0, 1, min_open=True), default=BLOCK_PRECISION,
              show_default=True, help="With --choose-policy: block where this share of blocked rows is toxic.")
@json_option
@friendly_errors
def command(model_path: Path | None, data_name: str, split: str, data_dir: Path | None, limit: int | None,
            labeled: int | None, teacher_path: Path | None, threshold: float, singles: int, choose_policy: bool,
            review_recall: float, block_precision: float, as_json: bool) -> None:
    """Measure MODEL on one split of DATA."""
    records = load(data_name, data_dir, limit=limit, labeled=labeled).split(split)
    if not records:
        raise click.ClickException(f"the {split} split of {data_name} is empty")
    path = resolve_model_path(model_path)
    scorer = load_model(path)
    texts = [r.text for r in records]
    scores = score_texts(scorer, texts)
    parts: list[object] = [quality(scores, [r.label for r in records], threshold)]
    if teacher_path is not None:
        parts.append(agreement(scores, score_texts(load_model(teacher_path), texts), threshold))
    parts.append(speed(scorer, texts, singles=singles))
    parts.append({"size_bytes": size_bytes(path), "base_size_bytes": base_bytes(scorer),
                  "n_parameters": optional(scorer, "scorer", "n_parameters")})
    result = {"model": read_manifest(path).model_id, "data": data_name, "split": split, **as_metrics(*parts)}
    policy = choose(scores, [r.label for r in records], review_recall=review_recall,
                    block_precision=block_precision) if choose_policy else None
    if as_json:
        click.echo(json.dumps(result if policy is None else {**result, "policy": policy}, indent=2))
        return
    for key, value in result.items():
        click.echo(f"{key:<24}{value:.4f}" if isinstance(value, float) else f"{key:<24}{value}")
    if policy is not None:
        click.echo(f"policy on these {policy['validation_rows']:,} rows ({policy['rule']}): review "
                   f"{policy['review']}, block {policy['block']}; {policy['review_share']:.0%} of flagged rows "
                   f"between them. Use: --review-threshold {policy['review']} --block-threshold {policy['block']}")
