"""`moderation prompt show|compare|save`: prompt strategies, what they show a model, how well they score."""

from __future__ import annotations

import inspect
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from moderation.commands.common import friendly_errors, from_renamed, json_option, renamed
from moderation.commands.data import data_options
from moderation.data import load
from moderation.exemplars import DEFAULT_EXEMPLAR_TEMPLATE, DEFAULT_INSTRUCTION, DEFAULT_TEMPLATE, PromptError
from moderation.plugins import get_registry
from moderation.prompting import build_prompted_teacher, quality, save_prompted_teacher
from moderation.protocols import optional
from moderation.scoring import check_text, score_texts


@click.group("prompt")
def command() -> None:
    """Prompt strategies (zero-, one-, few-shot, k-NN few-shot) for promptable teachers."""


def _escaped(text: str) -> str:
    return text.replace("\n", "\\n")


def _unescape(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Shells pass \\n literally: read it as the new line a template needs."""
    return value.replace("\\n", "\n").replace("\\t", "\t")


def strategy_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """How a strategy chooses and lays out exemplars."""
    for option in reversed([
        click.option("--k", type=click.IntRange(0), default=None,
                     help="Exemplars per prompt for few-shot strategies (default: the strategy's, 8)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed for exemplar choice."),
        click.option("--instruction", default=DEFAULT_INSTRUCTION, help="The instruction that opens the prompt."),
        click.option("--template", default=DEFAULT_TEMPLATE, show_default=_escaped(DEFAULT_TEMPLATE),
                     callback=_unescape, help="Prompt layout; slots {instruction}, {exemplars}, {query} (required); "
                     "\\n is a new line."),
        click.option("--exemplar-template", default=DEFAULT_EXEMPLAR_TEMPLATE,
                     show_default=_escaped(DEFAULT_EXEMPLAR_TEMPLATE), callback=_unescape,
                     help="Layout of one exemplar; slots {text} and {label}; \\n is a new line."),
    ]):
        command = option(command)
    return command


def teacher_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Which promptable teacher scores, and how it is calibrated."""
    for option in reversed([
        renamed("--teacher", "--teacher-plugin"),
        click.option("--teacher-plugin", "teacher", default="embedding-prompted", show_default=True,
                     callback=from_renamed, help="Promptable teacher plugin."),
        click.option("--base", type=click.Path(file_okay=False), default=None,
                     help="Folder of a local checkpoint for the teacher (embedding-prompted: default "
                          "all-MiniLM-L6-v2; causal-lm: required)."),
        click.option("--calibration-size", type=click.IntRange(0), default=300, show_default=True,
                     help="Training rows held out of the pool to fit the Platt calibration (0: none)."),
    ]):
        command = option(command)
    return command


def strategy_params(name: str, k: int | None, seed: int, instruction: str, template: str,
                    exemplar_template: str, *, k_where_taken: bool = False) -> dict[str, Any]:
    """Parameters for strategy ``name``. ``k_where_taken`` passes ``k`` only to strategies that let it be
    chosen (comparing zero-shot with few-shot at one --k); otherwise a ``k`` it cannot take is an error."""
    factory = get_registry().get("prompt_strategy", name).factory
    params: dict[str, Any] = {"seed": seed, "instruction": instruction, "template": template,
                              "exemplar_template": exemplar_template}
    if k is None:
        return params
    takes_k = "k" in inspect.signature(factory).parameters
    if k_where_taken and not (takes_k and optional(factory, "prompt_strategy", "fixed_k") is None):
        return params
    if not takes_k:
        raise PromptError(f"strategy {name!r} takes no --k; drop it")
    return {**params, "k": k}


def teacher_params(base: str | None, calibration_size: int, seed: int) -> dict[str, Any]:
    params: dict[str, Any] = {"calibration_size": calibration_size, "seed": seed}
    if base is not None:
        params["base"] = base
    return params


@command.command("show")
@click.argument("text")
@click.option("--strategy", default="few-shot", show_default=True, help="Prompt strategy plugin.")
@strategy_options
@click.option("--data", "data_name", default="demo", show_default=True,
              help="Data set whose training split is the exemplar pool.")
@data_options
@json_option
@friendly_errors
def show(text: str, strategy: str, k: int | None, seed: int, instruction: str, template: str,
         exemplar_template: str, data_name: str, data_dir: Path | None, limit: int | None, labeled: int | None,
         as_json: bool) -> None:
    """Print the exact prompt STRATEGY builds for TEXT ('-' reads stdin), exemplars from --data's training split."""
    text = check_text(sys.stdin.read() if text == "-" else text)
    params = strategy_params(strategy, k, seed, instruction, template, exemplar_template)
    pool = load(data_name, data_dir, limit=limit, labeled=labeled).split("train", "train")
    prompt = get_registry().create("prompt_strategy", strategy, **params).build(text, pool)
    if as_json:
        click.echo(json.dumps({"strategy": strategy, "params": params, "data": data_name, "prompt": prompt.render(),
                               "exemplars": [{"text": e.text, "label": e.label} for e in prompt.exemplars]}))
    else:
        click.echo(prompt.render())


@command.command("compare")
@teacher_options
@click.option("--data", "data_name", default="demo", show_default=True,
              help="Data set: exemplars and calibration from train, scores on --split.")
@click.option("--strategies", default="zero-shot,one-shot,few-shot,knn-few-shot", show_default=True,
              help="Comma-separated strategy plugins, compared on the same rows.")
@click.option("--split", "split_name", type=click.Choice(["test", "validation"]), default="test", show_default=True,
              help="Which split the strategies are scored on (choose on validation, report test).")
@renamed("--reference", "--compare", multiple=True, type=click.Path(path_type=Path))
@click.option("--compare", "references", multiple=True, type=click.Path(path_type=Path), callback=from_renamed,
              help="Saved model (e.g. the LoRA teacher, the best student) scored on the same rows; repeatable.")
@strategy_options
@data_options
@json_option
@friendly_errors
def compare(teacher: str, base: str | None, calibration_size: int, data_name: str, strategies: str,
            split_name: str, references: tuple[Path, ...], k: int | None, seed: int, instruction: str, template: str,
            exemplar_template: str, data_dir: Path | None, limit: int | None, labeled: int | None,
            as_json: bool) -> None:
    """ROC-AUC, PR-AUC and Brier score of each strategy with TEACHER, on the same rows of --split."""
    from moderation.artifacts import load_model, read_manifest

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    if not names:
        raise PromptError("--strategies is empty; name at least one, e.g. zero-shot,few-shot")
    for name in names:
        get_registry().get("prompt_strategy", name)  # every unknown name fails before any long work
    models = {path: read_manifest(path) for path in references}
    data = load(data_name, data_dir, limit=limit, labeled=labeled)
    train, rows = data.split("train", "train"), data.split(split_name)
    if not rows:
        raise PromptError(f"{data_name} has no {split_name} rows to compare on")
    texts = [r.text for r in rows]
    results = []
    for name in names:
        start = time.perf_counter()
        params = strategy_params(name, k, seed, instruction, template, exemplar_template, k_where_taken=True)
        model = build_prompted_teacher(teacher, name, train, strategy_params=params,
                                       **teacher_params(base, calibration_size, seed))
        scores = score_texts(model, texts)
        results.append({"kind": "prompted", "name": name, "k": optional(model.strategy, "prompt_strategy", "k"),
                        **quality(scores, rows), "seconds": round(time.perf_counter() - start, 1)})
    for path, manifest in models.items():
        start = time.perf_counter()
        scores = score_texts(load_model(path), texts)
        results.append({"kind": "reference", "name": manifest.model_id, "k": None, **quality(scores, rows),
                        "seconds": round(time.perf_counter() - start, 1)})
    if as_json:
        click.echo(json.dumps({"teacher": teacher, "data": data_name, "split": split_name, "rows": len(rows),
                               "results": results}, indent=2))
        return
    click.echo(f"{teacher} on {data_name} {split_name} ({len(rows):,} rows; exemplars from {len(train):,} train rows)")
    click.echo(f"{'':<10}{'name':<28}{'k':>4}{'ROC-AUC':>9}{'PR-AUC':>8}{'Brier':>8}{'seconds':>9}")
    for r in results:
        k_text = "" if r["k"] is None else str(r["k"])
        click.echo(f"{r['kind']:<10}{r['name']:<28}{k_text:>4}{_num(r['roc_auc']):>9}{_num(r['pr_auc']):>8}"
                   f"{_num(r['brier']):>8}{r['seconds']:>9.1f}")


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


@command.command("save")
@teacher_options
@click.option("--strategy", default="knn-few-shot", show_default=True, help="Prompt strategy plugin.")
@click.option("--data", "data_name", required=True, help="Data set whose training split is the exemplar pool.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the saved teacher (use it as `--model DIR`).")
@click.option("--evaluate/--no-evaluate", default=True, show_default=True,
              help="Measure the saved teacher on the validation split and record it in the manifest.")
@strategy_options
@data_options
@json_option
@friendly_errors
def save(teacher: str, base: str | None, calibration_size: int, strategy: str, data_name: str, out: Path,
         evaluate: bool, k: int | None, seed: int, instruction: str, template: str, exemplar_template: str,
         data_dir: Path | None, limit: int | None, labeled: int | None, as_json: bool) -> None:
    """Build a prompted teacher (exemplars from --data's training split) and save it to --out, loadable by
    every command that takes --model."""
    params = strategy_params(strategy, k, seed, instruction, template, exemplar_template)
    data = load(data_name, data_dir, limit=limit, labeled=labeled)
    model = build_prompted_teacher(teacher, strategy, data.split("train", "train"), strategy_params=params,
                                   **teacher_params(base, calibration_size, seed))
    manifest = save_prompted_teacher(model, out, data=data_name,
                                     evaluate_on=data.split("validation") if evaluate else ())
    if as_json:
        click.echo(json.dumps({"model": manifest.model_id, "path": str(out), "metrics": manifest.metrics}))
        return
    auc = manifest.metrics.get("eval_roc_auc")
    measured = f", validation ROC-AUC {auc:.4f}" if isinstance(auc, float) else ""
    click.echo(f"Saved {manifest.model_id} ({strategy}, {len(model.pool):,} exemplar rows) to {out}{measured}")
