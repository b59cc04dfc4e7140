"""`moderation audit`: fairness audits of a model (and a reference) on held-out identity slices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from moderation.artifacts import load_model, read_manifest
from moderation.audit import CachedScorer, build_report, drop_seen, parse_gates, run_audits, select_audits, trained_on
from moderation.commands.common import USER_ERRORS, friendly_errors, json_option, model_option, resolve_model_path
from moderation.data import HELD_OUT, by_hash, load
from moderation.fairness import AuditError, AuditSettings, labels_of
from moderation.protocols import Record
from moderation.report import REPORT_HTML, REPORT_JSON, SUMMARY_MD, check_out, render_summary, write_report
from moderation.splits import split_key

GATE_FAILED = 3  # distinct from 1 (an error) so a release pipeline can tell "biased" from "broken"


def _model_info(path: Path, label: str | None) -> dict[str, Any]:
    """What the report says about a model; ``label`` names it in tables and charts (default: its plugin and
    folder, e.g. "tiny-transformer (default)", which a reader tells apart more easily than two hashes)."""
    manifest = read_manifest(path)
    return {"id": manifest.model_id, "label": label or f"{manifest.plugin} ({path.resolve().name})",
            "path": str(path), "kind": manifest.kind, "plugin": manifest.plugin,
            "data_fingerprint": manifest.data_fingerprint, "created": manifest.created,
            "metrics": manifest.metrics, "lineage": manifest.lineage}


def _seen(models: list[dict[str, Any]], data_dir: Path | None) -> tuple[set[str], list[str]]:
    """Split keys of every non-audit row of the data sets the models' lineages name, and notes."""
    seen: set[str] = set()
    notes = []
    for model in models:
        names = trained_on(model["lineage"])
        if not names:
            notes.append(f"{model['id']}: its manifest names no training data set, so audit rows it may have "
                         "trained on could not be checked for")
        for name in names:
            try:
                data = load(name, data_dir)
            except USER_ERRORS as exc:
                notes.append(f"{model['id']}: could not load its training data {name!r} to check for overlap: {exc}")
                continue
            seen |= {split_key(r.text) for r in data.records if r.split != HELD_OUT}
    return seen, notes


def _load_slices(names: list[str], data_dir: Path | None, limit: int | None,
                 seen: set[str]) -> tuple[dict[str, list[Record]], list[dict[str, Any]], set[str], list[str]]:
    """Each data set's held-out audit split less rows the models may have seen, what it holds, which data
    sets are template sets, and notes."""
    slices, info, templates, notes = {}, [], set(), []
    for name in names:
        data = load(name, data_dir)
        held_out = data.split(HELD_OUT, "audit")
        if limit is not None:  # sampled after the split: a limit on loaded rows would cut small slices too
            held_out = by_hash(held_out, limit)
        if not held_out:
            raise AuditError(f"data set {name!r} has no held-out audit rows: none of its {len(data.records)} "
                             "rows mention an identity group; audit a data set with identity mentions")
        records, removed = drop_seen({name: held_out}, seen)
        records, removed = records[name], removed[name]
        if removed:
            notes.append(f"{data.name}: {removed} of {len(held_out)} held-out rows also appear (same normalized "
                         "text) in a data set an audited model was trained on; they were removed from the slice")
        if not records:
            raise AuditError(f"every held-out row of {name!r} appears in the audited models' training data; "
                             "audit on a data set the models were not trained on")
        labels = labels_of(records, name)
        slices[data.name] = records
        if data.plan.audit_only:
            templates.add(data.name)
        info.append({"name": data.name, "rows": len(records), "toxic": int(labels.sum()),
                     "non_toxic": int(len(labels) - labels.sum()), "template_set": data.plan.audit_only,
                     "identity_groups": len({g for r in records for g in r.identities}),
                     "removed_seen_in_training": removed, "rows_loaded": len(data.records),
                     "lexicon_version": data.lexicon_version})
    return slices, info, templates, notes


@click.command("audit")
@model_option
@click.option("--compare", "compare_path", type=click.Path(path_type=Path), default=None,
              help="A reference model audited side by side, typically the teacher of the --model student; "
                   "the amplification audit shows where --model is more biased than it.")
