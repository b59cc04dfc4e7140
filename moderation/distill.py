"""Distillation: a student trained on a teacher's soft scores over the train and unlabeled splits,
mixed with gold labels where they exist."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moderation.artifacts import Manifest, read_manifest
from moderation.augment import augment_lineage, augmented, origin, repeat_counts, require_sources, source_id
from moderation.burying import buried, bury_lineage
from moderation.data import HELD_OUT, HeldOutError, LoadedData
from moderation.labeling import label, read_labels
from moderation.perturbation import perturb_lineage, perturbed
from moderation.protocols import Record
from moderation.splits import split_key, text_hash
from moderation.student_training import train_student
from moderation.tables import InputError

TRANSFER_SPLITS = ("train", "unlabeled")
SWAP_TARGETS = ("teacher", "source")


@dataclass
class Transfer:
    """The rows a student learns from, with the targets it learns."""

    records: list[Record]
    targets: np.ndarray
    teacher: str
    teacher_fingerprint: str


def teacher_lineage(teachers: Sequence[Path]) -> dict[str, Any]:
    """What the teachers were trained on, so audits can drop those rows from a student's slices too."""
    data = [read_manifest(t).lineage.get("data", "") for t in teachers if t.suffix != ".parquet"]
    names = dict.fromkeys(n for pooled in data for n in pooled.split(",") if n)
    return {"teacher_data": ",".join(names)} if names else {}


def teacher_labels(teacher: Path, records: list[Record], labels_out: Path, **label_options: Any) -> pd.DataFrame:
    """The teacher's scores for ``records``: read from a labels file, or computed (cached) from a model."""
    if teacher.suffix == ".parquet":
        return read_labels(teacher)
    read_manifest(teacher)  # a clear error for a path that is neither a labels file nor a model
    label(teacher, records, labels_out, **label_options)
    return read_labels(labels_out)


