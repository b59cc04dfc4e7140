"""Confidence intervals in the audits, side by side with the textbook alternatives, on a real slice.

1. FPR-gap intervals: the multinomial draw over cell counts that error-rate-gaps uses vs resampling rows.
2. AUC-difference intervals (amplification): DeLong vs a paired row bootstrap.

Both pairs are run on the held-out audit split of a data set (default bias-madlibs, 76,564 rows), scored
by a saved model (default: the default model) and, for (2), a second model (--compare; default: a
tfidf-lr trained on the demo data with other parameters, cached under /tmp).

Run: python benchmarks/audit.py [--data bias-madlibs] [--model PATH] [--compare PATH] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from moderation.artifacts import load_model
from moderation.data import load
from moderation.defaults import ensure_default_model
from moderation.fairness import (
    auc_delta,
    auc_mask,
    bootstrap_counts,
    cell_counts,
    identity_groups,
    interval,
    labels_of,
    rates_from_counts,
    rng_for,
)
from moderation.scoring import score_texts
from moderation.student_training import train_student


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def row_bootstrap(statistic: Callable[[np.ndarray], float], n: int, resamples: int,
                  rng: np.random.Generator) -> np.ndarray:
    """The textbook bootstrap: draw n row indices with replacement and recompute the statistic."""
    return np.array([statistic(rng.integers(0, n, n)) for _ in range(resamples)])


def fpr_gap(member: np.ndarray, labels: np.ndarray, flagged: np.ndarray) -> Callable[[np.ndarray], float]:
    def statistic(i: np.ndarray) -> float:
        group_neg, neg = (labels[i] == 0) & member[i], labels[i] == 0
        return flagged[i][group_neg].mean() - flagged[i][neg].mean() if group_neg.any() else np.nan

    return statistic


def auc_difference(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> Callable[[np.ndarray], float]:
    def statistic(i: np.ndarray) -> float:
        y = labels[i]
        return roc_auc_score(y, a[i]) - roc_auc_score(y, b[i]) if 0 < y.sum() < len(y) else np.nan

    return statistic


def second_model() -> Path:
    """A second tfidf-lr (other parameters, same demo data) to compare against, built once."""
    out = Path("/tmp/moderation-bench/tfidf-lr-c03")
    if not (out / "manifest.json").is_file():
        data = load("demo")
        train_student("tfidf-lr", data.split("train", "train"), data.split("test"), out,
                      params={"C": 0.3, "max_features": 3000, "min_df": 2}, lineage={"data": "demo"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="bias-madlibs")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--compare", type=Path, default=None)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--auc-resamples", type=int, default=200, help="paired AUC bootstrap resamples (slow)")
    parser.add_argument("--groups", type=int, default=3, help="largest identity groups to measure")
    args = parser.parse_args()

    records = load(args.data).split("audit", "audit")
    texts = [r.text for r in records]
    labels = labels_of(records, args.data)
    scores = score_texts(load_model(args.model or ensure_default_model()), texts)
    other = score_texts(load_model(args.compare or second_model()), texts)
    flagged = (scores >= 0.5).astype(int)
    groups = sorted(identity_groups(records, 1), key=lambda g: -g.n)[: args.groups]
    rows = []
    for g in groups:
        counts = cell_counts(g.member, labels, [flagged])
        (cells, t_cells) = timed(lambda c=counts, g=g: bootstrap_counts(c, args.resamples, rng_for(0, "bench", g.name)))
        group_rate, overall_rate = rates_from_counts(cells, 1, 0, "fpr")
        cell_ci = interval(group_rate - overall_rate, 0.95)
        row_gaps, t_rows = timed(lambda g=g: row_bootstrap(fpr_gap(g.member, labels, flagged), len(labels),
                                                           args.resamples, np.random.default_rng(1)))
        row_ci = interval(row_gaps, 0.95)
        mask = auc_mask("bpsn_auc", labels, g.member)
        delong, t_delong = timed(lambda m=mask: auc_delta(labels[m], scores[m], other[m], 0.95))
        boot, t_boot = timed(lambda m=mask: row_bootstrap(auc_difference(labels[m], scores[m], other[m]), int(m.sum()),
                                                          args.auc_resamples, np.random.default_rng(2)))
        boot_ci = interval(boot, 0.95)
        rows.append({
            "group": g.name, "rows": g.n, "bpsn_rows": int(mask.sum()),
            "fpr_gap_ci_cells": [round(x, 4) for x in cell_ci], "seconds_cells": round(t_cells, 4),
            "fpr_gap_ci_rows": [round(x, 4) for x in row_ci], "seconds_rows": round(t_rows, 2),
            "bpsn_delta": round(delong.delta, 5),
            "bpsn_delta_ci_delong": [round(delong.low, 4), round(delong.high, 4)], "seconds_delong": round(t_delong, 3),
            "bpsn_delta_ci_bootstrap": [round(x, 4) for x in boot_ci], "seconds_bootstrap": round(t_boot, 2),
        })
    print(json.dumps({"data": args.data, "rows": len(records), "resamples": args.resamples,
                      "auc_resamples": args.auc_resamples, "groups": rows}, indent=2))
    for r in rows:
        print(f"{r['group']:>28} ({r['rows']:>5} rows)  FPR gap CI cells {r['fpr_gap_ci_cells']} in "
              f"{r['seconds_cells'] * 1000:.1f} ms vs rows {r['fpr_gap_ci_rows']} in {r['seconds_rows']:.1f} s | "
              f"BPSN delta CI DeLong {r['bpsn_delta_ci_delong']} in {r['seconds_delong'] * 1000:.0f} ms vs bootstrap "
              f"{r['bpsn_delta_ci_bootstrap']} in {r['seconds_bootstrap']:.1f} s")


if __name__ == "__main__":
    main()
