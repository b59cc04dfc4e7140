"""Prompting a teacher instead of fine-tuning it: the prompted teacher and its calibration.

- **Calibration** (``PlattCalibration``): a logistic fit turning a teacher's raw margins into
  probabilities, on a labeled sample drawn from the training split only.
- **The prompted teacher** (``PromptedTeacher``): a ``Scorer`` built from an exemplar pool and a
  strategy; subclasses supply ``raw_scores(texts, prompts)``. It saves everything needed to score the
  same way after ``moderation.artifacts.load_model``.
- ``build_prompted_teacher`` / ``save_prompted_teacher``: the Python API behind ``moderation prompt save``.

Exemplar choice and templates are in ``moderation.exemplars``, sentence embeddings in ``moderation.embeddings``.
"""

from __future__ import annotations

import json
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moderation import embeddings, exemplars
from moderation.data import fingerprint, require_trainable
from moderation.exemplars import (
    PURPOSE,
    PromptError,
    labeled_pool,
)
from moderation.plugins import get_registry
from moderation.protocols import Prompt, Record, optional


def __getattr__(name: str) -> Any:
    """Exemplars and embeddings lived here before their own modules: imports from here still work."""
    for module in (exemplars, embeddings):
        if name in module.__all__:
            warnings.warn(f"moderation.prompting.{name} moved to {module.__name__}.{name}", DeprecationWarning,
                          stacklevel=2)
            return getattr(module, name)
    raise AttributeError(f"module 'moderation.prompting' has no attribute {name!r}")


