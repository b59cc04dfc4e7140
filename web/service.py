"""What the pages and the API share: the serving model, the policy and the queue."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from moderation.artifacts import Manifest, load_model, read_manifest
from moderation.encoders import use_one_core_per_request
from moderation.plugins import get_registry
from moderation.policy import Policy
from moderation.protocols import Scorer, optional
from moderation.scoring import score_texts
from moderation_web.settings import Settings
from moderation_web.store import NewComment, Promotion, Store

log = logging.getLogger(__name__)


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
    policy: Policy  # the thresholds that decided, from the same model
    latency_ms: float  # model time for the whole batch, as `moderation score` reports it


@dataclass(frozen=True)
class ServingModel:
    path: Path
    manifest: Manifest
    scorer: Scorer

    @classmethod
    def load(cls, path: Path) -> ServingModel:
        serving = cls(path, read_manifest(path), load_model(path))
        use_one_core_per_request()
        return serving

    @property
    def model_id(self) -> str:
        return self.manifest.model_id


@dataclass(frozen=True)
class Serving:
    """The model that decides and the thresholds it decides with, switched together."""

    model: ServingModel
    policy: Policy
    promotion: Promotion | None  # None: the configured model, never promoted over


def warm_model_loaders() -> None:
    """Call each installed scorer plugin's ``warm_up`` as a worker boots: otherwise the first promotion of a
    model whose loader imports slow libraries stalls one request in every worker (scikit-learn's: 4 s each on
    2 cores, over 10 s with other work beside them). A warm-up that fails is logged and skipped: the model
    then loads, slowly, when promoted."""
    registry = get_registry()
    for kind in ("student", "teacher"):
        for name in registry.names(kind):
            warm_up = optional(registry.get(kind, name).factory, "scorer", "warm_up")
            if warm_up is None:
                continue
            try:
                warm_up()
            except Exception:  # a plugin's failure must not stop the server
                log.exception("the %s plugin %r failed to warm up; its models load on first use", kind, name)


class ModelSlot:
    """The serving model of one worker. Promotions are rows in the database, so every worker (and a
    restarted one) serves the newest promotion; each checks for one at most every ``check_s`` seconds."""

    def __init__(self, settings: Settings, store: Store, configured: ServingModel, check_s: float) -> None:
        self._settings, self._store, self._check_s = settings, store, check_s
        self._lock = threading.Lock()
        self._serving = Serving(configured, settings.policy(configured.manifest.policy), None)
        self._seen: int | None = None
        self._checked = -float("inf")

    def current(self) -> Serving:
        if time.monotonic() - self._checked >= self._check_s:
            with self._lock:
                self._refresh()
        return self._serving

    def adopt(self, promotion: Promotion, model: ServingModel) -> None:
        """Serve a promotion this worker has just recorded, with the model it loaded to check it (a newer
        promotion recorded meanwhile by another worker still wins at the next check)."""
        with self._lock:
            self._seen, self._checked = promotion.id, time.monotonic()
            self._serving = Serving(model, self._settings.policy(model.manifest.policy), promotion)

    def _refresh(self) -> None:
        self._checked = time.monotonic()
        latest = self._store.latest_promotion_id()
        if latest is None or latest == self._seen:
            return
        self._seen = latest
        promotion = self._store.promotions(limit=1)[0]
        try:
            model = ServingModel.load(Path(promotion.model_path))
        except Exception:  # noqa: BLE001 - a model that no longer loads must not take the site down
            log.exception("promotion #%s: %s does not load; still serving %s", promotion.id, promotion.model_path,
                          self._serving.model.model_id)
            return
        self._serving = Serving(model, self._settings.policy(model.manifest.policy), promotion)
        log.info("promotion #%s: now serving %s", promotion.id, model.model_id)


@dataclass(frozen=True)
class Services:
    """One per app: built by the factory, reached from views through ``services()``."""

    settings: Settings
    slot: ModelSlot
    store: Store

    @property
    def serving(self) -> Serving:
        return self.slot.current()

    @property
    def model(self) -> ServingModel:
        return self.serving.model

    @property
    def policy(self) -> Policy:
        return self.serving.policy

    def moderate(self, texts: Sequence[str], source: str, submitted_by: str, queue: bool = True) -> Outcome:
        """Score already-validated texts; with ``queue``, those at or above the review threshold enter the queue."""
        serving = self.serving  # one model and its policy for the whole request, whatever a promotion does
        start = time.perf_counter()
        scores = [float(s) for s in score_texts(serving.model.scorer, list(texts))]
        latency_ms = (time.perf_counter() - start) * 1000
        decisions = [serving.policy.decide(s) for s in scores]
        flagged = [i for i, d in enumerate(decisions) if d != "allow"] if queue else []
        ids = self.store.enqueue([
            NewComment(texts[i], scores[i], decisions[i], serving.model.model_id, source, submitted_by)
            for i in flagged
        ])
        queue_ids = dict(zip(flagged, ids, strict=True))
        verdicts = [Verdict(text, score, decision, queue_ids.get(i))
                    for i, (text, score, decision) in enumerate(zip(texts, scores, decisions, strict=True))]
        return Outcome(verdicts, serving.model.model_id, serving.policy, round(latency_ms, 3))


def services() -> Services:
    return current_app.extensions["moderation"]
