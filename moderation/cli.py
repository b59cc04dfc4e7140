"""The `moderation` command line: configuration lives here, the work in the modules it calls."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from moderation import __version__
from moderation.artifacts import ArtifactError, load_model, read_manifest
from moderation.plugins import PluginError, PluginInfo, get_registry
from moderation.policy import Policy
from moderation.scaffold import KINDS as SCAFFOLD_KINDS
from moderation.scaffold import new_plugin
from moderation.scoring import InputError, check_text, score_file, score_texts

USER_ERRORS = (ArtifactError, PluginError, InputError, ValueError, FileExistsError)


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Report the project's own errors as one clear line and exit status 1, without a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def model_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--model", "model_path", type=click.Path(path_type=Path), default=None,
        help="Saved model directory. Default: the default model, built from the demo data on first use.",
    )(command)


def policy_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--block-threshold", type=float, default=Policy.block, show_default=True,
                           help="Scores at or above this are blocked.")(command)
    return click.option("--review-threshold", type=float, default=Policy.review, show_default=True,
                        help="Scores at or above this go to human review.")(command)


def resolve_model_path(model_path: Path | None) -> Path:
    if model_path is not None:
        return model_path
    from moderation.defaults import default_model_path, ensure_default_model

    if not (default_model_path() / "manifest.json").is_file():
        click.echo(f"Building the default model from the demo data into {default_model_path()} "
                   "(first use only)...", err=True)
    return ensure_default_model()


@click.group()
@click.version_option(__version__, prog_name="moderation")
def main() -> None:
    """Toxicity moderation with knowledge distillation: teachers, students, prompts, audits."""


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List every installed plugin, and any that failed to load."""
    if ctx.invoked_subcommand is not None:
        return
    rows = get_registry().rows()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        click.echo(format_plugins(rows))


def format_plugins(rows: list[PluginInfo]) -> str:
    columns = ("kind", "name", "description", "distribution", "version")
    table = [columns] + [tuple(str(getattr(r, c)) for c in columns) for r in rows if r.error is None]
    widths = [min(max(len(row[i]) for row in table), 60) for i in range(len(columns))]
    lines = ["  ".join(cell[:60].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    failed = [r for r in rows if r.error is not None]
    if failed:
        lines += ["", f"{len(failed)} plugin(s) failed to load or conflict:"]
        lines += [f"  {r.entry_point} ({r.distribution} {r.version}): {r.error}" for r in failed]
    return "\n".join(lines)


@plugins.command("new")
@click.argument("name")
@click.option("--kind", type=click.Choice(SCAFFOLD_KINDS), default="student", show_default=True)
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to create the package folder.")
@friendly_errors
def plugins_new(name: str, kind: str, parent: Path) -> None:
    """Write a ready-to-install plugin package NAME (pyproject, module, test, README)."""
    root = new_plugin(name, kind, parent)
    click.echo(f"Created {root}\nNext: pip install -e {root} && moderation plugins && pytest {root}")


@main.command()
@click.argument("text", required=False)
@model_option
@policy_options
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Score a .csv or .jsonl file instead of one TEXT.")
@click.option("--out", "output_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the scored file (same format as --input).")
@click.option("--text-column", default="text", show_default=True, help="Column (or JSON field) holding the text.")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of --input.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@friendly_errors
def score(text: str | None, model_path: Path | None, review_threshold: float, block_threshold: float,
          input_path: Path | None, output_path: Path | None, text_column: str, encoding: str,
          batch_size: int, as_json: bool) -> None:
    """Score one TEXT ('-' reads it from stdin), or a whole file with --input and --out."""
    policy = Policy(review=review_threshold, block=block_threshold)
    if (text is None) == (input_path is None):
        raise click.UsageError("give either one TEXT or --input FILE (with --out FILE)")
    if input_path is not None and output_path is None:
        raise click.UsageError("--input needs --out FILE for the scored rows")
    if input_path is not None and not input_path.is_file():
        raise InputError(f"input file {input_path} does not exist")
    path = resolve_model_path(model_path)
    manifest = read_manifest(path)
    scorer = load_model(path)
    if input_path is not None:
        report = score_file(scorer, input_path, output_path, text_column=text_column, policy=policy,
                            batch_size=batch_size, encoding=encoding)
        emit_file_report(report, manifest.model_id, as_json)
        return
    text = check_text(sys.stdin.read() if text == "-" else text)
    start = time.perf_counter()
    value = float(score_texts(scorer, [text])[0])
    latency_ms = (time.perf_counter() - start) * 1000
    result = {"score": round(value, 6), "decision": policy.decide(value), "model": manifest.model_id,
              "model_path": str(path), "latency_ms": round(latency_ms, 3),
              "thresholds": {"review": policy.review, "block": policy.block}}
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"{result['decision']}\tscore={value:.4f}\tmodel={manifest.model_id}")


def emit_file_report(report: Any, model_id: str, as_json: bool) -> None:
    summary = {"output": str(report.output), "scored": report.scored, "model": model_id,
               "rejected": [{"line": r.line, "reason": r.reason} for r in report.rejected],
               "rejects_file": str(report.rejects_path) if report.rejects_path else None}
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"Scored {report.scored} rows into {report.output} with {model_id}")
    if report.rejected:
        click.echo(f"{len(report.rejected)} row(s) could not be scored; they are kept with their reasons "
                   f"in {report.rejects_path}:", err=True)
        for r in report.rejected[:20]:
            click.echo(f"  line {r.line}: {r.reason}", err=True)
        if len(report.rejected) > 20:
            click.echo(f"  ... and {len(report.rejected) - 20} more", err=True)
