"""The Jigsaw Unintended Bias AUC metrics per identity, and the final bias metric."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from moderation import hookimpl
from moderation.fairness import (
    AUC_METRICS,
    FINAL_BIAS,
    AuditSettings,
    FinalBias,
    Measured,
    auc,
    bias_aucs,
    final_bias_metric,
    identity_groups,
    labels_of,
    slice_scores,
    small_note,
    worst,
)
from moderation.protocols import AuditResult, Record, Scorer

WORST_SHOWN = 3


def _identity_row(data: str, model: str, group: Any, labels: np.ndarray, aucs: dict[str, Measured]) -> dict:
    toxic = int(labels[group.member].sum())
    notes = [f"{m}: {aucs[m].reason}" for m in AUC_METRICS if aucs[m].reason]
    row = {"data": data, "model": model, "identity": group.name, "rows": group.n, "toxic": toxic,
           "non_toxic": group.n - toxic, "too_small": all(aucs[m].too_small or aucs[m].value is None
                                                           for m in AUC_METRICS)}
    for m in AUC_METRICS:
        row |= {m: aucs[m].value, f"{m}_low": aucs[m].low, f"{m}_high": aucs[m].high,
                f"{m}_too_small": aucs[m].too_small}
    return row | {"note": "; ".join(notes) or None}


def _final_row(data: str, model: str, final: FinalBias) -> dict:
    return {"data": data, "model": model, "overall_auc": final.overall_auc,
            **{f"{m}_power_mean": final.means[m] for m in AUC_METRICS},
            **{f"{m}_identities": len(final.used[m]) for m in AUC_METRICS},
            FINAL_BIAS: final.value, "note": final.reason}


def _excluded_rows(data: str, model: str, final: FinalBias) -> list[dict]:
    reasons: dict[str, list[str]] = {}
    for metric in AUC_METRICS:
        for identity, reason in final.excluded[metric]:
            reasons.setdefault(identity, []).append(f"{metric}: {reason}")
    rows = []
    for identity, why in sorted(reasons.items()):
        causes = {w.split(": ", 1)[1] for w in why}
        text = f"all three: {causes.pop()}" if len(why) == len(AUC_METRICS) and len(causes) == 1 else "; ".join(why)
        rows.append({"data": data, "model": model, "identity": identity, "excluded_from": text})
    return rows


def _worst_identities(rows: Sequence[dict], data: str, model: str) -> list[dict]:
    """The identities with the lowest defined bias AUC (any of the three), worst first."""
    found = []
    for row in rows:
        if row["data"] != data or row["model"] != model:
            continue
        defined = [(row[m], m) for m in AUC_METRICS if row[m] is not None and not row[f"{m}_too_small"]]
        if defined:
            value, metric = min(defined)
            found.append({"data": data, "identity": row["identity"], "metric": metric, "value": value,
                          "rows": row["rows"]})
    return sorted(found, key=lambda r: r["value"])[:WORST_SHOWN]


class SubgroupAucAudit:
    """Per identity: Subgroup AUC, BPSN AUC and BNSP AUC; the overall AUC; the Jigsaw final bias metric.

    Subgroup AUC ranks toxic against non-toxic rows that mention the identity: low means the model cannot
    tell abuse of the group from benign mentions of it. BPSN (background positive, subgroup negative) AUC
    ranks benign mentions of the identity against toxic rows elsewhere: low means benign mentions score as
    high as real toxicity (false flagging of the group). BNSP (background negative, subgroup positive)
    AUC: low means toxic rows about the identity score as low as benign rows elsewhere (missed abuse).

    Final bias metric (Jigsaw Unintended Bias in Toxicity Classification, Borkan et al. 2019):
    0.25 x overall AUC + 0.25 x the power mean (p = -5) over identities of each of the three; 1.0 is
    perfect and the power mean is dominated by the worst identities. Each AUC carries its DeLong interval.
    An AUC that is undefined (one class only), or that rests on fewer than --min-slice rows on either side
    of its comparison, is shown (flagged) but left out of that mean, the worst identities and the summary,
    and listed under 'excluded' with the reason.
    """

    name = "subgroup-auc"
    gates = (FINAL_BIAS, "overall_auc", "min_subgroup_auc", "min_bpsn_auc", "min_bnsp_auc")

    def __init__(self, min_slice: int = AuditSettings.min_slice, threshold: float = AuditSettings.threshold,
                 confidence: float = AuditSettings.confidence) -> None:
        self.settings = AuditSettings(min_slice=min_slice, threshold=threshold, confidence=confidence)

    def run(self, scorers: Mapping[str, Scorer], slices: Mapping[str, Sequence[Record]]) -> AuditResult:
        from moderation.report import Panel, group_chart, score_distributions

        result = AuditResult(tables={"identities": [], "final": [], "excluded": [], "worst_identities": []})
        tables = result.tables
        models = list(scorers)
        for data, records in slices.items():
            labels = labels_of(records, data)
            groups = identity_groups(records, self.settings.min_slice)
            result.notes += filter(None, [small_note(groups, self.settings.min_slice, data)])
            overall: dict[str, float | None] = {}
            dists = {}
            for model, scorer in scorers.items():
                scores = slice_scores(scorer, records)
                per_group = {g.name: bias_aucs(labels, scores, g.member, self.settings.min_slice,
                                               self.settings.confidence) for g in groups}
                tables["identities"] += [_identity_row(data, model, g, labels, per_group[g.name]) for g in groups]
                final = final_bias_metric(auc(labels, scores), per_group)
                overall[model] = final.overall_auc
                tables["final"].append(_final_row(data, model, final))
                tables["excluded"] += _excluded_rows(data, model, final)
                if final.reason:
                    result.notes.append(f"{data}, {model}: final bias metric {final.reason}")
                dists[model] = [(g.name, scores[g.member & (labels == 0)], scores[g.member & (labels == 1)])
                                for g in groups if not g.too_small]
            rows = [r for r in tables["identities"] if r["data"] == data]
            panels = [Panel(m, m.replace("_", " ").replace("auc", "AUC"), f"{m}_low", f"{m}_high", reference=overall,
                            xlim=(0, 1), small=f"{m}_too_small") for m in AUC_METRICS]
            if rows:
                result.figures[f"Bias AUCs by identity on {data} (dashed: overall AUC)"] = group_chart(
                    rows, panels, models, f"Subgroup, BPSN and BNSP AUC by identity: {data}")
            if any(dists.values()):
                result.figures[f"Score distributions by identity on {data}"] = score_distributions(
                    dists, f"Scores by identity: {data}", self.settings.threshold)
            tables["worst_identities"] += _worst_identities(tables["identities"], data, models[0])
        if tables["excluded"]:
            result.notes.append("Identities left out of a power mean are listed in 'excluded', with the reason.")
        result.summary = self._summary(tables, models)
        return result

    @staticmethod
    def _summary(tables: dict[str, list[dict]], models: list[str]) -> dict[str, float | None]:
        finals = {m: [r[FINAL_BIAS] for r in tables["final"] if r["model"] == m] for m in models}

        def worst_final(values: list[float | None]) -> float | None:
            # Fail closed: a data set where the metric is undefined leaves the headline undefined.
            return None if not values or None in values else min(values)

        summary = {FINAL_BIAS: worst_final(finals[models[0]]),
                   "overall_auc": worst(tables["final"], "overall_auc", model=models[0])}
        for metric in AUC_METRICS:
            counted = [r for r in tables["identities"] if not r[f"{metric}_too_small"]]
            summary[f"min_{metric}"] = worst(counted, metric, model=models[0])
        if len(models) > 1:
            summary[f"reference_{FINAL_BIAS}"] = worst_final(finals[models[1]])
        return summary


@hookimpl
def register_audits(register):
    register(SubgroupAucAudit)
