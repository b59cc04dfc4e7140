"""Running fairness audits into one report: which audits to run, on which held-out rows (less any a
model was trained on), with which gates, and the report's JSON. The metrics the audits compute are in
``moderation.fairness``; the optional attributes of an audit plugin in ``moderation.protocols.OPTIONAL``.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
from tqdm import tqdm

from moderation import fairness
from moderation.fairness import FINAL_BIAS, AuditError, AuditSettings
from moderation.plugins import canonical, get_registry
from moderation.protocols import AuditResult, Record, Scorer, optional
from moderation.scoring import score_texts

GATE_ALIASES = {"final_bias": FINAL_BIAS}
SUMMARY_TABLES = ("worst_identities",)  # audit tables lifted into the report summary
ALL = "all"
# how `all` runs and reports them
ORDER = ("subgroup-auc", "error-rate-gaps", "templates", "behaviour", "amplification")


def __getattr__(name: str) -> Any:
    """The metrics lived here before ``moderation.fairness``: plugins importing them from here still work."""
    if name in fairness.__all__:
        warnings.warn(f"moderation.audit.{name} moved to moderation.fairness.{name}", DeprecationWarning,
                      stacklevel=2)
        return getattr(fairness, name)
    raise AttributeError(f"module 'moderation.audit' has no attribute {name!r}")


def trained_on(lineage: Mapping[str, Any]) -> list[str]:
    """The data sets a saved model's lineage says it, or the teacher it was distilled from, was trained on
    (``lineage["data"]`` and ``lineage["teacher_data"]``, each comma-pooled), by their current names."""
    names = [lineage.get("data"), lineage.get("teacher_data")]
    return list(dict.fromkeys(canonical("dataset", n.strip()) for data in names if isinstance(data, str)
                              for n in data.split(",") if n.strip()))


def drop_seen(slices: Mapping[str, Sequence[Record]], seen: set[str]) -> tuple[dict[str, list[Record]], dict[str, int]]:
    """Remove audit rows whose text a model may have trained on, by split key (``split_key``).

    Audit rows are held out within their own data set, but the same text can sit in the training split
    of another data set (the demo data is sampled from the shared data sets with its own split plan).
    A model audited on text it was trained on looks fairer than it is."""
    from moderation.splits import split_key

    kept = {name: [r for r in records if split_key(r.text) not in seen] for name, records in slices.items()}
    return kept, {name: len(slices[name]) - len(rows) for name, rows in kept.items()}


# --- running audits -----------------------------------------------------------------------------------


class CachedScorer:
    """Wraps a scorer so every distinct text is scored once per run, however many audits ask, and
    every score is checked (NaN or out-of-range scores stop the audit with the model named)."""

    def __init__(self, scorer: Scorer, name: str, batch_size: int = 256) -> None:
        self.scorer, self.name, self.batch_size = scorer, name, batch_size
        self._cache: dict[str, float] = {}

    def prefetch(self, texts: Sequence[str], desc: str) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        with tqdm(total=len(missing), desc=desc, unit=" texts", disable=None) as bar:
            for start in range(0, len(missing), self.batch_size):
                batch = missing[start : start + self.batch_size]
                scores = score_texts(self.scorer, batch, len(batch), f"model {self.name}")
                self._cache.update(zip(batch, scores.tolist(), strict=True))
                bar.update(len(batch))

    def score(self, texts: Sequence[str]) -> np.ndarray:
        self.prefetch([t for t in texts if t not in self._cache], f"scoring with {self.name}")
        return np.array([self._cache[t] for t in texts], dtype=float)


@dataclass
class AuditRun:
    """What running a set of audits produced: results by audit name, and audits skipped with why."""

    results: dict[str, AuditResult] = field(default_factory=dict)
    about: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def select_audits(spec: str) -> tuple[list[str], bool]:
    """Audit names from ``all`` or a comma list, and whether they were named one by one. An unknown
    name is an error listing the installed audits."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise AuditError("--audits is empty; give 'all' or audit names separated by commas")
    registry = get_registry()
    if names == [ALL]:
        rank = {name: i for i, name in enumerate(ORDER)}
        return sorted(registry.names("audit"), key=lambda n: (rank.get(n, len(ORDER)), n)), False
    for name in names:
        registry.get("audit", name)  # raises PluginError naming the installed audits
    return list(dict.fromkeys(names)), True


def make_audit(name: str, settings: AuditSettings) -> Any:
    """Instantiate an audit plugin with the settings its factory accepts."""
    factory = get_registry().get("audit", name).factory
    params = inspect.signature(factory).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return factory(**{k: v for k, v in asdict(settings).items() if takes_all or k in params})


def gate_keys(names: Sequence[str]) -> dict[str, str]:
    """Summary numbers the selected audits let ``--fail-under`` gate on, mapped to their audit."""
    registry = get_registry()
    return {key: name for name in names for key in optional(registry.get("audit", name).factory, "audit", "gates")}


def headline(run: AuditRun, model: str) -> dict[str, float | None]:
    """The figures one model is judged by in a run, from whichever of these audits ran: the final bias
    metric per data set (subgroup-auc), the highest mean score of an identity term's non-toxic template
    sentences (templates) and the pass rate per behaviour category (behaviour)."""
    figures: dict[str, float | None] = {}
    if "subgroup-auc" in run.results:
        figures.update({f"final bias {r['data']}": r["final_bias_metric"]
                        for r in run.results["subgroup-auc"].tables["final"] if r["model"] == model})
    if "templates" in run.results:
        means = [r["mean_nontoxic_score"] for r in run.results["templates"].tables["terms"]
                 if r["model"] == model and r["mean_nontoxic_score"] is not None]
        figures["max term score"] = max(means, default=None)
    if "behaviour" in run.results:
        figures.update({f"pass {r['category']}": r["pass_rate"]
                        for r in run.results["behaviour"].tables["categories"] if r["model"] == model})
    return figures


