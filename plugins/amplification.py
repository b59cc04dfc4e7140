"""Teacher vs student: where distillation made bias worse, per slice, identity and metric."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from moderation import hookimpl
from moderation.fairness import (
    AUC_METRICS,
    FINAL_BIAS,
    RATES,
    AuditSettings,
    Delta,
    Group,
    Measured,
    auc_delta,
    auc_mask,
    bootstrap_counts,
    cell_counts,
    final_bias_metric,
    identity_groups,
    interval,
    labels_of,
    rates_from_counts,
    rng_for,
    slice_scores,
)
from moderation.protocols import AuditResult, Record, Scorer

OVERALL = "(all rows)"
GAP_METRICS = tuple(f"{rate}_gap" for rate in RATES)
METRICS = (*AUC_METRICS, *GAP_METRICS)


def _verdict(worse_by: float | None, low: float | None, high: float | None, too_small: bool) -> str:
    if worse_by is None:
        return "undefined"
    if too_small:
        return "group too small"
    if low is None or high is None:
        return "no interval"
    if low > 0:
        return "worse"
    if high < 0:
        return "better"
    return "no clear change"


def _row(data: str, reference: str, identity: str, metric: str, audited: float | None, ref: float | None,
         worse_by: float | None, low: float | None, high: float | None, too_small: bool = False,
         note: str | None = None) -> dict[str, Any]:
    return {"data": data, "reference": reference, "identity": identity, "metric": metric,
            "audited_value": audited, "reference_value": ref, "worse_by": worse_by, "worse_by_low": low,
            "worse_by_high": high, "significant": _verdict(worse_by, low, high, too_small) in ("worse", "better"),
            "verdict": _verdict(worse_by, low, high, too_small), "too_small": too_small, "note": note}


def _auc_row(data: str, reference: str, identity: str, metric: str, d: Delta, too_small: bool = False) -> dict:
    """Lower AUC is worse, so worse_by = reference - audited and its interval is the delta's, negated."""
    return _row(data, reference, identity, metric, d.a, d.b, _negated(d.delta), _negated(d.high),
                _negated(d.low), too_small, d.reason)


def _negated(x: float | None) -> float | None:
    return None if x is None else -x


