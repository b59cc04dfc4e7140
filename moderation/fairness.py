"""The fairness metrics audit plugins share: bias AUCs with DeLong intervals, the final bias metric,
error rates with Wilson and Newcombe intervals, bootstrap helpers, and the settings every audit gets.

This is the public toolkit for writing an audit plugin (``__all__``); running audits into a report is
``moderation.audit``. Vocabulary:

- a **slice** is the held-out ``audit`` split of one data set (``moderation.data``): rows never trained,
  labeled or distilled on. Each data set given to ``moderation audit`` is its own slice;
- a **group** is the rows of a slice that mention one identity group (``Record.identities``), or, for
  template sets, that were built from one identity term (``Record.terms``). A row may be in several groups;
- the **background** of a group is every other row of its slice;
- a group with fewer rows than ``min_slice`` is **too small**: it is reported, flagged and left out of
  every aggregate (power means, worst identities, summary numbers), never silently dropped. Smallness is
  also judged per class: a bias AUC with fewer than ``min_slice`` rows on either side of its comparison,
  and an error rate with fewer than ``min_slice`` rows of its class, is shown flagged and never drives a
  headline or a "significant" flag;
- an AUC over rows of one class only is **undefined**: reported as ``None`` with the reason, never 0.5.

Scorers are passed to audits in order: the model under audit first, then a reference (typically the
teacher the audited student was distilled from). Summary numbers describe the model under audit.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from moderation.errors import InputError
from moderation.protocols import Record, Scorer
from moderation.scoring import score_texts

__all__ = [
    "AUC_METRICS", "FINAL_BIAS", "POWER", "RATES", "AuditError", "AuditSettings", "Delta", "FinalBias", "Group",
    "Measured", "auc", "auc_delta", "auc_interval", "auc_mask", "bias_aucs", "bootstrap_counts", "cell_counts",
    "clustered_wilson", "delong", "error_rate", "final_bias_metric", "identity_groups", "interval", "labels_of",
    "newcombe", "power_mean", "rates_from_counts", "rng_for", "slice_scores", "small_note", "wilson", "worst",
]

POWER = -5  # the Jigsaw Unintended Bias generalized mean: low AUCs dominate
AUC_METRICS = ("subgroup_auc", "bpsn_auc", "bnsp_auc")
FINAL_BIAS = "final_bias_metric"

# Which rows each bias AUC ranks against which: (positives, negatives), each as (in group, toxic).
AUC_SETS: dict[str, tuple[tuple[bool, bool], tuple[bool, bool]]] = {
    "subgroup_auc": ((True, True), (True, False)),
    "bpsn_auc": ((False, True), (True, False)),  # background positive, subgroup negative
    "bnsp_auc": ((True, True), (False, False)),  # background negative, subgroup positive
}


class AuditError(InputError):
    """An audit cannot run as asked; the message says what was wrong and how to fix it."""


@dataclass(frozen=True)
class AuditSettings:
    """What every audit may be configured with (from the command line)."""

    min_slice: int = 20
    threshold: float = 0.5
    resamples: int = 1000
    seed: int = 0
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.min_slice < 1:
            raise AuditError(f"min_slice must be at least 1 row, got {self.min_slice}")
        if not 0.0 <= self.threshold <= 1.0:
            raise AuditError(f"threshold must be a score in [0, 1], got {self.threshold}")
        if self.resamples < 1:
            raise AuditError(f"resamples must be at least 1, got {self.resamples}")
        if not 0.0 < self.confidence < 1.0:
            raise AuditError(f"confidence must be in (0, 1), got {self.confidence}")


@dataclass(frozen=True)
class Measured:
    """A metric value, or ``None`` with the reason it is undefined; ``too_small`` (with the reason) when it
    rests on too few rows of a class to count; ``low``/``high`` its confidence interval where known."""

    value: float | None
    reason: str | None = None
    too_small: bool = False
    low: float | None = None
    high: float | None = None


# --- slices and groups ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """The rows of one slice in one identity group, as a mask over the slice."""

    name: str
    member: np.ndarray
    too_small: bool

    @property
    def n(self) -> int:
        return int(self.member.sum())


def labels_of(records: Sequence[Record], slice_name: str = "slice") -> np.ndarray:
    """Gold labels (0/1) of a slice; rows with hidden labels cannot be audited."""
    labels = np.fromiter((r.label for r in records), dtype=int, count=len(records))
    if (labels < 0).any():
        raise AuditError(f"{int((labels < 0).sum())} rows of {slice_name} have no label; "
                         "audits need gold labels (use a data set's held-out 'audit' split)")
    return labels


def identity_groups(records: Sequence[Record], min_slice: int) -> list[Group]:
    """One group per identity any row of the slice mentions, sorted by name."""
    names = sorted({g for r in records for g in r.identities})
    groups = []
    for name in names:
        member = np.fromiter((name in r.identities for r in records), dtype=bool, count=len(records))
        groups.append(Group(name, member, int(member.sum()) < min_slice))
    return groups


def slice_scores(scorer: Scorer, records: Sequence[Record]) -> np.ndarray:
    """The scorer's scores for a slice, checked (NaN or out-of-range scores are an error)."""
    return score_texts(scorer, [r.text for r in records])


