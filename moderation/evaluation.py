"""Measuring a scorer: quality against gold labels, calibration, agreement with a teacher, speed, size."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from moderation.protocols import Record, Scorer, optional
from moderation.scoring import score_texts


@dataclass
class Quality:
    rows: int
    positives: int
    roc_auc: float | None
    pr_auc: float | None
    f1: float
    precision: float
    recall: float
    threshold: float
    ece: float
    brier: float  # mean squared error of the probabilities: calibration and sharpness together


@dataclass
class Speed:
    latency_p50_ms: float
    latency_p99_ms: float
    throughput_per_s: float


def expected_calibration_error(scores: np.ndarray, targets: np.ndarray, bins: int = 10) -> float:
    """Mean |confidence - observed rate| over equal-width score bins, weighted by bin size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(scores[mask].mean() - targets[mask].mean())
    return float(error)


def quality(scores: np.ndarray, labels: Sequence[int], threshold: float = 0.5) -> Quality:
    """Ranking, decision and calibration metrics; AUCs are None where one class is missing."""
    y = np.asarray(labels, dtype=int)
    both = len(set(y.tolist())) == 2
    decided = (scores >= threshold).astype(int)
    return Quality(
        rows=len(y), positives=int(y.sum()),
        roc_auc=float(roc_auc_score(y, scores)) if both else None,
        pr_auc=float(average_precision_score(y, scores)) if both else None,
        f1=float(f1_score(y, decided, zero_division=0)),
        precision=float(precision_score(y, decided, zero_division=0)),
        recall=float(recall_score(y, decided, zero_division=0)),
        threshold=threshold,
        ece=expected_calibration_error(scores, y.astype(float)),
        brier=float(brier_score_loss(y, scores)) if len(y) else float("nan"),
    )


def agreement(scores: np.ndarray, teacher_scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """How closely a student follows its teacher: rank correlation and same-side-of-threshold rate."""
    return {"spearman_with_teacher": float(spearmanr(scores, teacher_scores).statistic),
            "decision_agreement": float(np.mean((scores >= threshold) == (teacher_scores >= threshold)))}


def speed(scorer: Scorer, texts: Sequence[str], singles: int = 200, batch_size: int = 256) -> Speed:
    """Single-comment latency (one call per comment) and batched throughput on the same texts."""
    score_texts(scorer, list(texts[:8]))  # warm-up: lazy initialisation is not latency
    timings = []
    for text in texts[:singles]:
        start = time.perf_counter()
        score_texts(scorer, [text])
        timings.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    score_texts(scorer, list(texts), batch_size=batch_size)
    elapsed = time.perf_counter() - start
    return Speed(latency_p50_ms=float(np.percentile(timings, 50)), latency_p99_ms=float(np.percentile(timings, 99)),
                 throughput_per_s=len(texts) / elapsed)


def size_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())


def base_bytes(scorer: Scorer) -> int:
    """Bytes of the base checkpoint a scorer loads besides its own files (an adapter's encoder, say)."""
    base = optional(scorer, "scorer", "base")
    return size_bytes(Path(base)) if base is not None and Path(base).is_dir() else 0


def as_metrics(*parts: object) -> dict[str, float | int | None]:
    """Flatten metric dataclasses and dicts into one manifest-ready dict."""
    merged: dict[str, float | int | None] = {}
    for part in parts:
        merged.update(asdict(part) if hasattr(part, "__dataclass_fields__") else dict(part))
    return merged


def measure(scorer: Scorer, records: Sequence[Record], prefix: str = "test_") -> dict[str, float | int | None]:
    """Quality of ``scorer`` on gold-labeled ``records``, as manifest metrics named ``<prefix><metric>``."""
    scores = score_texts(scorer, [r.text for r in records])
    return {f"{prefix}{k}": v for k, v in asdict(quality(scores, [r.label for r in records])).items()}
