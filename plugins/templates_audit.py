"""Per identity term on template sentences: which terms alone push toxicity scores up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from moderation import hookimpl
from moderation.fairness import AuditSettings, auc, labels_of, slice_scores, worst
from moderation.protocols import AuditResult, Record, Scorer


def _nontoxic(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.asarray(s)[np.asarray(y) == 0]


def _metrics(threshold: float) -> dict[str, Any]:
    from fairlearn.metrics import count  # heavy: imported when an audit runs, not when plugins are listed

    def mean_nontoxic_score(y: np.ndarray, s: np.ndarray) -> float:
        benign = _nontoxic(y, s)
        return float(benign.mean()) if benign.size else np.nan

    def flagged_nontoxic(y: np.ndarray, s: np.ndarray) -> float:
        benign = _nontoxic(y, s)
        return float((benign >= threshold).mean()) if benign.size else np.nan

    def term_auc(y: np.ndarray, s: np.ndarray) -> float:
        value = auc(np.asarray(y), np.asarray(s)).value
        return np.nan if value is None else value

    def non_toxic(y: np.ndarray, s: np.ndarray) -> int:
        return int((np.asarray(y) == 0).sum())

    return {"rows": count, "non_toxic": non_toxic, "mean_nontoxic_score": mean_nontoxic_score,
            "flagged_nontoxic": flagged_nontoxic, "term_auc": term_auc}


def _value(x: Any) -> float | int | None:
    if isinstance(x, float | np.floating) and np.isnan(x):
        return None
    return x.item() if isinstance(x, np.generic) else x


class TemplatesAudit:
    """On template sets (bias madlibs, sentence templates), per identity term: the mean score of the
    non-toxic sentences built with it, its excess over all non-toxic template sentences, the share of
    them flagged at the threshold, and the AUC within the term.

    Template sentences differ only in their identity term ("I am a gay person" / "I am a tall person"),
    so a term whose non-toxic sentences score above the rest is a term that alone pushes scores up
    (Dixon et al. 2018, "Measuring and Mitigating Unintended Bias in Text Classification"). A low AUC
    within a term means the term drowns out what the sentence says. Terms are the generator's own
    identity words (Record.terms); sentences built with no identity term, or several, are left out.
    """

    name = "templates"
    template_slices_only = True
    gates = ("min_term_auc",)

    def __init__(self, min_slice: int = AuditSettings.min_slice, threshold: float = AuditSettings.threshold) -> None:
        self.settings = AuditSettings(min_slice=min_slice, threshold=threshold)

    def _rows(self, data: str, model: str, labels: np.ndarray, scores: np.ndarray,
              terms: np.ndarray) -> tuple[list[dict], float | None]:
        from fairlearn.metrics import MetricFrame

        frame = MetricFrame(metrics=_metrics(self.settings.threshold), y_true=labels, y_pred=scores,
                            sensitive_features=terms)
        pooled = _value(frame.overall["mean_nontoxic_score"])
        rows = []
        for term, values in frame.by_group.iterrows():
            row = {"data": data, "model": model, "term": term,
                   **{k: _value(v) for k, v in values.items()}}
            row["rows"], row["non_toxic"] = int(row["rows"]), int(row["non_toxic"])
            row["excess_nontoxic_score"] = (None if row["mean_nontoxic_score"] is None or pooled is None
                                            else row["mean_nontoxic_score"] - pooled)
            row["too_small"] = row["rows"] < self.settings.min_slice
            row["note"] = (f"term AUC undefined: one class only ({row['rows'] - row['non_toxic']} toxic, "
                           f"{row['non_toxic']} non-toxic)" if row["term_auc"] is None else None)
            rows.append(row)
        return rows, pooled

    def run(self, scorers: Mapping[str, Scorer], slices: Mapping[str, Sequence[Record]]) -> AuditResult:
        from moderation.report import Panel, group_chart

        result = AuditResult(tables={"terms": [], "pooled": []})
        models = list(scorers)
        for data, records in slices.items():
            single = [i for i, r in enumerate(records) if len(r.terms) == 1]
            if len(single) < len(records):
                result.notes.append(f"{data}: {len(records) - len(single)} of {len(records)} sentences carry no "
                                    "single identity term (built from other templates) and are left out")
            if not single:
                continue
            chosen = [records[i] for i in single]
            labels = labels_of(chosen, data)
            terms = np.array([r.terms[0] for r in chosen])
            pooled: dict[str, float | None] = {}
            for model, scorer in scorers.items():
                rows, pooled[model] = self._rows(data, model, labels, slice_scores(scorer, chosen), terms)
                result.tables["terms"] += sorted(rows, key=lambda r: -(r["excess_nontoxic_score"] or 0.0))
                result.tables["pooled"].append({"data": data, "model": model, "sentences": len(chosen),
                                                "terms": len(rows), "mean_nontoxic_score": pooled[model]})
            order = [r["term"] for r in result.tables["terms"] if r["data"] == data and r["model"] == models[0]]
            rows = sorted((r for r in result.tables["terms"] if r["data"] == data),
                          key=lambda r: order.index(r["term"]))
            panels = [Panel("mean_nontoxic_score", "mean score of non-toxic sentences", reference=pooled,
                            xlim=(0, 1)),
                      Panel("term_auc", "AUC within the term", xlim=(0, 1))]
            title = f"Identity terms on {data}, most score-raising first (dashed: all non-toxic sentences)"
            result.figures[title] = group_chart(rows, panels, models, title, label="term")
        first = [r for r in result.tables["terms"] if r["model"] == models[0]]
        result.summary = {"max_term_excess_score": worst(first, "excess_nontoxic_score", max),
                          "min_term_auc": worst(first, "term_auc"),
                          "max_term_flagged_nontoxic": worst(first, "flagged_nontoxic", max)}
        return result


@hookimpl
def register_audits(register):
    register(TemplatesAudit)