class AmplificationAudit:
    """Teacher vs student, per slice and per metric: where the audited model (--model, typically the
    distilled student) is more biased than the reference (--compare, typically its teacher).

    Per identity: Subgroup, BPSN and BNSP AUC (lower is worse; DeLong interval on the paired difference,
    both models scored on the same rows) and the absolute FPR and FNR gaps at the threshold (larger is
    worse; paired bootstrap: both models on the same resampled rows). Per slice: overall AUC and the
    final bias metric. 'worse_by' is positive where the audited model is worse; a change is called
    'worse' or 'better' only when its interval excludes zero, otherwise 'no clear change'. Intervals are
    per comparison: with many identities and metrics, about 1 in 20 unchanged pairs looks significant.
    """

    name = "amplification"
    min_scorers = 2
    gates = ("final_bias_delta",)

    def __init__(self, min_slice: int = AuditSettings.min_slice, threshold: float = AuditSettings.threshold,
                 resamples: int = AuditSettings.resamples, seed: int = AuditSettings.seed,
                 confidence: float = AuditSettings.confidence) -> None:
        self.settings = AuditSettings(min_slice=min_slice, threshold=threshold, resamples=resamples, seed=seed,
                                      confidence=confidence)

    def _gap_rows(self, data: str, reference: str, group: Group, labels: np.ndarray,
                  flagged: list[np.ndarray]) -> list[dict]:
        counts = cell_counts(group.member, labels, flagged)
        boot = bootstrap_counts(counts, self.settings.resamples, rng_for(self.settings.seed, data, reference,
                                                                         group.name))
        rows = []
        for rate, metric in zip(RATES, GAP_METRICS, strict=True):
            def gaps(c: np.ndarray, rate: str = rate) -> tuple[np.ndarray, np.ndarray]:
                (ga, oa), (gb, ob) = (rates_from_counts(c, 2, j, rate) for j in (0, 1))
                return ga - oa, gb - ob

            (audited, ref), (sa, sb) = gaps(counts), gaps(boot)
            low, high = interval(np.abs(sa) - np.abs(sb), self.settings.confidence)
            defined = np.isfinite(audited) and np.isfinite(ref)
            rows.append(_row(data, reference, group.name, metric, float(audited) if defined else None,
                             float(ref) if defined else None,
                             float(abs(audited) - abs(ref)) if defined else None, low, high, group.too_small,
                             None if defined else f"{rate} undefined: the group lacks that class"))
        return rows

    def _slice_rows(self, data: str, reference: str, records: Sequence[Record], audited: np.ndarray,
                    ref: np.ndarray) -> list[dict]:
        labels = labels_of(records, data)
        groups = identity_groups(records, self.settings.min_slice)
        conf = self.settings.confidence
        overall = auc_delta(labels, audited, ref, conf)
        rows = [_auc_row(data, reference, OVERALL, "overall_auc", overall)]
        per_group: dict[str, dict[str, dict[str, Measured]]] = {"a": {}, "b": {}}
        flagged = [(s >= self.settings.threshold).astype(int) for s in (audited, ref)]
        for group in groups:
            for metric in AUC_METRICS:
                mask = auc_mask(metric, labels, group.member)
                d = auc_delta(labels[mask], audited[mask], ref[mask], conf)
                per_group["a"].setdefault(group.name, {})[metric] = Measured(d.a, d.reason)
                per_group["b"].setdefault(group.name, {})[metric] = Measured(d.b, d.reason)
                rows.append(_auc_row(data, reference, group.name, metric, d, group.too_small))
            rows += self._gap_rows(data, reference, group, labels, flagged)
        small = [g.name for g in groups if g.too_small]
        fa = final_bias_metric(Measured(overall.a), per_group["a"], small)
        fb = final_bias_metric(Measured(overall.b), per_group["b"], small)
        delta = None if fa.value is None or fb.value is None else fb.value - fa.value
        rows.insert(1, _row(data, reference, OVERALL, FINAL_BIAS, fa.value, fb.value, delta, None, None,
                            note=fa.reason or fb.reason or "a summary of the rows above; no interval of its own"))
        return rows

    def run(self, scorers: Mapping[str, Scorer], slices: Mapping[str, Sequence[Record]]) -> AuditResult:
        from moderation.report import delta_heatmap

        audited_name, *references = scorers
        result = AuditResult(tables={"changes": []})
        for data, records in slices.items():
            audited = slice_scores(scorers[audited_name], records)
            for reference in references:
                rows = self._slice_rows(data, reference, records, audited, slice_scores(scorers[reference], records))
                result.tables["changes"] += rows
                shown = [r for r in rows if not r["too_small"] and r["metric"] in (*METRICS, "overall_auc")]
                title = f"Bias change on {data}: {audited_name} vs {reference} (positive: {audited_name} worse)"
                result.figures[title] = delta_heatmap(shown, [*METRICS, "overall_auc"], title)
        first = [r for r in result.tables["changes"] if r["reference"] == references[0]]
        deltas = [r["worse_by"] for r in first if r["metric"] == FINAL_BIAS]
        result.summary = {
            "amplified": sum(r["verdict"] == "worse" for r in first),
            "improved": sum(r["verdict"] == "better" for r in first),
            # audited minus reference final metric, worst over slices (fail closed when undefined)
            "final_bias_delta": None if not deltas or None in deltas else -max(deltas),
        }
        result.notes.append(f"Audited model: {audited_name}; reference: {', '.join(references)}. Groups smaller "
                            f"than {self.settings.min_slice} rows are listed but never called worse or better.")
        return result


@hookimpl
def register_audits(register):
    register(AmplificationAudit)
