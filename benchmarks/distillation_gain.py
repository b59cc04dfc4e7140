"""Why distillation: with only N human labels and a large unlabeled pool, compare on the same test split
(a) a student trained on the N labels alone, and
(b) a student distilled from a teacher trained on the same N labels, which labeled the pool offline.
Several seeds (each picks a different N-row labeled set); prints both AUCs and the gain with its spread.

Run: python benchmarks/distillation_gain.py --data davidson --sizes 500,2000 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np

from moderation.data import load
from moderation.evaluation import quality
from moderation.plugins import get_registry
from moderation.scoring import score_texts
from moderation.splits import text_hash


def auc(model, records) -> float:
    return quality(score_texts(model, [r.text for r in records]), [r.label for r in records]).roc_auc


def one_run(data_name: str, n: int, seed: int, args: argparse.Namespace) -> dict:
    data = load(data_name, labeled=n, labeled_seed=seed)
    train, test = data.split("train", "train"), data.split("test")
    pool = sorted(data.split("unlabeled", "label"), key=lambda r: text_hash(f"{seed}:{r.text}"))[: args.pool]
    registry = get_registry()
    alone = registry.create("student", args.student).fit([r.text for r in train], [r.toxicity for r in train])
    # The teacher sees the same N labels and nothing else: it selects its checkpoint on them too.
    teacher = registry.create("teacher", args.teacher, max_steps=args.teacher_steps, eval_every=args.teacher_steps,
                              max_length=64, seed=seed).fit(train, train)
    pool_scores = score_texts(teacher, [r.text for r in pool])
    gold = np.array([r.toxicity for r in train])
    train_scores = score_texts(teacher, [r.text for r in train])
    targets = np.r_[args.alpha * train_scores + (1 - args.alpha) * gold, pool_scores]
    distilled = registry.create("student", args.student).fit([r.text for r in train + pool], targets)
    result = {"n": n, "seed": seed, "pool": len(pool), "student_alone": auc(alone, test),
              "student_distilled": auc(distilled, test), "test_rows": len(test)}
    if args.teacher_auc:
        result["teacher"] = auc(teacher, test)
    result["gain"] = result["student_distilled"] - result["student_alone"]
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="davidson")
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--student", default="tfidf-lr")
    parser.add_argument("--teacher", default="minilm-lora")
    parser.add_argument("--teacher-steps", type=int, default=200)
    parser.add_argument("--pool", type=int, default=4000, help="Unlabeled rows the teacher labels.")
    parser.add_argument("--alpha", type=float, default=0.5, help="Teacher share of the target on labeled rows.")
    parser.add_argument("--teacher-auc", action="store_true", help="Also score the test split with each teacher.")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    runs = [one_run(args.data, int(n), int(s), args) for n in args.sizes.split(",") for s in args.seeds.split(",")]
    print(f"\n{'N':>6}{'seeds':>7}{'alone AUC':>12}{'distilled AUC':>15}{'gain':>9}{'gain sd':>9}{'min gain':>10}")
    for n in sorted({r["n"] for r in runs}):
        group = [r for r in runs if r["n"] == n]
        gains = [r["gain"] for r in group]
        print(f"{n:>6}{len(group):>7}{statistics.mean(r['student_alone'] for r in group):>12.4f}"
              f"{statistics.mean(r['student_distilled'] for r in group):>15.4f}{statistics.mean(gains):>+9.4f}"
              f"{statistics.stdev(gains) if len(gains) > 1 else 0.0:>9.4f}{min(gains):>+10.4f}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
