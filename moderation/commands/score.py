"""`moderation score`: one comment, or a CSV/JSONL file, through a saved model."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from moderation.artifacts import load_model, read_manifest
from moderation.commands.common import friendly_errors, json_option, model_option, policy_options, resolve_model_path
from moderation.policy import recommended
from moderation.scoring import FileReport, InputError, check_text, score_file, score_texts


@click.command("score")
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
@json_option
@friendly_errors
def command(text: str | None, model_path: Path | None, review_threshold: float | None, block_threshold: float | None,
          input_path: Path | None, output_path: Path | None, text_column: str, encoding: str,
          batch_size: int, as_json: bool) -> None:
    """Score one TEXT ('-' reads it from stdin), or a whole file with --input and --out."""
    if (text is None) == (input_path is None):
        raise click.UsageError("give either one TEXT or --input FILE (with --out FILE)")
    if input_path is not None and output_path is None:
        raise click.UsageError("--input needs --out FILE for the scored rows")
    if input_path is not None and not input_path.is_file():
        raise InputError(f"input file {input_path} does not exist")
    path = resolve_model_path(model_path)
    manifest = read_manifest(path)
    policy = recommended(manifest.policy, review_threshold, block_threshold)
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


def emit_file_report(report: FileReport, model_id: str, as_json: bool) -> None:
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