# --- calibration -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlattCalibration:
    """``p = sigmoid(coef * raw + intercept)``; the identity on log-odds is ``coef=1, intercept=0``."""

    coef: float = 1.0
    intercept: float = 0.0

    @classmethod
    def fit(cls, raw: np.ndarray, labels: Sequence[int]) -> PlattCalibration:
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(labels)
        if len(set(labels.tolist())) < 2:
            raise PromptError("the calibration sample holds one class only; use a larger --calibration-size")
        model = LogisticRegression(C=1e4, max_iter=1000).fit(np.asarray(raw, dtype=float).reshape(-1, 1), labels)
        return cls(coef=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))

    def apply(self, raw: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        return expit(self.coef * np.asarray(raw, dtype=float) + self.intercept)


def calibration_split(rows: list[Record], size: int, seed: int) -> tuple[list[Record], list[Record]]:
    """(calibration sample, exemplar pool): a seeded, label-stratified sample kept out of the pool, so the
    teacher is never calibrated on its own exemplars."""
    if size == 0:
        return [], rows
    if size < 10 or size > len(rows) // 2:
        raise PromptError(f"--calibration-size {size}: use 0 (no calibration) or between 10 and half the "
                          f"labeled training rows ({len(rows) // 2})")
    rng = np.random.default_rng(seed + 1)  # not the strategy's stream: exemplars and sample stay independent
    labels = np.array([r.label for r in rows])
    picked: list[int] = []
    for label in (0, 1):
        idx = np.flatnonzero(labels == label)
        share = max(1, round(size * len(idx) / len(rows)))
        picked += rng.choice(idx, size=min(share, len(idx) - 1), replace=False).tolist()
    chosen = set(picked)
    return [rows[i] for i in sorted(chosen)], [r for i, r in enumerate(rows) if i not in chosen]


# --- the prompted teacher ---------------------------------------------------------------------------------

STATE_FILE = "prompted.json"
POOL_FILE = "pool.jsonl"


class PromptedTeacher(ABC):
    """Base of the promptable teachers: a strategy, an exemplar pool and a calibration, saved together.

    Subclasses set ``name`` and ``teacher_params`` (their own JSON-able settings, passed back to
    ``__init__`` on load) and define ``raw_scores(texts, prompts)``: one log-odds-like margin per text.
    """

    name = ""

    def __init__(self, strategy: str = "zero-shot", strategy_params: dict[str, Any] | None = None,
                 calibration_size: int = 300, seed: int = 0) -> None:
        strategy_params = dict(strategy_params or {})
        strategy_params.setdefault("seed", seed)
        self.strategy = get_registry().create("prompt_strategy", strategy, **strategy_params)
        self.strategy_params = optional(self.strategy, "prompt_strategy", "params") or strategy_params
        self.calibration_size, self.seed = calibration_size, seed
        self.pool: Sequence[Record] = ()
        self.calibration: PlattCalibration | None = None
        self.fit_info: dict[str, Any] = {}

    @property
    def teacher_params(self) -> dict[str, Any]:
        return {}

    @property
    def params(self) -> dict[str, Any]:
        """Everything that shapes the scores, for the manifest."""
        return {**self.teacher_params, "strategy": self.strategy.name, "strategy_params": self.strategy_params,
                "calibration_size": self.calibration_size, "seed": self.seed}

    @abstractmethod
    def raw_scores(self, texts: Sequence[str], prompts: Sequence[Prompt]) -> np.ndarray:
        """Uncalibrated scores (higher = more toxic) for texts and their prompts."""

    def fit(self, train: Sequence[Record], validation: Sequence[Record] | None = None, *,
            checkpoint_dir: Path | None = None) -> PromptedTeacher:
        """Take the labeled training rows as exemplar pool and calibration sample (``validation`` is not used:
        it stays clean for measuring; nothing runs long enough to need ``checkpoint_dir``)."""
        require_trainable(train, PURPOSE)
        rows = labeled_pool(train)
        sample, pool = calibration_split(rows, self.calibration_size, self.seed)
        self.pool = labeled_pool(pool)  # both classes must remain for the exemplars
        self.calibration = PlattCalibration()
        if sample:
            texts = [r.text for r in sample]
            raw = self.raw_scores(texts, self.prompts(texts))
            self.calibration = PlattCalibration.fit(raw, [r.label for r in sample])
        self.fit_info = {"pool_rows": len(self.pool), "calibration_rows": len(sample),
                         "pool_fingerprint": fingerprint(self.pool),
                         "calibration_fingerprint": fingerprint(sample) if sample else None}
        return self

    def prompts(self, texts: Sequence[str]) -> list[Prompt]:
        """One prompt per text; strategies with ``build_many`` (all built-ins) choose exemplars in one batch."""
        build_many = optional(self.strategy, "prompt_strategy", "build_many")
        if build_many is not None:
            return build_many(list(texts), self.pool)
        return [self.strategy.build(text, self.pool) for text in texts]

    def score(self, texts: Sequence[str]) -> np.ndarray:
        if self.calibration is None:
            raise PromptError(f"{self.name} has no exemplar pool yet: call fit(train_records) "
                              "or build one with `moderation prompt save`")
        texts = list(texts)
        if not texts:
            return np.zeros(0)
        return self.calibration.apply(self.raw_scores(texts, self.prompts(texts)))

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        state = {"teacher": self.name, "teacher_params": self.teacher_params, "strategy": self.strategy.name,
                 "strategy_params": self.strategy_params, "calibration_size": self.calibration_size,
                 "seed": self.seed, "calibration": vars(self.calibration) if self.calibration else None,
                 "fit": self.fit_info}
        (directory / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        with (directory / POOL_FILE).open("w", encoding="utf-8") as fh:
            for r in self.pool:
                fh.write(json.dumps({"id": r.id, "text": r.text, "label": r.label, "toxicity": r.toxicity},
                                    ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, directory: Path) -> PromptedTeacher:
        directory = Path(directory)
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        if state["teacher"] != cls.name:
            raise ValueError(f"{directory} holds a {state['teacher']!r} teacher, not {cls.name!r}")
        teacher = cls(strategy=state["strategy"], strategy_params=state["strategy_params"],
                      calibration_size=state["calibration_size"], seed=state["seed"], **state["teacher_params"])
        with (directory / POOL_FILE).open(encoding="utf-8") as fh:
            teacher.pool = labeled_pool([Record(id=d["id"], text=d["text"], toxicity=d["toxicity"],
                                                label=d["label"], split="train") for d in map(json.loads, fh)])
        teacher.calibration = PlattCalibration(**state["calibration"]) if state["calibration"] else None
        teacher.fit_info = state["fit"]
        if teacher.fit_info.get("pool_fingerprint") not in (None, fingerprint(teacher.pool)):
            raise ValueError(f"{directory / POOL_FILE} does not match the fingerprint recorded when it was saved")
        return teacher


# --- Python API: build, measure, save ---------------------------------------------------------------------


def build_prompted_teacher(teacher: str, strategy: str, train: Sequence[Record], *,
                           strategy_params: dict[str, Any] | None = None, **teacher_params: Any) -> PromptedTeacher:
    """A fitted prompted teacher: ``teacher`` plugin, ``strategy`` plugin, exemplars from ``train``."""
    model = get_registry().create("teacher", teacher, strategy=strategy, strategy_params=strategy_params,
                                  **teacher_params)
    if not isinstance(model, PromptedTeacher):
        raise PromptError(f"teacher {teacher!r} is not promptable; promptable teachers: {', '.join(promptable())}")
    return model.fit(train)


def promptable() -> list[str]:
    """Names of the installed teachers that take a prompt strategy."""
    registry = get_registry()
    return [n for n in registry.names("teacher")
            if isinstance(registry.get("teacher", n).factory, type)
            and issubclass(registry.get("teacher", n).factory, PromptedTeacher)]


def quality(scores: np.ndarray, records: Sequence[Record]) -> dict[str, float | None]:
    """The three numbers a strategy comparison shows (``moderation.evaluation.quality``): ROC-AUC, PR-AUC
    (None where one class is missing) and the Brier score."""
    from moderation.evaluation import quality as measured

    q = measured(np.asarray(scores, dtype=float), [r.label for r in records])
    return {"roc_auc": q.roc_auc, "pr_auc": q.pr_auc, "brier": q.brier}


def save_prompted_teacher(model: PromptedTeacher, out: str | Path, *, data: str,
                          evaluate_on: Sequence[Record] = (), lineage: dict[str, Any] | None = None):
    """Save a fitted prompted teacher with ``save_model(kind="teacher")``; ``evaluate_on`` (e.g. the
    validation split) adds its quality to the manifest and card."""
    from moderation.artifacts import save_model
    from moderation.scoring import score_texts

    metrics: dict[str, Any] = {**model.fit_info}
    metrics.pop("pool_fingerprint", None)
    metrics.pop("calibration_fingerprint", None)
    if evaluate_on:
        scores = score_texts(model, [r.text for r in evaluate_on])
        metrics.update({f"eval_{k}": v for k, v in quality(scores, evaluate_on).items()}, eval_rows=len(evaluate_on))
    notes = (f"A prompted teacher: no weights were trained. `{model.strategy.name}` prompts with exemplars from "
             f"{len(model.pool):,} labeled training rows of `{data}`; raw margins are Platt-calibrated on "
             f"{model.fit_info['calibration_rows']} other training rows. `eval_*` metrics are on the rows given "
             "to evaluate (the validation split by default), never on the exemplars or the calibration sample.")
    return save_model(model, out, kind="teacher", params=model.params,
                      data_fingerprint=model.fit_info["pool_fingerprint"], metrics=metrics,
                      lineage={"data": data, **(lineage or {})}, notes=notes)

