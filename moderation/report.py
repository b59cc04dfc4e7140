"""Audit reports people read: plots (matplotlib, Agg, PNG bytes) and the report folder.

A report folder holds ``report.json`` (every number), ``report.html`` (one self-contained page: inline
CSS, plots as base64 PNG, no script and no network) and ``summary.md`` (a few lines). The web app lists
such folders; the folder is replaced whole, so a reader never sees half a report.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moderation.fairness import AuditError

REPORT_JSON, REPORT_HTML, SUMMARY_MD = "report.json", "report.html", "summary.md"
TEMPLATE = Path(__file__).parent / "templates" / "audit" / "report.html.tmpl"
DPI = 90


# --- plots --------------------------------------------------------------------------------------------


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display: reports are built on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def _colors(models: Sequence[str]) -> dict[str, Any]:
    cmap = _pyplot().get_cmap("tab10")
    return {m: cmap(i % 10) for i, m in enumerate(models)}


@dataclass(frozen=True)
class Panel:
    """One metric drawn per group: field ``key`` of the rows, optionally with interval fields."""

    key: str
    title: str
    low: str | None = None
    high: str | None = None
    reference: Mapping[str, float | None] = field(default_factory=dict)  # a dashed line per model
    xlim: tuple[float, float] | None = None
    small: str | None = None  # a row field flagging this metric of that group as resting on too few rows


def group_chart(rows: Sequence[Mapping[str, Any]], panels: Sequence[Panel], models: Sequence[str], title: str,
                label: str = "identity", bars: bool = True) -> bytes:
    """Horizontal bars (or points with interval whiskers) per group, one colour per model, one panel per
    metric. Too-small groups (or metrics, ``Panel.small``) are hatched and faded; undefined values are written
    as such; intervals are whiskers."""
    plt = _pyplot()
    groups = list(dict.fromkeys(r[label] for r in rows))
    small = {r[label] for r in rows if r.get("too_small")}
    colors = _colors(models)
    height = 0.8 / max(len(models), 1)
    per_group = 0.16 * len(models) + 0.14
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels) + 1.5, per_group * len(groups) + 1.8),
                             sharey=True, squeeze=False, layout="constrained")
    y = np.arange(len(groups))
    for ax, panel in zip(axes[0], panels, strict=True):
        for i, model in enumerate(models):
            by_group = {r[label]: r for r in rows if r["model"] == model}
            pos = y - 0.4 + height * (i + 0.5)
            for g, p in zip(groups, pos, strict=True):
                row = by_group.get(g)
                value = None if row is None else row.get(panel.key)
                if value is None:
                    ax.text(0.01, p, "undefined", transform=ax.get_yaxis_transform(), va="center", fontsize=7,
                            color="0.4")
                    continue
                thin = g in small or bool(panel.small and row.get(panel.small))
                hatch = "///" if thin else None
                alpha = 0.45 if thin else 0.9
                if bars:
                    ax.barh(p, value, height=height, color=colors[model], alpha=alpha, hatch=hatch,
                            label=model if g == groups[0] else None)
                else:
                    ax.plot(value, p, "o", color=colors[model], alpha=alpha, label=model if g == groups[0] else None)
                if panel.low and row.get(panel.low) is not None and row.get(panel.high) is not None:
                    ax.plot([row[panel.low], row[panel.high]], [p, p], "-", color=colors[model], alpha=alpha, lw=1.5)
            line = panel.reference.get(model)
            if line is not None:
                ax.axvline(line, color=colors[model], ls="--", lw=1)
        if not bars:
            ax.axvline(0, color="0.3", lw=0.8)
        if panel.xlim:
            ax.set_xlim(*panel.xlim)
        ax.set_title(panel.title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(y, [f"{g} (small)" if g in small else g for g in groups], fontsize=8)
    axes[0][0].set_ylim(len(groups) - 0.5, -0.5)  # first group on top, no empty margin
    handles, names = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="outside lower center", ncol=min(len(models), 3), fontsize=8)
    fig.suptitle(title, fontsize=11)
    return _png(fig)


def score_distributions(dists: Mapping[str, Sequence[tuple[str, np.ndarray, np.ndarray]]], title: str,
                        threshold: float) -> bytes:
    """Per model, per group: box plots of the scores of non-toxic (blue) and toxic (red) rows."""
    plt = _pyplot()
    models = list(dists)
    n_groups = max(len(v) for v in dists.values())
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 0.42 * n_groups + 1.6), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, model in zip(axes[0], models, strict=True):
        names = [g for g, _, _ in dists[model]]
        for offset, index, color in ((-0.18, 1, "tab:blue"), (0.18, 2, "tab:red")):
            data = [d[index] if len(d[index]) else np.array([np.nan]) for d in dists[model]]
            ax.boxplot(data, positions=np.arange(len(names)) + offset, widths=0.3, orientation="horizontal",
                       showfliers=False, patch_artist=True, boxprops={"facecolor": color, "alpha": 0.5},
                       medianprops={"color": "k"})
        ax.axvline(threshold, color="0.3", ls=":", lw=1)
        ax.set_yticks(np.arange(len(names)), names, fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("score (blue: non-toxic rows, red: toxic rows; dotted: threshold)", fontsize=8)
    axes[0][0].invert_yaxis()
    fig.suptitle(title, fontsize=11)
    return _png(fig)


def delta_heatmap(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str], title: str) -> bytes:
    """Identities x metrics, coloured by how much worse the audited model is than the reference
    (red: worse); an asterisk marks changes whose interval excludes zero."""
    plt = _pyplot()
    groups = list(dict.fromkeys(r["identity"] for r in rows))
    grid = np.full((len(groups), len(metrics)), np.nan)
    marks = np.zeros_like(grid, dtype=bool)
    for r in rows:
        if r["metric"] in metrics and r.get("worse_by") is not None:
            i, j = groups.index(r["identity"]), list(metrics).index(r["metric"])
            grid[i, j], marks[i, j] = r["worse_by"], bool(r.get("significant"))
    limit = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    fig, ax = plt.subplots(figsize=(1.3 * len(metrics) + 3.5, 0.36 * len(groups) + 1.8), layout="constrained")
    image = ax.imshow(grid, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for i in range(len(groups)):
        for j in range(len(metrics)):
            text = "n/a" if np.isnan(grid[i, j]) else f"{grid[i, j]:+.3f}{'*' if marks[i, j] else ''}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7)
    ax.set_xticks(np.arange(len(metrics)), metrics, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(groups)), groups, fontsize=8)
    fig.colorbar(image, ax=ax, label="worse by (red: audited model worse)")
    ax.set_title(title, fontsize=10)
    return _png(fig)


# --- the report folder --------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    return str(value)


def _row_class(row: Mapping[str, Any]) -> str:
    if row.get("verdict") == "worse" or row.get("passed") is False:
        return "bad"
    return "small" if row.get("too_small") else ""


TEXT_COLUMNS = ("note", "excluded_from", "detail")  # free text: wrapped, and empty rather than "n/a"


def _table(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    wrap = [c in TEXT_COLUMNS for c in columns]

    def cell(row: Mapping[str, Any], column: str) -> str:
        return "" if column in TEXT_COLUMNS and row.get(column) is None else _cell(row.get(column))

    return {"columns": columns, "wrap": wrap,
            "rows": [{"cls": _row_class(r), "cells": [cell(r, c) for c in columns]} for r in rows]}


def _headline(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(k, _cell(v)) for k, v in summary.items() if not isinstance(v, list | dict)]


def render_html(report: Mapping[str, Any], figures: Mapping[str, Mapping[str, bytes]]) -> str:
    """The report as one self-contained HTML page; every text value is escaped by the template engine."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    sections = []
    for name, audit in report["audits"].items():
        images = [{"title": t, "src": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}
                  for t, png in figures.get(name, {}).items()]
        about = [" ".join(p.split()) for p in (audit.get("about") or "").split("\n\n") if p.strip()]  # unwrapped
        sections.append({"name": name, "about": about,
                         "skipped": audit.get("skipped"), "notes": audit.get("notes", []), "figures": images,
                         "tables": {t: _table(rows) for t, rows in audit.get("tables", {}).items() if rows}})
    summary = report["summary"]
    return template.render(
        report=report, verdict=verdict(report), pairs=_table(side_by_side(report)), headline=_headline(summary),
        sections=sections,
        worst=_table(summary.get("worst_identities", [])), gates=_table(report.get("gates", [])),
        data=_table(report["data"]), settings=_headline(report["settings"]),
    )


