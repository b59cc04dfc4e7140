"""`moderation score`: one comment, or a CSV/JSONL file, through a saved model."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from moderation.artifacts import load_model, read_manifest
from moderation.commands.common import friendly_errors, json_option, model_option, policy_options, resolve_model_path
from moderation.policy import Policy, recommended
from moderation.protocols import Scorer
from moderation.scoring import FileReport, InputError, check_text, score_file, score_texts
from moderation.tables import table_format

FORMATS = ("csv", "jsonl")
STDIO = Path("-")


@click.command("score")
@click.argument("text", required=False)
@model_option
@policy_options
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Score a .csv or .jsonl file (optionally .gz) instead of one TEXT; '-' reads stdin.")
@click.option("--out", "output_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the scored rows: .csv or .jsonl (formats convert); '-' writes stdout.")
@click.option("--input-format", type=click.Choice(FORMATS), default=None,
              help="Format of --input - (default: JSONL if its first character is '{', else CSV).")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default=None,
              help="Format of --out - (default: the input's).")
@click.option("--text-column", default="text", show_default=True, help="Column (or JSON field) holding the text.")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of --input.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True,
              help="Texts scored at a time: memory and speed, never the scores.")
@json_option
@friendly_errors
def command(text: str | None, model_path: Path | None, review_threshold: float | None, block_threshold: float | None,
          input_path: Path | None, output_path: Path | None, input_format: str | None, output_format: str | None,
          text_column: str, encoding: str, batch_size: int, as_json: bool) -> None:
    """Score one TEXT ('-' reads one text per line from stdin), or a whole file with --input and --out."""
    if (text is None) == (input_path is None):
        raise click.UsageError("give either one TEXT or --input FILE (with --out FILE)")
    if input_path is not None and output_path is None:
        raise click.UsageError("--input needs --out FILE for the scored rows")
    if input_path is not None and input_path != STDIO and not input_path.is_file():
        raise InputError(f"input file {input_path} does not exist")
    path = resolve_model_path(model_path)
    manifest = read_manifest(path)
    policy = recommended(manifest.policy, review_threshold, block_threshold)
    scorer = load_model(path)
    if input_path is not None:
        _score_table(scorer, policy, manifest.model_id, input_path, output_path, input_format, output_format,
                     text_column=text_column, batch_size=batch_size, encoding=encoding, as_json=as_json)
        return
    texts = [line for line in sys.stdin.read().splitlines() if line.strip()] if text == "-" else [text]
    for line in texts or [""]:
        check_text(line)
    start = time.perf_counter()
    values = [float(v) for v in score_texts(scorer, texts)]
    latency_ms = (time.perf_counter() - start) * 1000 / len(texts)
    for value in values:
        result = {"score": round(value, 6), "decision": policy.decide(value), "model": manifest.model_id,
                  "model_path": str(path), "latency_ms": round(latency_ms, 3),
                  "thresholds": {"review": policy.review, "block": policy.block}}
        if as_json:
            click.echo(json.dumps(result))
        else:
            click.echo(f"{result['decision']}\tscore={value:.4f}\tmodel={manifest.model_id}")


def _score_table(scorer: Scorer, policy: Policy, model_id: str, input_path: Path, output_path: Path,
                 input_format: str | None, output_format: str | None, *, as_json: bool, **options: Any) -> None:
    """A file (or stdin) into a file (or stdout): standard streams go through temporary files, so that
    they are read, checked and written exactly like files, and stdout receives complete output only."""
    with tempfile.TemporaryDirectory(prefix="moderation-score-") as tmp:
        source = _stdin_file(Path(tmp), input_format) if input_path == STDIO else input_path
        target = Path(tmp) / f"stdout.{output_format or table_format(source)}" if output_path == STDIO \
            else output_path
        report = score_file(scorer, source, target, policy=policy, **options)
        if output_path == STDIO:
            sys.stdout.buffer.write(target.read_bytes())
            sys.stdout.flush()
            if report.rejects_path:  # no folder to leave it in: the rejected rows go to stderr, whole
                sys.stderr.write(report.rejects_path.read_text(encoding="utf-8", errors="replace"))
                report.rejects_path = None
        emit_file_report(report, model_id, as_json, to_stderr=output_path == STDIO)


def _stdin_file(folder: Path, fmt: str | None) -> Path:
    """Standard input, saved to a file of its format so that it is read like any other input."""
    data = sys.stdin.buffer.read()
    fmt = fmt or ("jsonl" if data.lstrip()[:1] == b"{" else "csv")
    path = folder / f"stdin.{fmt}"
    path.write_bytes(data)
    return path


def emit_file_report(report: FileReport, model_id: str, as_json: bool, to_stderr: bool = False) -> None:
    summary = {"output": "-" if to_stderr else str(report.output), "scored": report.scored, "model": model_id,
               "decisions": report.decisions,
               "rejected": [{"line": r.line, "reason": r.reason} for r in report.rejected],
               "rejects_file": str(report.rejects_path) if report.rejects_path else None}
    if as_json:
        click.echo(json.dumps(summary), err=to_stderr)
        return
    counts = ", ".join(f"{n} {d}" for d, n in report.decisions.items())
    click.echo(f"Scored {report.scored} rows ({counts}) into {summary['output']} with {model_id}", err=to_stderr)
    if report.rejected:
        where = f"in {report.rejects_path}" if report.rejects_path else "above, as CSV"
        click.echo(f"{len(report.rejected)} row(s) could not be scored; they are kept with their reasons "
                   f"{where}:", err=True)
        for r in report.rejected[:20]:
            click.echo(f"  line {r.line}: {r.reason}", err=True)
        if len(report.rejected) > 20:
            click.echo(f"  ... and {len(report.rejected) - 20} more", err=True)
