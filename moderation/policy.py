"""Turning a toxicity probability into a moderation decision."""

from __future__ import annotations

from dataclasses import dataclass

DECISIONS = ("allow", "review", "block")


@dataclass(frozen=True)
class Policy:
    """Scores at or above ``review`` go to a human; at or above ``block`` are blocked outright."""

    review: float = 0.5
    block: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.block <= 1.0:
            raise ValueError(
                f"thresholds must satisfy 0 <= review ({self.review}) <= block ({self.block}) <= 1"
            )

    def decide(self, score: float) -> str:
        if score >= self.block:
            return "block"
        if score >= self.review:
            return "review"
        return "allow"