@dataclass(frozen=True)
class Gate:
    """``--fail-under metric=value``: the audit fails when the summary number is below the value."""

    metric: str
    threshold: float


def parse_gates(specs: Sequence[str], audit_names: Sequence[str]) -> list[Gate]:
    """Parse ``NAME=VALUE`` gates; an unknown name or a name no selected audit reports is an error."""
    known = gate_keys(audit_names)
    every = gate_keys(get_registry().names("audit"))
    gates = []
    for spec in specs:
        name, sep, raw = spec.partition("=")
        name = name.strip()
        metric = GATE_ALIASES.get(name, name)
        try:
            threshold = float(raw) if sep else math.nan
        except ValueError:
            threshold = math.nan
        if not math.isfinite(threshold):
            raise AuditError(f"--fail-under {spec!r}: expected NAME=NUMBER, e.g. final_bias=0.90")
        if metric not in every:
            names = ", ".join(sorted([*GATE_ALIASES, *every]))
            raise AuditError(f"--fail-under: unknown metric {name!r}; known: {names}")
        if metric not in known:
            raise AuditError(f"--fail-under {name}: reported by the {every[metric]!r} audit, which is not "
                             "among --audits; add it")
        gates.append(Gate(metric, threshold))
    return gates


def check_gates(summary: Mapping[str, Any], gates: Sequence[Gate]) -> list[dict[str, Any]]:
    """Each gate's verdict. A metric that could not be computed fails its gate: nothing was shown."""
    results = []
    for gate in gates:
        value = summary.get(gate.metric)
        passed = value is not None and value >= gate.threshold
        why = "not computable (see the report)" if value is None else ("ok" if passed else "below threshold")
        results.append({"metric": gate.metric, "threshold": gate.threshold, "value": value,
                        "passed": passed, "detail": why})
    return results


def run_audits(names: Sequence[str], scorers: Mapping[str, Scorer], slices: Mapping[str, Sequence[Record]],
               template_slices: Iterable[str], settings: AuditSettings, explicit: bool) -> AuditRun:
    """Run each audit on the slices it applies to. An audit that cannot apply (a comparison with one
    model, a template audit with no template set) is an error when named, and skipped with the reason
    recorded when it came from ``all``."""
    template_slices = set(template_slices)
    run = AuditRun()
    for name in tqdm(names, desc="audits", unit=" audit", disable=None):
        audit = make_audit(name, settings)
        run.about[name] = inspect.getdoc(type(audit)) or get_registry().get("audit", name).description
        chosen = ({k: v for k, v in slices.items() if k in template_slices}
                  if optional(audit, "audit", "template_slices_only") else dict(slices))
        applies = optional(audit, "audit", "applies_to")
        chosen = {k: v for k, v in chosen.items() if applies is None or applies(v)}
        reason = None
        if len(scorers) < optional(audit, "audit", "min_scorers"):
            reason = "compares two models: pass --compare PATH (a reference, e.g. the teacher)"
        elif not chosen and applies is not None:
            reason = "has no rows it can measure in these data sets (e.g. --data behaviour)"
        elif not chosen:
            reason = "needs a template data set (bias-madlibs or templates) among --data"
        if reason and explicit:
            raise AuditError(f"audit {name!r} {reason}")
        if reason:
            run.skipped[name] = reason
            continue
        result = audit.run(scorers, chosen)
        if not isinstance(result, AuditResult):
            raise AuditError(f"audit {name!r} returned {type(result).__name__}, not an AuditResult")
        run.results[name] = result
    return run


def summarize(run: AuditRun) -> dict[str, Any]:
    """The report summary: every audit's summary numbers (a clash is namespaced ``audit.key``) and the
    worst identities."""
    summary: dict[str, Any] = {FINAL_BIAS: None} if any(FINAL_BIAS in r.summary for r in run.results.values()) else {}
    for name, result in run.results.items():
        for key, value in result.summary.items():
            summary[f"{name}.{key}" if key in summary and key != FINAL_BIAS else key] = value
        for table in SUMMARY_TABLES:
            if table in result.tables:
                summary.setdefault(table, []).extend(result.tables[table])
    return summary


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy numbers unwrapped, NaN and infinities as None, floats to 6 decimals."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value


def build_report(model: dict[str, Any], compare: dict[str, Any] | None, data: list[dict[str, Any]],
                 settings: AuditSettings, run: AuditRun, gates: Sequence[Gate],
                 notes: Sequence[str] = ()) -> dict[str, Any]:
    """Everything the audit found, as the JSON document written to report.json (figures are listed by
    title; their images live in report.html)."""
    from moderation import __version__

    summary = summarize(run)
    audits: dict[str, Any] = {}
    for name, result in run.results.items():
        audits[name] = {"about": run.about[name], "summary": result.summary, "notes": result.notes,
                        "tables": result.tables, "figures": list(result.figures)}
    for name, reason in run.skipped.items():
        audits[name] = {"skipped": reason}
    return jsonable({
        "model": model, "compare": compare, "data": data, "audits": audits, "summary": summary,
        "gates": check_gates(summary, gates), "settings": asdict(settings), "notes": list(notes),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "moderation_version": __version__,
    })
