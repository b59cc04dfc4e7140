"""Prompt strategies side by side on one data set, the zero-shot ambiguity on concrete rows, and a student
distilled from a prompted teacher with no fine-tuning at all.

Run: MODERATION_DATA_DIR=../shared/data nice -n 10 python benchmarks/prompting.py [--data davidson]
     [--seeds 10] [--labeled 500,2000] [--json out.json]

1. Every strategy with the `embedding-prompted` teacher on the same test rows: ROC-AUC, PR-AUC, Brier.
   Strategies whose exemplars depend on the seed (one-shot, few-shot) run with several seeds: mean and spread.
2. Rows where a word has a benign and an offensive sense: the scores of each strategy.
3. Label-scarce distillation: with only N labeled training rows, (a) `tfidf-lr` on the N gold labels;
   (b) a k-NN few-shot prompted teacher whose pool is those N rows, saved and reloaded through
   `moderation.artifacts`, labels the hidden rest of the training data, and `tfidf-lr` is distilled from
   the teacher's labels alone and from gold + teacher labels. Same test rows for all.

Embeddings are cached under <data home>/cache/embeddings: the first run embeds the data set once.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from moderation.artifacts import load_model
from moderation.data import load
from moderation.prompting import build_prompted_teacher, quality, save_prompted_teacher
from moderation.protocols import Record
from moderation.scoring import score_texts
from moderation.student_training import train_student

TEACHER = "embedding-prompted"
# (strategy, k, seeded): seeded strategies are run once per seed
STRATEGIES = [("zero-shot", 0, False), ("one-shot", 1, True), ("few-shot", 4, True), ("few-shot", 8, True),
              ("few-shot", 16, True), ("knn-few-shot", 4, False), ("knn-few-shot", 8, False),
              ("knn-few-shot", 16, False)]
# Davidson rows where a word has a benign sense (cigarettes, hoedown, cookies, animals) next to rows where
# the same word is used as an insult, found by these patterns among rows never used as exemplars.
AMBIGUOUS = [r"only bought 20 fags", r"hoe downs in Jackson", r"hoe hoe hoe, merry Christmas",
             r"^Golden Oreos are the best", r"A monkey with a mustache", r"baby monkey in the snow",
             r"I would bitch about the weather"]


def strategy_params(name: str, k: int, seed: int) -> dict[str, Any]:
    return {"seed": seed} if name in ("zero-shot", "one-shot") else {"seed": seed, "k": k}


def compare_strategies(train: list[Record], test: list[Record], seeds: int) -> list[dict[str, Any]]:
    texts = [r.text for r in test]
    rows = []
    for name, k, seeded in STRATEGIES:
        runs = []
        for seed in range(seeds if seeded else 1):
            start = time.perf_counter()
            model = build_prompted_teacher(TEACHER, name, train, strategy_params=strategy_params(name, k, seed),
                                           seed=seed)
            runs.append({**quality(score_texts(model, texts), test), "seconds": time.perf_counter() - start})
        auc = np.array([r["roc_auc"] for r in runs])
        rows.append({"strategy": name, "k": k, "seeds": len(runs), "roc_auc": float(auc.mean()),
                     "roc_auc_sd": float(auc.std()), "roc_auc_min": float(auc.min()),
                     "pr_auc": float(np.mean([r["pr_auc"] for r in runs])),
                     "brier": float(np.mean([r["brier"] for r in runs])),
                     "seconds": float(np.mean([r["seconds"] for r in runs]))})
    return rows


def ambiguity(train: list[Record], test: list[Record], validation: list[Record]) -> list[dict[str, Any]]:
    """Scores of each strategy on the ambiguous rows (from splits never used as exemplars), and where the
    zero-shot score falls among the zero-shot scores of the truly toxic test rows."""
    rows = [next(r for r in test + validation if re.search(p, r.text)) for p in AMBIGUOUS]
    models = {f"{n} k={k}": build_prompted_teacher(TEACHER, n, train, strategy_params=strategy_params(n, k, 0))
              for n, k in [("zero-shot", 0), ("few-shot", 8), ("knn-few-shot", 8)]}
    scores = {name: score_texts(m, [r.text for r in rows]) for name, m in models.items()}
    toxic = score_texts(models["zero-shot k=0"], [r.text for r in test if r.label == 1])
    return [{"split": r.split, "gold_toxicity": r.toxicity, "text": r.text,
             **{name: float(s[i]) for name, s in scores.items()},
             "zero_shot_above_toxic_share": float((toxic < scores["zero-shot k=0"][i]).mean()),
             "knn_exemplars": [(e.label, e.text) for e in models["knn-few-shot k=8"].prompts([r.text])[0].exemplars]}
            for i, r in enumerate(rows)]


def distillation(data_name: str, labeled: int, work: Path) -> dict[str, Any]:
    data = load(data_name, labeled=labeled)
    gold, hidden, test = data.split("train", "train"), data.split("unlabeled", "label"), data.split("test")
    calibration = min(300, labeled // 5)
    teacher = build_prompted_teacher(TEACHER, "knn-few-shot", gold, strategy_params={"k": 8},
                                     calibration_size=calibration)
    save_prompted_teacher(teacher, work / f"teacher-{labeled}", data=f"{data_name} --labeled {labeled}")
    teacher = load_model(work / f"teacher-{labeled}")  # the path `moderation label --model DIR` takes
    teacher_test = quality(score_texts(teacher, [r.text for r in test]), test)["roc_auc"]
    soft = score_texts(teacher, [r.text for r in hidden])
    lineage = {"teacher": f"{TEACHER} knn-few-shot k=8, pool {labeled} rows"}
    gold_only = train_student("tfidf-lr", gold, test, work / f"gold-{labeled}")
    teacher_only = train_student("tfidf-lr", hidden, test, work / f"teacher-only-{labeled}", targets=soft.tolist(),
                                 lineage=lineage)
    distilled = train_student("tfidf-lr", gold + hidden, test, work / f"distilled-{labeled}",
                              targets=[r.toxicity for r in gold] + soft.tolist(), lineage=lineage)
    return {"labeled": labeled, "teacher_labeled_rows": len(hidden), "teacher_test_roc_auc": teacher_test,
            "student_gold_only_roc_auc": gold_only.metrics["test_roc_auc"],
            "student_teacher_only_roc_auc": teacher_only.metrics["test_roc_auc"],
            "student_distilled_roc_auc": distilled.metrics["test_roc_auc"],
            "gain": distilled.metrics["test_roc_auc"] - gold_only.metrics["test_roc_auc"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="davidson")
    parser.add_argument("--seeds", type=int, default=10, help="Seeds for one-shot and few-shot.")
    parser.add_argument("--labeled", default="500,2000", help="Label budgets for the distillation runs ('' skips).")
    parser.add_argument("--json", type=Path, default=None, help="Also write every figure to this JSON file.")
    args = parser.parse_args()

    data = load(args.data)
    train, test = data.split("train", "train"), data.split("test")
    print(f"{TEACHER} on {args.data}: {len(train):,} train rows (exemplar pool + calibration), {len(test):,} test rows")
    strategies = compare_strategies(train, test, args.seeds)
    print(f"\n{'strategy':<14}{'k':>4}{'seeds':>6}{'ROC-AUC':>9}{'sd':>7}{'min':>8}{'PR-AUC':>8}{'Brier':>8}{'s':>7}")
    for r in strategies:
        print(f"{r['strategy']:<14}{r['k']:>4}{r['seeds']:>6}{r['roc_auc']:>9.4f}{r['roc_auc_sd']:>7.4f}"
              f"{r['roc_auc_min']:>8.4f}{r['pr_auc']:>8.4f}{r['brier']:>8.4f}{r['seconds']:>7.1f}")

    examples = []
    if args.data == "davidson":
        examples = ambiguity(train, test, data.split("validation"))
        print("\nzero-shot ambiguity (gold toxicity = share of annotators who saw hate or offense):")
        for e in examples:
            print(f"  gold {e['gold_toxicity']:.2f}  zero-shot {e['zero-shot k=0']:.3f} (above "
                  f"{e['zero_shot_above_toxic_share']:.0%} of toxic test rows)  few-shot "
                  f"{e['few-shot k=8']:.3f}  knn {e['knn-few-shot k=8']:.3f}  [{e['split']}] {e['text'][:90]!r}")
            nearest = e["knn_exemplars"][-3:]
            print("      nearest exemplars: " + " | ".join(f"{lab}: {txt[:40]!r}" for lab, txt in nearest))

    budgets = [int(n) for n in args.labeled.split(",") if n.strip()]
    distilled = []
    with tempfile.TemporaryDirectory(prefix="prompting-bench-") as work:
        for n in budgets:
            distilled.append(distillation(args.data, n, Path(work)))
    if distilled:
        print(f"\n{'labels':>7}{'teacher-labeled':>16}{'teacher AUC':>12}{'student: gold':>14}"
              f"{'teacher':>9}{'gold+teacher':>14}{'gain':>8}")
        for d in distilled:
            print(f"{d['labeled']:>7}{d['teacher_labeled_rows']:>16,}{d['teacher_test_roc_auc']:>12.4f}"
                  f"{d['student_gold_only_roc_auc']:>14.4f}{d['student_teacher_only_roc_auc']:>9.4f}"
                  f"{d['student_distilled_roc_auc']:>14.4f}{d['gain']:>+8.4f}")
    if args.json:
        args.json.write_text(json.dumps({"strategies": strategies, "ambiguity": examples, "distillation": distilled},
                                        indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
