"""`moderation data list|show`: the data sets, their splits, held-out identity slices and problems."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click
import numpy as np

from moderation.commands.common import friendly_errors, json_option
from moderation.data import HELD_OUT, DataError, LoadedData, fingerprint, load
from moderation.plugins import get_registry
from moderation.protocols import SPLITS, Record, optional


def data_options(command):
    """Options every data-reading command shares."""
    command = click.option("--labeled", type=click.IntRange(0), default=None,
                           help="Keep only N labeled training rows; the rest of train joins 'unlabeled'.")(command)
    command = click.option("--limit", type=click.IntRange(1), default=None,
                           help="Keep N rows, chosen by content hash (the same rows whatever the file order).")(command)
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Folder holding the shared data (default: $MODERATION_DATA_DIR).")(command)


@click.group("data")
def command() -> None:
    """Data sets, splits and held-out identity slices."""


def _summary_row(name: str, data_dir: Path | None) -> dict[str, Any]:
    info = get_registry().get("dataset", name)
    row = {"name": name, "rows": None, "present": False, "license": "", "description": info.description,
           "distribution": info.distribution, "error": None}
    try:
        dataset = info.factory(data_dir=data_dir)
        row["license"] = dataset.license
        present = optional(dataset, "dataset", "present")
        row["present"] = present() if present is not None else True
        if row["present"]:
            row["rows"] = sum(1 for item in dataset.records() if isinstance(item, Record))
    except DataError as exc:  # e.g. `csv`, which needs a path: listed, not counted
        row["error"] = str(exc)
    return row


@command.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the shared data (default: $MODERATION_DATA_DIR).")
@json_option
@friendly_errors
def list_(data_dir: Path | None, as_json: bool) -> None:
    """Every data set: rows, whether its files are present, license."""
    rows = [_summary_row(name, data_dir) for name in get_registry().names("dataset")]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        state = f"{r['rows']:>7,} rows" if r["present"] else "   missing  " if not r["error"] else "   (needs a path)"
        click.echo(f"{r['name']:<14}{state}   {r['license']}")


def describe(data: LoadedData) -> dict[str, Any]:
    """Everything `data show` reports, as plain data."""
    splits: dict[str, Any] = {}
    for split, count in sorted(data.split_counts().items()):
        records = [r for r in data.records if r.split == split]
        tox = np.array([r.toxicity for r in records if r.label >= 0])
        splits[split] = {
            "rows": count,
            "toxic": int((tox >= 0.5).sum()) if tox.size else None,
            "non_toxic": int((tox < 0.5).sum()) if tox.size else None,
            "mean_toxicity": round(float(tox.mean()), 4) if tox.size else None,
            "soft_labels": int(((tox > 0) & (tox < 1)).sum()) if tox.size else None,
            "labels_hidden": tox.size == 0 and count > 0,
        }
    labeled = np.array([r.toxicity for r in data.records if r.label >= 0])
    histogram = np.histogram(labeled, bins=10, range=(0, 1))[0].tolist() if labeled.size else []
    return {
        "name": data.name,
        "rows": len(data.records),
        "splits": splits,
        "toxicity_histogram": {"bins": [round(i / 10, 1) for i in range(11)], "counts": histogram},
        "identities": dict(Counter(g for r in data.records for g in r.identities).most_common()),
        "identities_held_out": dict(Counter(g for r in data.records if r.split == HELD_OUT
                                            for g in r.identities).most_common()),
        "lexicon_version": data.lexicon_version,
        "train_fingerprint": fingerprint(r for r in data.records if r.split == "train"),
        "problems": data.report.as_dict(),
    }


@command.command("show")
@click.argument("name")
@data_options
@click.option("--text-column", default=None, help="For a CSV/JSONL file: the text column.")
@click.option("--label-column", default=None, help="For a CSV/JSONL file: the label or toxicity column.")
@json_option
@friendly_errors
def show(name: str, data_dir: Path | None, limit: int | None, labeled: int | None, text_column: str | None,
         label_column: str | None, as_json: bool) -> None:
    """Label and toxicity distribution, rows per split, identity groups and problems of NAME (a data set or a
    path to a CSV/JSONL file)."""
    columns = {k: v for k, v in {"text_column": text_column, "label_column": label_column}.items() if v}
    facts = describe(load(name, data_dir, limit=limit, labeled=labeled, **columns))
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    click.echo(f"{facts['name']}: {facts['rows']:,} rows (identity lexicon {facts['lexicon_version']})")
    click.echo(f"{'split':<12}{'rows':>8}{'toxic':>8}{'clean':>8}{'mean':>8}{'soft':>8}")
    for split, s in facts["splits"].items():
        if s["labels_hidden"]:
            click.echo(f"{split:<12}{s['rows']:>8}   (labels hidden: the teacher labels these)")
        else:
            click.echo(f"{split:<12}{s['rows']:>8}{s['toxic']:>8}{s['non_toxic']:>8}{s['mean_toxicity']:>8.3f}"
                       f"{s['soft_labels']:>8}")
    click.echo("toxicity histogram (0.0-1.0 in tenths): " + " ".join(map(str, facts["toxicity_histogram"]["counts"])))
    held = facts["identities_held_out"]
    click.echo("identity groups (all / held out for audits):")
    for group, count in facts["identities"].items():
        click.echo(f"  {group:<38}{count:>7}{held.get(group, 0):>7}")
    problems = facts["problems"]
    counts = {k: v for k, v in problems.items() if k not in ("examples", "rows_read", "kept") and v}
    click.echo(f"read {problems['rows_read']:,} rows, kept {problems['kept']:,}; problems: "
               + (", ".join(f"{k}={v}" for k, v in counts.items()) or "none"))
    for example in problems["examples"][:5]:
        click.echo(f"  {example['where']}: {example['kind']}: {example['reason']}")
    if len(problems["examples"]) > 5:
        click.echo("  ... (--json lists more)")


@command.command("export")
@click.argument("name")
@click.option("--split", "split_name", type=click.Choice(SPLITS), required=True, help="Which split to write.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="A .csv file to write.")
@data_options
@friendly_errors
def export(name: str, split_name: str, out: Path, data_dir: Path | None, limit: int | None,
           labeled: int | None) -> None:
    """Write one split of NAME to a CSV file: what a model was trained or tested on, row by row.
    Unlabeled rows are written with their labels hidden, as every model sees them."""
    import pandas as pd

    if out.suffix.lower() != ".csv":
        raise click.BadParameter(f"{out} must end in .csv", param_hint="--out")
    data = load(name, data_dir, limit=limit, labeled=labeled)
    rows = [r for r in data.records if r.split == split_name]
    frame = pd.DataFrame({"id": [r.id for r in rows], "text": [r.text for r in rows],
                          "toxicity": [r.toxicity for r in rows], "label": [r.label for r in rows],
                          "identities": [";".join(r.identities) for r in rows], "source": [r.source for r in rows],
                          "group": [r.group for r in rows], "split": [r.split for r in rows]})
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    frame.to_csv(partial, index=False)
    partial.replace(out)
    click.echo(f"Wrote {len(rows):,} rows of the {split_name!r} split of {data.name} to {out} "
               f"(split plan {data.split_plan_version}, lexicon {data.lexicon_version})")