MEANING = {  # what a low bias AUC of an identity means for a moderator
    "bpsn_auc": "benign mentions of {identity} score as high as toxic comments elsewhere (they get over-flagged)",
    "bnsp_auc": "toxic comments about {identity} score as low as benign comments elsewhere (abuse is missed)",
    "subgroup_auc": "the model can hardly tell abuse of {identity} from benign mentions",
}


def verdict(report: Mapping[str, Any]) -> list[str]:
    """The report in plain sentences: what was audited on which rows, the headline with its reference, the
    weakest point with its evidence, the error-rate gaps, behaviour, the reference comparison, the gates."""
    summary, model, compare = report["summary"], report["model"], report.get("compare")
    rows = sum(d["rows"] for d in report["data"])
    out = [f"Audited {_named(model)} on {rows:,} held-out rows of {len(report['data'])} data set(s) "
           f"({', '.join(d['name'] for d in report['data'])}), rows no audited model was trained on."]
    final, ref = summary.get("final_bias_metric"), summary.get("reference_final_bias_metric")
    if final is not None:
        versus = ""
        if compare and ref is not None:
            word = ("better than" if final > ref + 0.005 else "worse than" if final < ref - 0.005
                    else "about the same as")
            versus = f", {word} the reference {_named(compare)} ({ref:.3f})"
        out.append(f"Its final bias metric (1.0 = no measured bias; the worst over data sets) is {final:.3f}{versus}.")
    worst = min(summary.get("worst_identities") or [], key=lambda w: w["value"], default=None)
    if worst is not None:
        meaning = MEANING.get(worst["metric"], "{identity} is its worst identity").format(identity=worst["identity"])
        out.append(f"Its weakest point is {worst['identity']} on {worst['data']}: {meaning} "
                   f"({worst['metric']} {worst['value']:.3f}, {worst['rows']} rows).")
    gaps = [(summary.get(f"significant_{r}_gaps"), what) for r, what in
            (("fpr", "benign comments that mention them are flagged significantly more often than other benign "
                     "comments"),
             ("fnr", "toxic comments about them are missed significantly more often than other toxic comments"))]
    for count, what in gaps:
        if count is not None:
            out.append(f"For {int(count)} identity group(s) with enough rows of the class, {what}.")
    if summary.get("behaviour_pass_rate") is not None:
        out.append(f"It passes {summary['behaviour_pass_rate']:.0%} of the held-out behaviour tests; its weakest "
                   f"category passes {summary['min_behaviour_pass_rate']:.0%}.")
    if summary.get("amplified") is not None:
        out.append(f"Against the reference, {int(summary['amplified'])} (identity, metric) pairs are significantly "
                   f"worse and {int(summary.get('improved') or 0)} significantly better.")
    failed = [g["metric"] for g in report.get("gates", []) if not g["passed"]]
    if report.get("gates"):
        out.append(f"Gates: {len(failed)} of {len(report['gates'])} failed ({', '.join(failed)})." if failed
                   else f"Gates: all {len(report['gates'])} passed.")
    return out


