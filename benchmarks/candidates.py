"""Candidate default models side by side on validation only: how a new build is kept or dropped.

Run: python benchmarks/candidates.py moderation/models/default runs/build3/student [more saved models ...]
         [--data-dir ../shared/data] [--min-class 10]

Per model, on the validation split of each data set: ROC-AUC; the Jigsaw final bias metric over the rows
that mention an identity (metrics resting on fewer than --min-class rows of a class left out); and on the
behaviour set's validation templates: ROC-AUC, the mean score per category, and the pass rate per category
at the model's recommended review threshold (its manifest's policy; for a model without one, the
threshold the build would choose: recall >= 0.90 on the pooled validation split). Test splits are never read.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from moderation.artifacts import load_model, read_manifest
from moderation.data import load
from moderation.fairness import auc, bias_aucs, final_bias_metric, identity_groups
from moderation.policy import choose
from moderation_plugins.behaviour import category_of

DATA = ("davidson", "jigsaw-toxic", "toxigen", "stormfront", "behaviour")


def review_threshold(path: Path, model, pooled) -> float:
    policy = read_manifest(path).policy
    if policy:
        return float(policy["review"])
    scores = model.score([r.text for r in pooled])
    return float(choose(scores, [r.label for r in pooled], review_recall=0.90, block_precision=0.95)["review"])


def measure(path: Path, sets: dict, pooled, min_class: int) -> dict[str, float | None]:
    model = load_model(path)
    row: dict[str, float | None] = {"review threshold": review_threshold(path, model, pooled)}
    for name, records in sets.items():
        labels = np.array([r.label for r in records])
        scores = model.score([r.text for r in records])
        row[f"AUC {name} ({len(records)})"] = auc(labels, scores).value
        groups = identity_groups(records, 1)
        per_group = {g.name: bias_aucs(labels, scores, g.member, min_class) for g in groups}
        row[f"final bias {name}"] = final_bias_metric(auc(labels, scores), per_group).value
        if name == "behaviour":
            categories = np.array([category_of(r) for r in records])
            right = (scores >= row["review threshold"]) == (labels == 1)
            for category in dict.fromkeys(categories):
                row[f"pass {category}"] = float(right[categories == category].mean())
                row[f"mean score {category}"] = float(scores[categories == category].mean())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--min-class", type=int, default=10)
    args = parser.parse_args()
    if args.data_dir:
        os.environ.setdefault("MODERATION_DATA_DIR", str(args.data_dir))
    sets = {name: load(name, args.data_dir).split("validation") for name in DATA}
    pooled = [r for records in sets.values() for r in records]
    rows = {f"{read_manifest(p).model_id} ({p.name})": measure(p, sets, pooled, args.min_class) for p in args.models}
    names = list(rows)
    print(f"validation only; bias metrics leave out what rests on < {args.min_class} rows of a class\n")
    print(f"{'':<36}" + "".join(f"{n[:30]:>32}" for n in names))
    for key in rows[names[0]]:
        cells = [rows[n].get(key) for n in names]
        print(f"{key:<36}" + "".join(f"{'n/a' if c is None else f'{c:.4f}':>32}" for c in cells))


if __name__ == "__main__":
    main()
