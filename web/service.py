"""What the pages and the API share: the serving model, the policy and the queue."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from moderation.artifacts import Manifest, load_model, read_manifest
from moderation.policy import Policy
from moderation.protocols import Scorer
from moderation.scoring import score_texts
from moderation_web.settings import Settings
from moderation_web.store import NewComment, Store


@dataclass(frozen=True)
class Verdict:
    text: str
    score: float
    decision: str
    queue_id: int | None  # set when the comment entered the review queue


@dataclass(frozen=True)
class Outcome:
    verdicts: list[Verdict]
    model: str
    latency_ms: float  # model time for the whole batch, as `moderation score` reports it


@dataclass(frozen=True)
class ServingModel:
    path: Path
    manifest: Manifest
    scorer: Scorer

    @classmethod
    def load(cls, path: Path) -> ServingModel:
        return cls(path, read_manifest(path), load_model(path))

    @property
    def model_id(self) -> str:
        return self.manifest.model_id


@dataclass(frozen=True)
class Services:
    """One per app: built by the factory, reached from views through ``services()``."""

    settings: Settings
    policy: Policy
    model: ServingModel
    store: Store

    def moderate(self, texts: Sequence[str], source: str, submitted_by: str, queue: bool = True) -> Outcome:
        """Score already-validated texts; with ``queue``, those at or above the review threshold enter the queue."""
        start = time.perf_counter()
        scores = [float(s) for s in score_texts(self.model.scorer, list(texts))]
        latency_ms = (time.perf_counter() - start) * 1000
        decisions = [self.policy.decide(s) for s in scores]
        flagged = [i for i, d in enumerate(decisions) if d != "allow"] if queue else []
        ids = self.store.enqueue([
            NewComment(texts[i], scores[i], decisions[i], self.model.model_id, source, submitted_by) for i in flagged
        ])
        queue_ids = dict(zip(flagged, ids, strict=True))
        verdicts = [Verdict(text, score, decision, queue_ids.get(i))
                    for i, (text, score, decision) in enumerate(zip(texts, scores, decisions, strict=True))]
        return Outcome(verdicts, self.model.model_id, round(latency_ms, 3))


def services() -> Services:
    return current_app.extensions["moderation"]