def small_note(groups: Iterable[Group], min_slice: int, where: str) -> str | None:
    small = [f"{g.name} ({g.n})" for g in groups if g.too_small]
    if not small:
        return None
    return (f"{where}: {len(small)} group(s) have fewer than {min_slice} rows (--min-slice) and are shown "
            f"flagged but left out of every aggregate: {', '.join(small)}")


# --- AUC-based bias metrics (Borkan et al. 2019, the Jigsaw Unintended Bias metric) -----------------


def auc(labels: np.ndarray, scores: np.ndarray, positives: str = "toxic rows",
        negatives: str = "non-toxic rows") -> Measured:
    """ROC-AUC, or undefined (never 0.5) when one class is missing."""
    from sklearn.metrics import roc_auc_score  # here, not at import: `moderation plugins` loads this module

    pos = int(labels.sum())
    neg = int(labels.size - pos)
    if pos == 0 or neg == 0:
        missing = " and ".join(d for d, c in ((positives, pos), (negatives, neg)) if c == 0)
        return Measured(None, f"undefined: no {missing} ({pos} toxic, {neg} non-toxic)")
    return Measured(float(roc_auc_score(labels, scores)))


def _describe(side: tuple[bool, bool]) -> str:
    in_group, toxic = side
    return f"{'toxic' if toxic else 'non-toxic'} rows {'in the group' if in_group else 'in the background'}"


def auc_mask(metric: str, labels: np.ndarray, member: np.ndarray) -> np.ndarray:
    """The rows one bias AUC is computed over."""
    toxic = labels.astype(bool)
    (pos_in, _), (neg_in, _) = AUC_SETS[metric]
    return ((member == pos_in) & toxic) | ((member == neg_in) & ~toxic)


def bias_aucs(labels: np.ndarray, scores: np.ndarray, member: np.ndarray, min_class: int = 1,
              confidence: float = 0.95) -> dict[str, Measured]:
    """Subgroup, BPSN and BNSP AUC of one group against its background, each with its DeLong interval;
    an AUC with fewer than ``min_class`` rows on either side is flagged ``too_small``."""
    out = {}
    for metric, (pos, neg) in AUC_SETS.items():
        mask = auc_mask(metric, labels, member)
        measured = auc(labels[mask], scores[mask], _describe(pos), _describe(neg))
        n_pos = int(labels[mask].sum())
        n_neg = int(mask.sum()) - n_pos
        if measured.value is None:
            out[metric] = measured
            continue
        low, high = auc_interval(labels[mask], scores[mask], confidence)
        small = min(n_pos, n_neg) < min_class
        reason = (f"too few rows: {n_pos} {_describe(pos)}, {n_neg} {_describe(neg)} (fewer than {min_class} "
                  "of a class, --min-slice)") if small else None
        out[metric] = Measured(measured.value, reason, small, low, high)
    return out