def mean_labels(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Several teachers' labels as one: the mean score per text, over the texts every teacher scored, so
    that teachers whose mistakes differ (one trained longer on the behaviour templates, say) temper each other."""
    if len(frames) == 1:
        return frames[0]
    names = [str(f["model"].iloc[0]) for f in frames]
    if len(set(names)) < len(names):
        raise InputError(f"the same teacher is given twice ({', '.join(names)}); give each teacher once")
    merged = frames[0][["id", "text", "text_hash", "score"]]
    for i, frame in enumerate(frames[1:], start=1):
        merged = merged.merge(frame[["text_hash", "score"]].rename(columns={"score": f"score{i}"}), on="text_hash")
    columns = ["score", *(f"score{i}" for i in range(1, len(frames)))]
    fingerprint = hashlib.sha256(":".join(str(f["model_fingerprint"].iloc[0]) for f in frames).encode()).hexdigest()
    return merged.assign(score=merged[columns].mean(axis=1), model_fingerprint=fingerprint,
                         model=f"mean({','.join(names)})")[["id", "text", "text_hash", "score",
                                                           "model_fingerprint", "model"]]


def transfer_set(data: LoadedData, labels: pd.DataFrame, alpha: float,
                 rows: list[Record] | None = None, alpha_for: Mapping[str, float] | None = None,
                 swap_targets: str = "teacher") -> Transfer:
    """Join teacher scores to the train and unlabeled rows (or ``rows``, e.g. with augmented copies);
    target = alpha * teacher + (1 - alpha) * gold, with ``alpha_for`` overriding alpha per source data set:
    a set whose labels are right by construction (the behaviour templates) can lean on its gold labels.
    ``swap_targets="source"`` gives an identity-swapped copy its source row's target instead of one from
    the teacher's score of the copy: a teacher that scores "Chris is a wonderful homosexual" 0.99 and "Chris
    is a wonderful person" 0.01 would otherwise teach its bias on the very rows meant to remove it."""
    if swap_targets not in SWAP_TARGETS:
        raise InputError(f"swap targets {swap_targets!r} is not one of {', '.join(SWAP_TARGETS)}")
    shares = {"--alpha": alpha, **{f"--alpha-for {k}": v for k, v in (alpha_for or {}).items()}}
    bad = {k: v for k, v in shares.items() if not 0.0 <= v <= 1.0}
    if bad:
        raise InputError(f"the teacher's share of the target must be in [0, 1]: {bad}")
    scores = dict(zip(labels["text_hash"], labels["score"], strict=True))
    held = {text_hash(r.text) for r in data.records if r.split == HELD_OUT}
    if held & scores.keys():
        raise HeldOutError(f"the labels include {len(held & scores.keys())} held-out audit rows of {data.name}; "
                           "audit slices can never be distilled on")
    records = {text_hash(r.text): r for r in (transfer_records(data) if rows is None else rows)}
    foreign = len(scores.keys() - records.keys())
    if foreign > 0.05 * len(scores):
        raise InputError(f"{foreign:,} of {len(scores):,} teacher labels are for texts that are not in the train or "
                         f"unlabeled splits of {data.name}: the labels were made for another data set "
                         f"(teacher data fingerprint differs); label {data.name} with the teacher first")
    covered = [h for h in records if h in scores]
    if not covered:
        raise InputError(f"the teacher labels cover none of the train/unlabeled rows of {data.name}")
    require_sources("--alpha-for", alpha_for or {}, records.values())
    teacher = np.array([scores[h] for h in covered])
    gold = np.array([records[h].toxicity if records[h].label >= 0 else np.nan for h in covered])
    share = np.array([(alpha_for or {}).get(origin(records[h]), alpha) for h in covered])
    targets = np.where(np.isnan(gold), teacher, share * teacher + (1 - share) * np.nan_to_num(gold))
    kept = [records[h] for h in covered]
    if swap_targets == "source":
        targets = sources_targets(kept, targets)
    return Transfer(kept, targets, str(labels["model"].iloc[0]), str(labels["model_fingerprint"].iloc[0]))


def sources_targets(records: Sequence[Record], targets: np.ndarray) -> np.ndarray:
    """``targets`` with each swapped copy's replaced by its source row's, where the source is among ``records``."""
    position = {r.id: i for i, r in enumerate(records)}
    source = np.array([position.get(source_id(r) or "", i) for i, r in enumerate(records)])
    return targets[source]


def transfer_records(data: LoadedData, augment: int = 0, perturb: int = 0, bury: float = 0.0,
                     bury_unlabeled: float = 0.0, bury_for: Mapping[str, float] | None = None) -> list[Record]:
    """The train and unlabeled rows, with ``augment`` identity-swapped copies of each that mentions one,
    a buried copy of ``bury`` of the short toxic ones and of ``bury_unlabeled`` of the short unlabelled ones
    (``bury_for``'s share of both for the data sets it names; ``moderation.burying``), then ``perturb``
    unlabeled perturbed copies of each of those (``moderation.perturbation``)."""
    records = [r for split in TRANSFER_SPLITS for r in data.split(split, "distill")]
    avoid = {split_key(r.text) for r in data.records if r.split not in TRANSFER_SPLITS}  # no copy lands on these
    records = augmented(records, augment, avoid)
    require_sources("--bury-for", bury_for or {}, records)
    records += buried(records, bury, unlabeled=bury_unlabeled, share_for=bury_for, avoid=avoid)
    if perturb <= 0:
        return records
    return records + perturbed(records, perturb, avoid=avoid)


def oversampled(transfer: Transfer, repeats: Mapping[str, int]) -> Transfer:
    """The transfer set with the rows of each data set in ``repeats`` that many times (``repeat_counts``)."""
    times = repeat_counts(transfer.records, repeats)
    return Transfer([r for r, n in zip(transfer.records, times, strict=True) for _ in range(n)],
                    np.repeat(transfer.targets, times), transfer.teacher, transfer.teacher_fingerprint)


def row_weights(records: Sequence[Record], weight_for: Mapping[str, float]) -> list[float] | None:
    """Each row's weight in the student's loss: ``weight_for``'s for the rows of the data sets it names, 1 for
    the rest (None when it names none). Unlike ``--oversample`` a weight may be under 1: a large templated set
    can teach its one skill without outweighing the real comments."""
    if not weight_for:
        return None
    require_sources("--weight-for", weight_for, records)
    bad = {k: v for k, v in weight_for.items() if not 0.0 < v < float("inf")}
    if bad:
        raise InputError(f"--weight-for weights must be positive numbers: {bad}")
    return [weight_for.get(origin(r), 1.0) for r in records]


def routed_labels(main: pd.DataFrame, routed: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The main teachers' labels, except for the rows of each data set in ``routed``, which its own teacher
    scores: a teacher that knows one data set best (by validation) labels that data set's rows."""
    if not routed:
        return main
    taken = set().union(*(set(frame["text_hash"]) for frame in routed.values()))
    merged = pd.concat([main[~main["text_hash"].isin(taken)], *routed.values()], ignore_index=True)
    parts = [f"{name}:{frame['model'].iloc[0]}" for name, frame in routed.items()]
    prints = [str(main["model_fingerprint"].iloc[0]),
              *(f"{name}:{frame['model_fingerprint'].iloc[0]}" for name, frame in routed.items())]
    return merged.drop_duplicates("text_hash", keep="last").assign(
        model=f"{main['model'].iloc[0]} ({', '.join(parts)})",
        model_fingerprint=hashlib.sha256(";".join(prints).encode()).hexdigest())


def distill(teachers: Path | Sequence[Path], student: str, data: LoadedData, out: Path, *, alpha: float = 0.5,
            params: dict[str, Any] | None = None, lineage: dict[str, Any] | None = None, augment: int = 0,
            oversample: Mapping[str, int] | None = None, alpha_for: Mapping[str, float] | None = None,
            teacher_for: Mapping[str, Path] | None = None, perturb: int = 0, swap_targets: str = "teacher",
            bury: float = 0.0, bury_unlabeled: float = 0.0, bury_for: Mapping[str, float] | None = None,
            weight_for: Mapping[str, float] | None = None, **label_options: Any) -> Manifest:
    """Label the transfer set with the teacher (cached), train the student on it, evaluate on test, save.
    Several ``teachers``: the student learns the mean of their scores.
    ``augment`` adds identity-swapped copies to the transfer set; the teacher scores them like any row, and
    with ``swap_targets="source"`` each learns its source row's target instead (``transfer_set``).
    ``perturb`` adds that many perturbed, unlabeled copies of each row, which only the teacher labels;
    ``bury`` a copy of that share of the short toxic rows set inside a friendly one, label kept, and
    ``bury_unlabeled`` of the short unlabelled rows, which the teacher scores; ``bury_for`` that share of
    both for the rows of the data sets it names (``{"framed-claims": 1.0}``).
    ``oversample`` repeats the rows of named data sets (``{"behaviour": 4}``); ``alpha_for`` sets the
    teacher's share per data set (``{"behaviour": 0.2}``); ``teacher_for`` names another teacher for a data
    set's rows (``{"behaviour": Path("runs/b/teacher")}``); ``weight_for`` the weight of a data set's rows
    in the student's loss (``{"framed-claims": 0.5}``; the rest weigh 1)."""
    teachers = [Path(teachers)] if isinstance(teachers, str | Path) else [Path(t) for t in teachers]
    routes = {name: Path(path) for name, path in (teacher_for or {}).items()}
    records = transfer_records(data, augment, perturb, bury, bury_unlabeled, bury_for)
    require_sources("--teacher-for", routes, records)
    own = [r for r in records if origin(r) not in routes]
    labels = mean_labels([teacher_labels(t, own, out.with_name(f".{out.name}.labels{i or ''}.parquet"),
                                         **label_options) for i, t in enumerate(teachers)])
    labels = routed_labels(labels, {
        name: teacher_labels(path, [r for r in records if origin(r) == name],
                             out.with_name(f".{out.name}.labels-{name}.parquet"), **label_options)
        for name, path in routes.items()})
    transfer = oversampled(transfer_set(data, labels, alpha, records, alpha_for, swap_targets), oversample or {})
    return train_student(student, transfer.records, data.split("test"), out, params=params,
                         targets=transfer.targets.tolist(), weights=row_weights(transfer.records, weight_for or {}),
                         lineage={**data.provenance(), **teacher_lineage([*teachers, *routes.values()]),
                                  "teacher": transfer.teacher,
                                  "teacher_fingerprint": transfer.teacher_fingerprint, "alpha": alpha,
                                  "alpha_for": dict(alpha_for or {}),
                                  "teacher_for": {name: str(path) for name, path in routes.items()},
                                  "transfer_rows": len(transfer.records),
                                  "augment": augment_lineage(augment), "swap_targets": swap_targets,
                                  "perturb": perturb_lineage(perturb),
                                  "bury": bury_lineage(bury, bury_unlabeled, bury_for),
                                  "oversample": dict(oversample or {}), "weight_for": dict(weight_for or {}),
                                  **(lineage or {})})