@click.option("--data", "data_spec", required=True,
              help="Data set(s) whose held-out audit split is audited, comma-separated; each on its own.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the shared data (default: $MODERATION_DATA_DIR).")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Audit at most N held-out rows of each data set (chosen by content hash).")
@click.option("--audits", "audit_spec", default="all", show_default=True,
              help="'all' or audit names, comma-separated (see `moderation plugins`).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Report folder to write (report.html, report.json, summary.md), e.g. reports/NAME.")
@click.option("--min-slice", type=click.IntRange(1), default=AuditSettings.min_slice, show_default=True,
              help="Rows of each class a metric needs (e.g. a group's non-toxic rows for its FPR or BPSN AUC); "
                   "metrics on fewer are shown, flagged small, and left out of aggregates and headlines.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=AuditSettings.threshold, show_default=True,
              help="Decision threshold for false positive and false negative rates.")
@click.option("--resamples", type=click.IntRange(1), default=AuditSettings.resamples, show_default=True,
              help="Bootstrap resamples for the amplification audit's paired gap intervals.")
@click.option("--seed", type=click.IntRange(0), default=AuditSettings.seed, show_default=True,
              help="Seed of the bootstrap.")
@click.option("--fail-under", "fail_under", multiple=True, metavar="METRIC=VALUE",
              help="Exit with status 3 when a summary metric is below VALUE, e.g. final_bias=0.90 (repeatable).")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True,
              help="Texts scored at a time: memory and speed, never the scores.")
@click.option("--label", default=None, help="The model's name in tables and charts. Default: 'PLUGIN (FOLDER)'.")
@click.option("--compare-label", default=None, help="The same for the --compare model.")
@json_option
@friendly_errors
def command(model_path: Path | None, compare_path: Path | None, data_spec: str, data_dir: Path | None,
            limit: int | None, audit_spec: str, out: Path, min_slice: int, threshold: float, resamples: int,
            seed: int, fail_under: tuple[str, ...], batch_size: int, label: str | None, compare_label: str | None,
            as_json: bool) -> None:
    """Audit a model for bias on held-out identity slices and write a report folder."""
    check_out(out)
    names, explicit = select_audits(audit_spec)
    gates = parse_gates(fail_under, names)
    settings = AuditSettings(min_slice=min_slice, threshold=threshold, resamples=resamples, seed=seed)
    data_names = list(dict.fromkeys(n.strip() for n in data_spec.split(",") if n.strip()))
    if not data_names:
        raise click.UsageError("--data is empty; give one or more data set names, e.g. --data toxigen")
    model = _model_info(resolve_model_path(model_path), label)
    compare = _model_info(compare_path, compare_label) if compare_path is not None else None
    if compare is not None and compare["label"] == model["label"]:
        compare["label"] += " (compare)"
    seen, notes = _seen([m for m in (model, compare) if m is not None], data_dir)
    slices, data_info, templates, slice_notes = _load_slices(data_names, data_dir, limit, seen)
    scorers = {m["label"]: CachedScorer(load_model(m["path"]), f"{m['label']} [{m['id']}]", batch_size)
               for m in (model, compare) if m is not None}
    for name, records in slices.items():
        for scorer in scorers.values():
            scorer.prefetch([r.text for r in records], f"scoring {name} with {scorer.name}")
    run = run_audits(names, scorers, slices, templates, settings, explicit)
    report = build_report(model, compare, data_info, settings, run, gates, notes + slice_notes)
    write_report(report, {n: r.figures for n, r in run.results.items()}, out)
    failed = [g for g in report["gates"] if not g["passed"]]
    if as_json:
        click.echo(json.dumps({"out": str(out), "summary": report["summary"], "gates": report["gates"]}))
    else:
        click.echo(render_summary(report).rstrip().replace(
            f"Full report: {REPORT_HTML}", f"Full report: {out / REPORT_HTML}"))
        click.echo(f"Wrote {out / REPORT_HTML}, {out / REPORT_JSON} and {out / SUMMARY_MD}")
    for gate in failed:
        click.echo(f"gate failed: {gate['metric']} = {gate['value']} is below {gate['threshold']} "
                   f"({gate['detail']})", err=True)
    if failed:
        raise click.exceptions.Exit(GATE_FAILED)
