"""Behaviour pass rates: does the model flag attacks and leave benign, negated and counter-speech alone?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from moderation import hookimpl
from moderation.fairness import AuditSettings, clustered_wilson, slice_scores, worst
from moderation.protocols import AuditResult, Record, Scorer
from moderation_plugins.behaviour import category_of, template_passes


class BehaviourAudit:
    """Per behaviour category (rows of the ``behaviour`` data set's held-out templates), the share of
    rows a model gets right at the review threshold: a toxic row passes when flagged, a benign one when
    not. The categories separate what a moderator must tell apart: attacks on groups (derogation,
    dehumanisation, threats, exclusion, spelled to evade filters) from mentions, self-identification,
    negated attacks and counter-speech; insults from friendly comments; profanity from abuse. Intervals
    are 95 % Wilson intervals over the rows' effective number given how alike a template's rows fare
    (``clustered_wilson``): a category's rows come from a few held-out templates, one row per identity, and
    a template tends to pass or fail whole, so the rows are far from independent draws."""

    name = "behaviour"
    gates = ("min_behaviour_pass_rate", "behaviour_pass_rate")

    def __init__(self, min_slice: int = AuditSettings.min_slice, threshold: float = AuditSettings.threshold) -> None:
        self.settings = AuditSettings(min_slice=min_slice, threshold=threshold)

    @staticmethod
    def applies_to(records: Sequence[Record]) -> bool:
        return any(category_of(r) for r in records)

    def _rows(self, data: str, model: str, records: Sequence[Record], scores: np.ndarray) -> list[dict[str, Any]]:
        label = {category_of(r): r.label for r in records}  # one label per category (tests/test_behaviour.py)
        rows = []
        for category, templates in template_passes(records, scores, self.settings.threshold).items():
            passed, sizes = zip(*templates.values(), strict=True)
            k, n = sum(passed), sum(sizes)
            low, high = clustered_wilson(passed, sizes)
            rows.append({"data": data, "model": model, "category": category, "label": int(label[category]),
                         "templates": len(templates), "rows": n, "passed": k, "pass_rate": k / n,
                         "pass_low": low, "pass_high": high, "too_small": n < self.settings.min_slice})
        return rows

    def run(self, scorers: Mapping[str, Scorer], slices: Mapping[str, Sequence[Record]]) -> AuditResult:
        from moderation.report import Panel, group_chart

        result = AuditResult(tables={"categories": []})
        models = list(scorers)
        for data, records in slices.items():
            chosen = [r for r in records if category_of(r)]
            if not chosen:
                continue
            for model, scorer in scorers.items():
                result.tables["categories"] += self._rows(data, model, chosen, slice_scores(scorer, chosen))
            rows = [r for r in result.tables["categories"] if r["data"] == data]
            title = f"Behaviour pass rate per category on {data} (threshold {self.settings.threshold})"
            result.figures[title] = group_chart(
                rows, [Panel("pass_rate", "share of rows right", low="pass_low", high="pass_high", xlim=(0, 1))],
                models, title, label="category", bars=False)
        first = [r for r in result.tables["categories"] if r["model"] == models[0]]
        total = sum(r["rows"] for r in first)
        result.summary = {"min_behaviour_pass_rate": worst(first, "pass_rate"),
                          "behaviour_pass_rate": sum(r["passed"] for r in first) / total if total else None}
        return result


@hookimpl
def register_audits(register):
    register(BehaviourAudit)
