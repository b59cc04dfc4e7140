"""`moderation distill`: a student from a teacher's soft scores (+ gold where present)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from moderation.commands.common import (
    bury_for_option,
    bury_option,
    bury_shares,
    friendly_errors,
    invoked_command,
    json_option,
    loss_weights,
    oversample_counts,
    oversample_option,
    plugin_params,
    teacher_routes,
    teacher_shares,
)
from moderation.commands.data import data_options
from moderation.data import load
from moderation.distill import SWAP_TARGETS, distill
from moderation.labeling import ENGINES


@click.command("distill")
@click.option("--teacher", "teacher_paths", type=click.Path(path_type=Path), required=True, multiple=True,
              help="A saved teacher (labels are computed, cached) or a labels .parquet from `moderation label`; "
                   "repeat it to distill from the mean of several teachers' scores.")
@click.option("--student", "student_name", required=True, help="Student plugin, e.g. tfidf-lr, ngram-mlp.")
@click.option("--data", "data_name", required=True, help="Data set(s): train + unlabeled rows are the transfer set.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to save the student in (model files, manifest.json, MODEL_CARD.md).")
@data_options
@click.option("--alpha", type=float, default=0.5, show_default=True,
              help="The teacher's share of the target where a gold label exists (1 = teacher only).")
@click.option("--alpha-for", "alpha_for", multiple=True, metavar="DATA=A",
              help="The teacher's share for data set DATA's rows, e.g. behaviour=0.2 where gold is exact (repeatable).")
@click.option("--teacher-for", "teacher_for", multiple=True, metavar="DATA=PATH",
              help="Another saved teacher (or labels .parquet) scores data set DATA's rows instead, e.g. the one "
                   "best on it by validation (repeatable).")
@click.option("--weight-for", "weight_for", multiple=True, metavar="DATA=W",
              help="The weight of data set DATA's rows in the student's loss (the rest weigh 1), e.g. "
                   "framed-claims=0.5: unlike --oversample it may be under 1 (repeatable).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Student parameter (repeatable).")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True, help="Labeling engine.")
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Prediction cache (default: <user data folder>/cache/predictions.sqlite).")
@click.option("--augment", type=click.IntRange(0), default=0, show_default=True,
              help="Identity-swapped copies of each row that mentions an identity group (0: none).")
@click.option("--swap-targets", type=click.Choice(SWAP_TARGETS), default="teacher", show_default=True,
              help="What an identity-swapped copy learns: the teacher's score of the copy, or its source row's "
                   "target (the teacher's judgement of the original wording, carried across groups).")
@click.option("--perturb", type=click.IntRange(0), default=0, show_default=True,
              help="Perturbed copies of each transfer row (a window of its words, or some words dropped), "
                   "labelled by the teacher alone (0: none).")
@oversample_option
@bury_option
@click.option("--bury-unlabeled", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of the short unlabelled transfer rows also set inside an excerpt of a friendly one; "
                   "the teacher scores each copy (0: none).")
@bury_for_option
@json_option
@friendly_errors
def command(teacher_paths: tuple[Path, ...], student_name: str, data_name: str, out: Path, data_dir: Path | None,
            limit: int | None, labeled: int | None, alpha: float, params: tuple[str, ...], engine: str,
            cache_path: Path | None, augment: int, swap_targets: str, perturb: int, oversample: tuple[str, ...],
            bury: float, bury_unlabeled: float, bury_for: tuple[str, ...], alpha_for: tuple[str, ...],
            teacher_for: tuple[str, ...], weight_for: tuple[str, ...], as_json: bool) -> None:
    """Distill STUDENT from TEACHER on DATA; evaluate on its test split; save to OUT with manifest and card."""
    data = load(data_name, data_dir, limit=limit, labeled=labeled)
    manifest = distill(teacher_paths, student_name, data, out, alpha=alpha, params=plugin_params(params),
                       lineage={"command": invoked_command()}, augment=augment, swap_targets=swap_targets,
                       perturb=perturb, bury=bury, bury_unlabeled=bury_unlabeled, bury_for=bury_shares(bury_for),
                       oversample=oversample_counts(oversample), alpha_for=teacher_shares(alpha_for), engine=engine,
                       teacher_for=teacher_routes(teacher_for), weight_for=loss_weights(weight_for),
                       cache_path=cache_path)
    if as_json:
        click.echo(json.dumps({"model": manifest.model_id, "path": str(out), "metrics": manifest.metrics,
                               "lineage": manifest.lineage}))
    else:
        click.echo(f"Saved {manifest.model_id} to {out}: test ROC-AUC {manifest.metrics['test_roc_auc']:.4f} "
                   f"(teacher {manifest.lineage['teacher']}, {manifest.lineage['transfer_rows']:,} transfer rows)")
