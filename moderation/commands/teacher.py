"""`moderation teacher train`: fine-tune a teacher (PEFT/LoRA for `minilm-lora`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from moderation.commands.common import (
    bury_for_option,
    bury_option,
    bury_shares,
    friendly_errors,
    from_renamed,
    invoked_command,
    json_option,
    oversample_counts,
    oversample_option,
    renamed,
)
from moderation.commands.data import data_options
from moderation.data import load
from moderation.teacher_training import train_teacher


@click.group("teacher")
def command() -> None:
    """Teachers: large, slow, accurate scorers that label data offline."""


@command.command("train")
@renamed("--teacher", "--plugin")
@click.option("--plugin", "teacher_name", default="minilm-lora", show_default=True, callback=from_renamed,
              help="Teacher plugin to train (`moderation plugins` lists them).")
@click.option("--data", "data_name", required=True, help="Data set(s), e.g. davidson or davidson,jigsaw-toxic.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to save the teacher in; run again with the same --out to resume.")
@data_options
@click.option("--base", type=click.Path(file_okay=False), default=None,
              help="Folder of a local Hugging Face encoder checkpoint (default: all-MiniLM-L6-v2).")
@click.option("--rank", type=click.IntRange(1), default=None, help="LoRA rank (default 8).")
@renamed("--alpha", "--lora-alpha", type=click.IntRange(1))
@click.option("--lora-alpha", "alpha", type=click.IntRange(1), default=None, callback=from_renamed,
              help="LoRA alpha, the adapter's scale (default 16).")
@click.option("--dropout", type=click.FloatRange(0, 1), default=None, help="LoRA dropout (default 0.1).")
@click.option("--target-modules", default=None, help="Comma-separated module names (default query,key,value,dense).")
@click.option("--steps", "max_steps", type=click.IntRange(1), default=None, help="Optimizer steps (default 800).")
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Batch size (default 16).")
@click.option("--lr", "learning_rate", type=float, default=None, help="Learning rate (default 5e-4).")
@click.option("--max-length", type=click.IntRange(8), default=None, help="Tokens per text (default 128).")
@click.option("--eval-every", type=click.IntRange(1), default=None, help="Steps between validations (default 100).")
@click.option("--seed", type=int, default=None, help="Random seed (default 0).")
@click.option("--augment", type=click.IntRange(0), default=0, show_default=True,
              help="Identity-swapped copies of each row that mentions an identity group (0: none).")
@oversample_option
@bury_option
@bury_for_option
@json_option
@friendly_errors
def train(teacher_name: str, data_name: str, out: Path, data_dir: Path | None, limit: int | None,
          labeled: int | None, target_modules: str | None, augment: int, oversample: tuple[str, ...],
          bury: float, bury_for: tuple[str, ...], as_json: bool, **settings) -> None:
    """Fine-tune the teacher --plugin on the train split of DATA; keep the best validation checkpoint; save to OUT.
    Run the same command again to resume an interrupted run."""
    params = {k: v for k, v in settings.items() if v is not None}
    if target_modules:
        params["target_modules"] = [m.strip() for m in target_modules.split(",") if m.strip()]
    manifest = train_teacher(teacher_name, load(data_name, data_dir, limit=limit, labeled=labeled), out, params,
                             lineage={"command": invoked_command()}, augment=augment,
                             oversample=oversample_counts(oversample), bury=bury,
                             bury_for=bury_shares(bury_for))
    if as_json:
        click.echo(json.dumps({"model": manifest.model_id, "path": str(out), "metrics": manifest.metrics}))
    else:
        click.echo(f"Saved {manifest.model_id} to {out}: test ROC-AUC {manifest.metrics['test_roc_auc']:.4f}")
