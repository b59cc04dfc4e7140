"""Training a teacher on a data set's gold labels and saving it with its metrics."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from moderation.artifacts import Manifest, save_model
from moderation.augment import augment_lineage, augmented, repeat_counts, require_sources
from moderation.burying import buried, bury_lineage
from moderation.data import LoadedData, fingerprint, require_trainable
from moderation.evaluation import measure
from moderation.plugins import get_registry
from moderation.protocols import optional
from moderation.splits import split_key
from moderation.tables import InputError


def checkpoint_dir(out: Path) -> Path:
    """Checkpoints live beside the output, which is written whole only at the end."""
    return out.with_name(f".{out.name}.checkpoints")


def train_teacher(teacher: str, data: LoadedData, out: Path, params: dict[str, Any] | None = None,
                  lineage: dict[str, Any] | None = None, augment: int = 0,
                  oversample: Mapping[str, int] | None = None, bury: float = 0.0,
                  bury_for: Mapping[str, float] | None = None) -> Manifest:
    """Fit teacher plugin ``teacher`` on the train split (best checkpoint by validation), measure it on
    test, save it to ``out``. An interrupted run resumes from its checkpoint when run again.
    ``augment`` adds that many identity-swapped copies of each train row that mentions an identity;
    ``bury`` adds a copy of that share of the short toxic train rows set inside a friendly one
    (``moderation.burying``), ``bury_for`` that share of the data sets it names (``{"framed-claims": 1.0}``);
    ``oversample`` repeats the train rows of the data sets it names
    (``{"stormfront": 2}``), copies included."""
    params = params or {}
    train, validation, test = data.split("train", "train"), data.split("validation", "train"), data.split("test")
    require_trainable(train + validation, "train")
    avoid = {split_key(r.text) for r in data.records if r.split != "train"}  # no copy may land on these
    train = augmented(train, augment, avoid)
    require_sources("--bury-for", bury_for or {}, train, "the train split")
    train += buried(train, bury, share_for=bury_for, avoid=avoid)
    train = [r for r, n in zip(train, repeat_counts(train, oversample or {}), strict=True) for _ in range(n)]
    if not test:
        raise InputError(f"{data.name}: the test split is empty; nothing to measure the teacher on")
    model = get_registry().create("teacher", teacher, **params)  # bad settings fail here, before training
    if optional(model, "teacher", "fit") is None:
        raise InputError(f"teacher {teacher!r} is not trainable (it has no fit); it scores as it is")
    checkpoints = checkpoint_dir(Path(out))
    model.fit(train, validation, checkpoint_dir=checkpoints)
    metrics = {**measure(model, test), "train_rows": len(train), "validation_rows": len(validation),
               "best_validation_auc": optional(model, "teacher", "best_validation_auc")}
    manifest = save_model(model, out, kind="teacher", params=params, data_fingerprint=fingerprint(train),
                          metrics=metrics,
                          lineage={**data.provenance(), "augment": augment_lineage(augment),
                                   "bury": bury_lineage(bury, share_for=bury_for), "oversample": dict(oversample or {}),
                                   **(lineage or {})},
                          notes=f"Teacher fine-tuned on the train split of {data.name}; checkpoint chosen by "
                                "validation ROC-AUC; metrics on the test split.")
    shutil.rmtree(checkpoints, ignore_errors=True)
    return manifest
