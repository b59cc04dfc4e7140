"""Training a student on soft targets and saving it with its metrics and lineage."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from moderation.artifacts import Manifest, save_model
from moderation.data import DataError, fingerprint, require_trainable
from moderation.encoders import use_all_cores
from moderation.evaluation import measure
from moderation.plugins import get_registry
from moderation.protocols import Record

# The names plugins and scripts may rely on; anything else here may change without notice.
__all__ = ["train_student"]


def train_student(
    student: str,
    train: Sequence[Record],
    test: Sequence[Record],
    out: Path,
    *,
    params: dict[str, Any] | None = None,
    targets: Sequence[float] | None = None,
    weights: Sequence[float] | None = None,
    lineage: dict[str, Any] | None = None,
) -> Manifest:
    """Fit student plugin ``student`` on ``train`` (gold soft labels unless ``targets`` are given,
    e.g. a teacher's scores), each row weighted by ``weights`` (all 1 when None), measure it on ``test`` and
    save it to ``out``."""
    params = params or {}
    require_trainable(train, "train")
    if targets is None and any(r.label < 0 for r in train):
        raise DataError("some training rows are unlabeled (their labels are hidden); "
                        "label them with a teacher and train on its scores")
    with tqdm(total=3, desc=f"training {student}", unit=" step", disable=None) as bar:
        model = get_registry().create("student", student, **params)
        if "torch" in sys.modules:
            # A torch student trains on $MODERATION_THREADS threads, as the teachers do. Left to torch's
            # default (one per core) when the teacher's labels came from a cache and no model loaded before,
            # two trainings side by side ran four threads on two cores, four times slower (2026-12-06).
            use_all_cores()
        soft = [r.toxicity for r in train] if targets is None else list(targets)
        model.fit([r.text for r in train], soft, None if weights is None else list(weights))
        bar.update()
        metrics = {**measure(model, test), "train_rows": len(train)}
        bar.update()
        manifest = save_model(model, out, kind="student", params=params, data_fingerprint=fingerprint(train),
                              metrics=metrics, lineage=lineage)
        bar.update()
    return manifest
