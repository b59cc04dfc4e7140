"""False positive and false negative rate gaps per identity, with Wilson and Newcombe intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from moderation import hookimpl
from moderation.fairness import (
    RATES,
    AuditSettings,
    Group,
    error_rate,
    identity_groups,
    labels_of,
    newcombe,
    slice_scores,
    small_note,
    wilson,
)
from moderation.protocols import AuditResult, Record, Scorer

RATE_NAMES = {"fpr": "false positive rate", "fnr": "false negative rate"}


def _none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _errors(labels: np.ndarray, flagged: np.ndarray, rows: np.ndarray, rate: str) -> tuple[int, int]:
    """(errors, rows of the rate's class) among ``rows``: flagged non-toxic rows for FPR, missed toxic for FNR."""
    cls = 0 if rate == "fpr" else 1
    of_class = rows & (labels == cls)
    return int((flagged[of_class] != cls).sum()), int(of_class.sum())


class ErrorRateGapsAudit:
    """Per identity: false positive and false negative rates at the decision threshold, each with its gap
    to the rest of the slice (the rows that do not mention the identity).

    FPR gap > 0: benign comments that mention the identity are flagged more often than other benign
    comments (the group is over-moderated). FNR gap > 0: toxic comments about the identity are missed more
    often (the group is under-protected). Rates carry Wilson score intervals and gaps Newcombe's hybrid
    score interval for two independent proportions, both right for small counts (0 of 6 is [0, 0.39], not
    [0, 0]). A gap is significant when its interval excludes 0 and the group has at least --min-slice rows
    of the rate's class; intervals are per comparison, not corrected for the number of groups. A rate with
    fewer rows of its class is shown flagged (``fpr_too_small``) and left out of the summary.
    """

    name = "error-rate-gaps"
    gates: tuple[str, ...] = ()

    def __init__(self, min_slice: int = AuditSettings.min_slice, threshold: float = AuditSettings.threshold,
                 confidence: float = AuditSettings.confidence) -> None:
        self.settings = AuditSettings(min_slice=min_slice, threshold=threshold, confidence=confidence)

    def _group_row(self, data: str, model: str, group: Group, labels: np.ndarray, flagged: np.ndarray) -> dict:
        toxic = int(labels[group.member].sum())
        row: dict[str, Any] = {"data": data, "model": model, "identity": group.name, "rows": group.n,
                               "non_toxic": group.n - toxic, "toxic": toxic}
        notes = []
        conf = self.settings.confidence
        for rate in RATES:
            k, n = _errors(labels, flagged, group.member, rate)
            k_rest, n_rest = _errors(labels, flagged, ~group.member, rate)
            mine, rest = (k / n if n else None), (k_rest / n_rest if n_rest else None)
            gap = None if mine is None or rest is None else mine - rest
            low, high = newcombe(k, n, k_rest, n_rest, conf)
            small = min(n, n_rest) < self.settings.min_slice
            row[rate], row[f"rest_{rate}"], row[f"{rate}_gap"] = mine, rest, gap
            row[f"{rate}_low"], row[f"{rate}_high"] = wilson(k, n, conf)
            row[f"{rate}_gap_low"], row[f"{rate}_gap_high"] = low, high
            row[f"{rate}_too_small"] = small
            row[f"{rate}_gap_significant"] = not small and low is not None and (low > 0 or high < 0)
            cls = "non-toxic" if rate == "fpr" else "toxic"
            if gap is None:
                notes.append(f"{rate} undefined: no {cls} rows in the group or in the rest of the slice")
            elif small:
                notes.append(f"{rate}: {n} {cls} rows in the group, {n_rest} in the rest (fewer than "
                             f"{self.settings.min_slice}): shown, not counted")
        row["too_small"] = row["fpr_too_small"] and row["fnr_too_small"]
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
                panels = [Panel(f"{rate}_gap", f"{RATE_NAMES[rate]} gap (group - rest)",
                                f"{rate}_gap_low", f"{rate}_gap_high", small=f"{rate}_too_small") for rate in RATES]
                title = (f"FPR and FNR gaps at threshold {threshold:g} on {data} "
                         f"({self.settings.confidence:.0%} intervals)")
                result.figures[title] = group_chart(rows, panels, models, title, bars=False)
        result.summary = self._summary(result.tables["rates"], models[0])
        return result

    @staticmethod
    def _summary(rows: list[dict], model: str) -> dict[str, float | None]:
        summary: dict[str, float | None] = {}
        for rate in RATES:
            counted = [r for r in rows if r["model"] == model and not r[f"{rate}_too_small"]]
            gaps = [r[f"{rate}_gap"] for r in counted if r[f"{rate}_gap"] is not None]
            summary[f"largest_{rate}_gap"] = max(gaps, key=abs) if gaps else None
            summary[f"significant_{rate}_gaps"] = sum(1 for r in counted if r[f"{rate}_gap_significant"])
        return summary


@hookimpl
def register_audits(register):
    register(ErrorRateGapsAudit)