def side_by_side(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The final bias metric per data set, the model beside its reference (empty without a reference)."""
    finals = report["audits"].get("subgroup-auc", {}).get("tables", {}).get("final", [])
    models = list(dict.fromkeys(r["model"] for r in finals))
    if len(models) < 2:
        return []
    by = {(r["data"], r["model"]): r for r in finals}
    return [{"data": data, **{f"{role} {models[i]}": by.get((data, models[i]), {}).get("final_bias_metric")
                              for i, role in ((0, "model"), (1, "reference"))}}
            for data in dict.fromkeys(r["data"] for r in finals)]


def label_of(model: Mapping[str, Any]) -> str:
    """The name a model's rows carry in the audit tables (reports before labels used the model id)."""
    return model.get("label") or model["id"]


def _named(model: Mapping[str, Any]) -> str:
    return label_of(model) if label_of(model) == model["id"] else f"{label_of(model)} [{model['id']}]"


def render_summary(report: Mapping[str, Any]) -> str:
    """Markdown: the plain-language verdict, then what was audited, the final bias metric (beside the
    reference's), the worst identities, gates."""
    summary = report["summary"]
    model, compare = report["model"], report.get("compare")
    lines = [f"# Bias audit of {_named(model)}", "", " ".join(verdict(report)), ""]
    if compare:
        lines.append(f"- Compared with: {_named(compare)} ({compare.get('kind') or 'model'})")
    lines.append("- Data (held-out audit rows): " + ", ".join(f"{d['name']} ({d['rows']})" for d in report["data"]))
    if "final_bias_metric" in summary:
        finals = report["audits"].get("subgroup-auc", {}).get("tables", {}).get("final", [])
        mine = [r for r in finals if r["model"] == label_of(model)]
        each = ", ".join(f"{r['data']} {_cell(r['final_bias_metric'])}" for r in mine)
        lines.append(f"- Final bias metric: {_cell(summary['final_bias_metric'])} (worst over data sets: {each})")
    if summary.get("reference_final_bias_metric") is not None:
        lines.append(f"- Final bias metric of the reference: {_cell(summary['reference_final_bias_metric'])}")
    pairs = side_by_side(report)
    if pairs:
        names = list(pairs[0])
        lines += ["", "| " + " | ".join(names) + " |", "|" + " --- |" * len(names)]
        lines += ["| " + " | ".join(_cell(p[n]) if n != "data" else p[n] for n in names) + " |" for p in pairs]
        lines.append("")
    for w in summary.get("worst_identities", []):
        lines.append(f"- Worst identity on {w['data']}: {w['identity']} ({w['metric']} {_cell(w['value'])})")
    if summary.get("amplified") is not None:
        lines.append(f"- Versus the reference: {int(summary['amplified'])} (identity, metric) pairs significantly "
                     f"worse, {int(summary.get('improved') or 0)} significantly better")
    for gate in report.get("gates", []):
        outcome = "passed" if gate["passed"] else "FAILED"
        lines.append(f"- Gate {gate['metric']} >= {gate['threshold']}: {outcome} (value {_cell(gate['value'])})")
    lines += [f"- Note: {note}" for note in report.get("notes", [])]
    skipped = [f"{n} ({a['skipped']})" for n, a in report["audits"].items() if "skipped" in a]
    if skipped:
        lines.append("- Skipped audits: " + "; ".join(skipped))
    lines += ["", f"Full report: {REPORT_HTML}; every number: {REPORT_JSON}.", ""]
    return "\n".join(lines)


def _replaceable(out: Path) -> bool:
    """An existing folder may be replaced only if it is empty or an earlier report."""
    return not any(out.iterdir()) or (out / REPORT_JSON).is_file()


def check_out(out: Path) -> None:
    """Refuse, before any work, to write a report over a folder that is not an earlier report."""
    if out.exists() and (not out.is_dir() or not _replaceable(out)):
        raise AuditError(f"--out {out} exists and is not a report folder; choose a new folder name")


def write_report(report: Mapping[str, Any], figures: Mapping[str, Mapping[str, bytes]], out: Path) -> Path:
    """Write report.json, report.html and summary.md into ``out``, replacing an earlier report whole."""
    out = Path(out)
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial"  # hidden: report listings skip dot-folders
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        (staging / REPORT_JSON).write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        (staging / REPORT_HTML).write_text(render_html(report, figures), encoding="utf-8")
        (staging / SUMMARY_MD).write_text(render_summary(report), encoding="utf-8")
        old = out.parent / f".{out.name}.old"
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


