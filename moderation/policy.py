"""Turning a toxicity probability into a moderation decision, and choosing the thresholds from data."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from moderation.errors import InputError

DECISIONS = ("allow", "review", "block")
REVIEW_RECALL = 0.90    # a human sees at least nine in ten toxic comments
BLOCK_PRECISION = 0.99  # an automatic block is wrong at most once in a hundred: the rest is a human's call


@dataclass(frozen=True)
class Policy:
    """Scores at or above ``review`` go to a human; at or above ``block`` are blocked outright."""

    review: float = 0.5
    block: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.block <= 1.0:
            raise InputError(
                f"thresholds must satisfy 0 <= review ({self.review}) <= block ({self.block}) <= 1"
            )

    def decide(self, score: float) -> str:
        if score >= self.block:
            return "block"
        if score >= self.review:
            return "review"
        return "allow"


def recommended(manifest_policy: Mapping[str, Any] | None, review: float | None = None,
                block: float | None = None) -> Policy:
    """The policy to serve: thresholds given explicitly win, then the model's recommended ones (its
    manifest's ``policy``), then the defaults."""
    chosen = manifest_policy or {}
    return Policy(review=review if review is not None else float(chosen.get("review", Policy.review)),
                  block=block if block is not None else float(chosen.get("block", Policy.block)))


def choose(scores: Sequence[float], labels: Sequence[int], *, review_recall: float = REVIEW_RECALL,
           block_precision: float = BLOCK_PRECISION) -> dict[str, Any]:
    """Thresholds from labeled validation scores: review from the highest threshold that still sends
    ``review_recall`` of the toxic rows to a human; block from the lowest threshold at which the blocked
    rows are at least ``block_precision`` toxic (never below review). ``review_share`` is the share of the
    flagged rows a human decides (review, not block): what sizes a review queue."""
    from sklearn.metrics import precision_recall_curve

    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    if y.min() == y.max():
        raise InputError("choosing thresholds needs toxic and non-toxic validation rows")
    precision, recall, thresholds = precision_recall_curve(y, s)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    review = float(thresholds[recall >= review_recall].max())
    precise = thresholds[(precision >= block_precision) & (thresholds >= review)]
    block = float(precise.min()) if precise.size else 1.0
    flagged = s >= review
    review, block = math.floor(review * 1e4) / 1e4, min(1.0, math.ceil(block * 1e4) / 1e4)  # 4 decimals, safe side
    return {"review": review, "block": block,
            "rule": f"review: recall >= {review_recall:.2f}; block: precision >= {block_precision:.2f}",
            "validation_rows": int(y.size), "review_recall": float((flagged & (y == 1)).sum() / (y == 1).sum()),
            "block_precision": float(y[s >= block].mean()) if (s >= block).any() else None,
            "review_share": float((flagged & (s < block)).sum() / max(1, flagged.sum()))}
