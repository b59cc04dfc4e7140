"""Training a student on soft targets and saving it with its metrics and lineage."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from moderation.artifacts import Manifest, save_model
from moderation.data import DataError, fingerprint, require_trainable
from moderation.plugins import get_registry
from moderation.protocols import Record
from moderation.scoring import score_texts


def auc_or_none(scores: np.ndarray, records: Sequence[Record]) -> float | None:
    """ROC-AUC against gold labels, or None where one class is missing (AUC undefined)."""
    labels = [r.label for r in records]
    return float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else None


def train_student(
    student: str,
    train: Sequence[Record],
    test: Sequence[Record],
    out: Path,
    *,
    params: dict[str, Any] | None = None,
    targets: Sequence[float] | None = None,
    lineage: dict[str, Any] | None = None,
) -> Manifest:
    """Fit student plugin ``student`` on ``train`` (gold soft labels unless ``targets`` are given,
    e.g. a teacher's scores), measure it on ``test`` and save it to ``out``."""
    params = params or {}
    require_trainable(train, "train")
    if targets is None and any(r.label < 0 for r in train):
        raise DataError("some training rows are unlabeled (their labels are hidden); "
                        "label them with a teacher and train on its scores")
    with tqdm(total=3, desc=f"training {student}", unit=" step", disable=None) as bar:
        model = get_registry().create("student", student, **params)
        soft = [r.toxicity for r in train] if targets is None else list(targets)
        model.fit([r.text for r in train], soft)
        bar.update()
        scores = score_texts(model, [r.text for r in test])
        metrics = {"test_roc_auc": auc_or_none(scores, test), "train_rows": len(train), "test_rows": len(test)}
        bar.update()
        manifest = save_model(model, out, kind="student", params=params, data_fingerprint=fingerprint(train),
                              metrics=metrics, lineage=lineage)
        bar.update()
    return manifest
