"""`moderation models list|show`: the saved models on this machine, and what each one is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from moderation.artifacts import MANIFEST, MODEL_CARD, ArtifactError, Manifest, read_manifest
from moderation.commands.common import friendly_errors, json_option, resolve_model_path
from moderation.defaults import data_home, default_model_path

HEADLINE = ("test_roc_auc", "validation_roc_auc", "roc_auc")  # the first a manifest has is listed


@click.group("models")
def command() -> None:
    """Saved models: the shipped default, the models folder, any path."""


def models_folder() -> Path:
    return data_home() / "models"


def _found(folders: tuple[Path, ...]) -> list[Path]:
    """The default model, then every saved model (a folder with a manifest) under the folders, sorted."""
    found = [default_model_path()] if (default_model_path() / MANIFEST).is_file() else []
    for folder in folders or (models_folder(),):
        if folder.is_dir():
            found += sorted(p.parent for p in folder.rglob(MANIFEST) if not p.parent.name.startswith("."))
    return list(dict.fromkeys(found))


def _summary(path: Path, manifest: Manifest) -> dict[str, Any]:
    metric = next((k for k in HEADLINE if isinstance(manifest.metrics.get(k), int | float)), None)
    return {"id": manifest.model_id, "kind": manifest.kind, "plugin": manifest.plugin, "path": str(path),
            "default": path == default_model_path(), "created": manifest.created,
            "metric": metric, "value": manifest.metrics.get(metric) if metric else None}


@command.command("list")
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@json_option
@friendly_errors
def list_(folders: tuple[Path, ...], as_json: bool) -> None:
    """List the default model and the saved models under FOLDERS (default: the models folder)."""
    rows, broken = [], []
    for path in _found(folders):
        try:
            rows.append(_summary(path, read_manifest(path)))
        except ArtifactError as exc:
            broken.append({"path": str(path), "error": str(exc)})
    if as_json:
        click.echo(json.dumps({"models": rows, "unreadable": broken}))
        return
    for row in rows:
        value = f"{row['metric']}={row['value']:.4f}" if row["metric"] else "-"
        click.echo(f"{row['id']}\t{row['kind']}\t{value}\t{row['path']}{'  (default)' if row['default'] else ''}")
    for row in broken:
        click.echo(f"unreadable\t{row['path']}: {row['error']}", err=True)
    if not rows:
        click.echo(f"No saved models under {', '.join(map(str, folders or (models_folder(),)))}.", err=True)


@command.command("show")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--card", is_flag=True, help="Print the model card (markdown) instead of the summary.")
@json_option
@friendly_errors
def show(path: Path | None, card: bool, as_json: bool) -> None:
    """Show a saved model (default: the shipped default): id, kind, plugin, metrics, policy, lineage."""
    path = resolve_model_path(path)
    manifest = read_manifest(path)
    if card:
        card_path = path / MODEL_CARD
        if not card_path.is_file():
            raise ArtifactError(f"{path} has no {MODEL_CARD}")
        click.echo(card_path.read_text(encoding="utf-8"))
        return
    if as_json:
        click.echo(json.dumps({**_summary(path, manifest), "manifest": manifest.__dict__}))
        return
    click.echo(f"{manifest.model_id}  {manifest.kind}, plugin {manifest.plugin} ({manifest.distribution} "
               f"{manifest.plugin_version}), created {manifest.created}\n{path}")
    if manifest.policy:
        click.echo(f"policy: review at {manifest.policy.get('review')}, block at {manifest.policy.get('block')}")
    for key, value in sorted(manifest.metrics.items()):
        click.echo(f"  {key:<40} {value:.4f}" if isinstance(value, float) else f"  {key:<40} {value}")
    for key in ("data", "teacher", "teacher_data", "augment", "command"):
        if key in manifest.lineage:
            click.echo(f"{key}: {manifest.lineage[key]}")