def auc_interval(labels: np.ndarray, scores: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """The DeLong confidence interval of one AUC, clipped to [0, 1]; None with fewer than two rows of a class."""
    from scipy.stats import norm

    try:
        aucs, cov = delong(labels, scores)
    except ValueError:
        return None, None
    half = float(norm.ppf(0.5 + confidence / 2)) * math.sqrt(max(float(cov[0, 0]), 0.0))
    return max(0.0, float(aucs[0]) - half), min(1.0, float(aucs[0]) + half)


def power_mean(values: Sequence[float], p: float = POWER) -> float:
    """Generalized mean ``(mean(x ** p)) ** (1 / p)``; for p < 0 any zero drives it to zero."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("the power mean of no values is undefined")
    if p < 0 and (arr <= 0).any():
        return 0.0
    return float(np.mean(arr**p) ** (1.0 / p))


@dataclass
class FinalBias:
    """The Jigsaw final bias metric and what went into it."""

    value: float | None
    overall_auc: float | None
    means: dict[str, float | None]
    used: dict[str, list[str]]
    excluded: dict[str, list[tuple[str, str]]]
    reason: str | None = None


def final_bias_metric(overall: Measured, per_group: Mapping[str, Mapping[str, Measured]],
                      small: Iterable[str] = ()) -> FinalBias:
    """0.25 x overall AUC + 0.25 x the power mean (p = -5) of each of subgroup, BPSN and BNSP AUC over
    the identities. An identity whose AUC is undefined (or whose group is too small) is excluded from
    that metric's mean only, and listed: an identity with only non-toxic rows has no subgroup AUC, but
    its BPSN AUC is exactly the false-flagging of its benign mentions that the metric exists to catch."""
    small = set(small)
    means: dict[str, float | None] = {}
    used: dict[str, list[str]] = {}
    excluded: dict[str, list[tuple[str, str]]] = {}
    for metric in AUC_METRICS:
        used[metric], excluded[metric] = [], []
        for name, row in per_group.items():
            if name in small:
                excluded[metric].append((name, "group too small (--min-slice)"))
            elif row[metric].too_small:
                excluded[metric].append((name, row[metric].reason or "too few rows of a class"))
            elif row[metric].value is None:
                excluded[metric].append((name, row[metric].reason or "undefined"))
            else:
                used[metric].append(name)
        means[metric] = power_mean([per_group[n][metric].value for n in used[metric]]) if used[metric] else None
    missing = [m for m in AUC_METRICS if means[m] is None]
    if overall.value is None:
        reason = f"overall AUC {overall.reason}"
    elif missing:
        reason = f"undefined: no identity has a defined {', '.join(missing)}"
    else:
        reason = None
    value = None if reason else 0.25 * overall.value + 0.25 * sum(means.values())
    return FinalBias(value, overall.value, means, used, excluded, reason)


def delong(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of k scorers on the same rows (``scores`` is k x n) and their DeLong covariance matrix
    (DeLong et al. 1988, in the fast midrank form of Sun and Xu 2014). Needs at least two rows of
    each class."""
    from scipy.stats import rankdata

    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    toxic = labels.astype(bool)
    pos, neg = scores[:, toxic], scores[:, ~toxic]
    m, n = pos.shape[1], neg.shape[1]
    if m < 2 or n < 2:
        raise ValueError(f"DeLong variance needs two rows of each class, got {m} toxic and {n} non-toxic")
    tx, ty = rankdata(pos, axis=1), rankdata(neg, axis=1)
    tz = rankdata(np.hstack([pos, neg]), axis=1)
    aucs = (tz[:, :m].sum(axis=1) / m - (m + 1) / 2) / n
    v_pos = (tz[:, :m] - tx) / n  # per toxic row: share of non-toxic rows scored below it
    v_neg = 1.0 - (tz[:, m:] - ty) / m  # per non-toxic row: share of toxic rows scored above it
    cov = np.atleast_2d(np.cov(v_pos)) / m + np.atleast_2d(np.cov(v_neg)) / n
    return aucs, cov


@dataclass(frozen=True)
class Delta:
    """A paired difference a - b with its confidence interval, or undefined with a reason."""

    a: float | None
    b: float | None
    delta: float | None
    low: float | None = None
    high: float | None = None
    reason: str | None = None

    @property
    def significant(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def auc_delta(labels: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray, confidence: float) -> Delta:
    """AUC(a) - AUC(b) on the same rows with a DeLong confidence interval (paired: both scorers' errors
    on the same rows are correlated, which a comparison of two separate intervals would ignore)."""
    from scipy.stats import norm

    a, b = auc(labels, scores_a), auc(labels, scores_b)
    if a.value is None or b.value is None:
        return Delta(a.value, b.value, None, reason=a.reason or b.reason)
    try:
        _, cov = delong(labels, np.vstack([scores_a, scores_b]))
    except ValueError as exc:
        return Delta(a.value, b.value, a.value - b.value, reason=f"no interval: {exc}")
    se = math.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0))
    z = float(norm.ppf(0.5 + confidence / 2))
    delta = a.value - b.value
    return Delta(a.value, b.value, delta, delta - z * se, delta + z * se)


# --- error rates at the decision threshold ------------------------------------------------------------


