"""False positive and false negative rate gaps per identity, with bootstrap confidence intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from moderation import hookimpl
from moderation.audit import (
    RATES,
    AuditSettings,
    Group,
    bootstrap_counts,
    cell_counts,
    error_rate,
    identity_groups,
    interval,
    labels_of,
    rates_from_counts,
    rng_for,
    slice_scores,
    small_note,
    worst,
)
from moderation.protocols import AuditResult, Record, Scorer

RATE_NAMES = {"fpr": "false positive rate", "fnr": "false negative rate"}


def _none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _rate_metrics() -> dict[str, Any]:
    from fairlearn.metrics import count  # heavy: imported when an audit runs, not when plugins are listed

    # fairlearn's own false_positive_rate returns 0.0 for a group with no negatives; ours says undefined.
    return {"rows": count, **{rate: (lambda y, f, rate=rate: error_rate(y, f, rate)) for rate in RATES}}


class ErrorRateGapsAudit:
    """Per identity: false positive and false negative rates at the decision threshold, each with its gap
    to the slice's overall rate and a bootstrap confidence interval.

    FPR gap > 0: benign comments that mention the identity are flagged more often than benign comments
    overall (the group is over-moderated). FNR gap > 0: toxic comments about the identity are missed more
    often (the group is under-protected). Intervals are percentile intervals over bootstrap resamples of
    the slice's rows (seeded numpy Generator; --resamples, --seed); a gap whose interval excludes 0 is
    marked significant. Intervals are per comparison, not corrected for the number of groups. Groups
    smaller than --min-slice are shown flagged and left out of the summary.
    """

    name = "error-rate-gaps"
    gates: tuple[str, ...] = ()

    def __init__(self, min_slice: int = AuditSettings.min_slice, threshold: float = AuditSettings.threshold,
                 resamples: int = AuditSettings.resamples, seed: int = AuditSettings.seed,
                 confidence: float = AuditSettings.confidence) -> None:
        self.settings = AuditSettings(min_slice=min_slice, threshold=threshold, resamples=resamples, seed=seed,
                                      confidence=confidence)

    def _group_row(self, data: str, model: str, group: Group, labels: np.ndarray, flagged: np.ndarray) -> dict:
        from fairlearn.metrics import MetricFrame

        frame = MetricFrame(metrics=_rate_metrics(), y_true=labels, y_pred=flagged, sensitive_features=group.member)
        mine, overall = frame.by_group.loc[True], frame.overall
        toxic = int(labels[group.member].sum())
        row: dict[str, Any] = {"data": data, "model": model, "identity": group.name, "rows": group.n,
                               "non_toxic": group.n - toxic, "toxic": toxic, "too_small": group.too_small}
        counts = cell_counts(group.member, labels, [flagged])
        boot = bootstrap_counts(counts, self.settings.resamples, rng_for(self.settings.seed, data, model, group.name))
        notes = []
        for rate in RATES:
            sampled_group, sampled_overall = rates_from_counts(boot, 1, 0, rate)
            gap = _none(mine[rate] - overall[rate])
            row[rate], row[f"overall_{rate}"], row[f"{rate}_gap"] = _none(mine[rate]), _none(overall[rate]), gap
            row[f"{rate}_low"], row[f"{rate}_high"] = interval(sampled_group, self.settings.confidence)
            low, high = interval(sampled_group - sampled_overall, self.settings.confidence)
            row[f"{rate}_gap_low"], row[f"{rate}_gap_high"] = low, high
            row[f"{rate}_gap_significant"] = low is not None and (low > 0 or high < 0)
            if gap is None:
                cls = "non-toxic" if rate == "fpr" else "toxic"
                notes.append(f"{rate} undefined: no {cls} rows in the group")
        row["note"] = "; ".join(notes) or None
        return row

    def run(self, scorers: Mapping[str, Scorer], slices: Mapping[str, Sequence[Record]]) -> AuditResult:
        from moderation.report import Panel, group_chart

        result = AuditResult(tables={"rates": [], "overall": []})
        models = list(scorers)
        threshold = self.settings.threshold
        for data, records in slices.items():
            labels = labels_of(records, data)
            groups = identity_groups(records, self.settings.min_slice)
            result.notes += filter(None, [small_note(groups, self.settings.min_slice, data)])
            for model, scorer in scorers.items():
                flagged = (slice_scores(scorer, records) >= threshold).astype(int)
                result.tables["overall"].append({
                    "data": data, "model": model, "threshold": threshold, "rows": len(records),
                    "flagged_share": float(flagged.mean()),
                    **{rate: _none(error_rate(labels, flagged, rate)) for rate in RATES}})
                result.tables["rates"] += [self._group_row(data, model, g, labels, flagged) for g in groups]
            rows = [r for r in result.tables["rates"] if r["data"] == data]
            if rows:
                panels = [Panel(f"{rate}_gap", f"{RATE_NAMES[rate]} gap (group - overall)",
                                f"{rate}_gap_low", f"{rate}_gap_high") for rate in RATES]
                title = (f"FPR and FNR gaps at threshold {threshold:g} on {data} "
                         f"({self.settings.confidence:.0%} intervals)")
                result.figures[title] = group_chart(rows, panels, models, title, bars=False)
        result.summary = self._summary(result.tables["rates"], models[0])
        return result

    @staticmethod
    def _summary(rows: list[dict], model: str) -> dict[str, float | None]:
        def largest(values: Any) -> float:
            return max(values, key=abs)

        summary: dict[str, float | None] = {}
        for rate in RATES:
            summary[f"largest_{rate}_gap"] = worst(rows, f"{rate}_gap", largest, model=model)
            summary[f"significant_{rate}_gaps"] = sum(
                1 for r in rows if r["model"] == model and not r["too_small"] and r[f"{rate}_gap_significant"])
        return summary


@hookimpl
def register_audits(register):
    register(ErrorRateGapsAudit)