def wilson(k: float, n: float, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion k / n: right for small counts and rates near 0 or 1 (0 of 6
    gives [0, 0.39], where a bootstrap gives [0, 0]). The closed form takes an effective, fractional n
    (``clustered_wilson``). None when n is 0."""
    from scipy.stats import norm

    if n == 0:
        return None, None
    p, z2 = k / n, float(norm.ppf(0.5 + confidence / 2)) ** 2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = math.sqrt(z2 * p * (1 - p) / n + z2 * z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def clustered_wilson(passed: Sequence[int], rows: Sequence[int],
                     confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson interval of the pass rate sum(passed) / sum(rows) over clusters of rows that tend to pass or
    fail together (a behaviour template's sentences, one per identity): the rows count as the effective
    sample size that the spread of the clusters' pass rates allows (Kish's design effect, the linearised
    variance of the ratio), at most the rows. A rate of 0 or 1 shows no spread: it counts one row per
    cluster. Rows taken as independent would claim an interval several times too narrow for a rate over
    held-out templates."""
    k, n = np.asarray(passed, dtype=float), np.asarray(rows, dtype=float)
    total = n.sum()
    if total == 0:
        return None, None
    p = k.sum() / total
    spread = float(((k - p * n) ** 2).sum())
    if p in (0.0, 1.0):
        effective = float(len(n))
    elif spread == 0:
        effective = total
    else:
        effective = min(total, p * (1 - p) * total**2 / spread)
    return wilson(p * effective, effective, confidence)


def newcombe(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Newcombe's hybrid score interval (his method 10, 1998) of the difference k1/n1 - k2/n2 of two
    independent proportions, built from their Wilson intervals. None when either n is 0."""
    (l1, u1), (l2, u2) = wilson(k1, n1, confidence), wilson(k2, n2, confidence)
    if l1 is None or l2 is None:
        return None, None
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    return d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)

RATES = ("fpr", "fnr")
_RATE_CLASS = {"fpr": 0, "fnr": 1}  # fpr: errors among non-toxic rows; fnr: among toxic rows


def error_rate(labels: np.ndarray, flagged: np.ndarray, rate: str) -> float:
    """False positive or false negative rate; NaN (undefined) when the class is absent."""
    labels, flagged = np.asarray(labels), np.asarray(flagged)
    cls = labels == _RATE_CLASS[rate]
    return float((flagged[cls] != _RATE_CLASS[rate]).mean()) if cls.any() else math.nan


def cell_counts(member: np.ndarray, labels: np.ndarray, flagged: Sequence[np.ndarray]) -> np.ndarray:
    """How many rows fall in each (member, label, flagged by scorer 0, 1, ...) cell.

    Every error rate of a group and of its slice is a function of these counts alone, so resampling the
    rows with replacement is exactly a multinomial draw over the cells: the bootstrap costs O(cells)
    per resample, not O(rows)."""
    k = len(flagged)
    codes = (member.astype(int) << (k + 1)) | (labels.astype(int) << k)
    for j, f in enumerate(flagged):
        codes |= np.asarray(f, dtype=int) << j
    return np.bincount(codes, minlength=2 ** (k + 2))


def rates_from_counts(counts: np.ndarray, k: int, scorer: int, rate: str) -> tuple[np.ndarray, np.ndarray]:
    """(group rate, slice rate) of one scorer from cell counts (any leading resample axes); NaN where a
    denominator is zero."""
    cells = np.arange(counts.shape[-1])
    member, label, flagged = (cells >> (k + 1)) & 1, (cells >> k) & 1, (cells >> scorer) & 1
    cls = _RATE_CLASS[rate]
    of_class, wrong = label == cls, flagged != cls

    def share(where: np.ndarray) -> np.ndarray:
        num = counts[..., where & wrong].sum(axis=-1)
        den = counts[..., where].sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.maximum(den, 1), np.nan)

    return share(of_class & (member == 1)), share(of_class)


def bootstrap_counts(counts: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``resamples`` bootstrap replicates of the cell counts (resamples x cells)."""
    n = int(counts.sum())
    return rng.multinomial(n, counts / n, size=resamples)


def interval(samples: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """Percentile interval over the resamples where the statistic is defined."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None, None
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


def rng_for(seed: int, *key: str) -> np.random.Generator:
    """A generator seeded by ``seed`` and a key (slice, group): each group's interval is reproducible and
    does not change when other groups are added or removed."""
    return np.random.default_rng([seed, zlib.crc32("\0".join(key).encode("utf-8"))])


# --- table helpers ------------------------------------------------------------------------------------


def worst(rows: Iterable[Mapping[str, Any]], key: str, pick: Callable[[Iterable[float]], float] = min,
          **where: Any) -> float | None:
    """The worst defined value of ``key`` over rows matching ``where`` that are not too small."""
    values = [r[key] for r in rows
              if r.get(key) is not None and not r.get("too_small") and all(r.get(k) == v for k, v in where.items())]
    return pick(values) if values else None


# --- rows a model may have seen -----------------------------------------------------------------------
