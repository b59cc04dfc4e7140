"""The default model side by side, in one run: the old demo-trained default (tfidf-lr on the 1,493-row demo
set, rebuilt here), the new shipped default, its teacher, and a TF-IDF + LR trained on the same pooled data.

Run: python benchmarks/default_model.py --teacher runs/default-build/teacher --data-dir ../shared/data \
         [--threads 1] [--limit 10000] [--repeats 3]

Per model: ROC-AUC on each data set's test split; final bias metric on the audit splits of bias-madlibs
(--limit sentences, chosen by hash) and ToxiGen; the highest mean score of an identity term's non-toxic
template sentences; behaviour pass rate per category (held-out templates) at the model's own review
threshold (its manifest's policy, else 0.5); p50 single-comment latency (median and range of --repeats
runs of 200 comments); size of its own files. One torch thread per model (--threads), as in serving.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from moderation.artifacts import load_model, read_manifest
from moderation.audit import CachedScorer, headline, run_audits
from moderation.data import HELD_OUT, load
from moderation.defaults import SHIPPED_MODEL
from moderation.encoders import use_all_cores
from moderation.evaluation import size_bytes, speed
from moderation.fairness import AuditSettings
from moderation.policy import recommended
from moderation.scoring import score_texts
from moderation.student_training import train_student

POOLED = "davidson,jigsaw-toxic,toxigen,stormfront,behaviour"
TESTS = ("davidson", "jigsaw-toxic", "toxigen", "stormfront")
AUDITS = ("subgroup-auc", "templates", "behaviour")


def baselines(work: Path, data_dir: Path) -> dict[str, Path]:
    """The old default (demo data) and TF-IDF + LR on the pooled data, trained on gold labels."""
    out = {}
    for name, data in (("old default (tfidf-lr, demo)", "demo"), ("tfidf-lr, pooled data", POOLED)):
        loaded = load(data, data_dir)
        path = work / data.replace(",", "+")
        train_student("tfidf-lr", loaded.split("train", "train") + loaded.split("validation", "train"),
                      loaded.split("test"), path, lineage={"data": data})
        out[name] = path
    return out


def audit_numbers(path: Path, slices: dict, threshold: float) -> dict[str, float | None]:
    scorer = CachedScorer(load_model(path), "m")
    return headline(run_audits(AUDITS, {"m": scorer}, slices, {"bias-madlibs"}, AuditSettings(threshold=threshold),
                               True), "m")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", type=Path, required=True, help="The teacher the default was distilled from.")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL, help="The new default (default: shipped).")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=10_000, help="bias-madlibs sentences audited (by hash).")
    parser.add_argument("--repeats", type=int, default=3, help="Latency runs per model (median and range).")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per model.")
    args = parser.parse_args()
    os.environ["MODERATION_THREADS"] = str(args.threads)
    use_all_cores()  # reads the variable just set: --threads torch threads
    tests = {name: load(name, args.data_dir).split("test") for name in TESTS}
    slices = {"bias-madlibs": load("bias-madlibs", args.data_dir, limit=args.limit).split(HELD_OUT, "audit"),
              "toxigen": load("toxigen", args.data_dir).split(HELD_OUT, "audit"),
              "behaviour": load("behaviour").split(HELD_OUT, "audit")}
    speed_texts = [r.text for r in tests["davidson"][:200]]
    with tempfile.TemporaryDirectory() as tmp:
        models = {"new default": args.model, "teacher": args.teacher, **baselines(Path(tmp), args.data_dir)}
        table: dict[str, dict[str, object]] = {}
        for name, path in models.items():
            model = load_model(path)
            review = recommended(read_manifest(path).policy).review
            row: dict[str, object] = {"review threshold": review}
            for data, records in tests.items():
                scores = score_texts(model, [r.text for r in records])
                row[f"AUC {data}"] = roc_auc_score([r.label for r in records], scores)
            row.update(audit_numbers(path, slices, review))
            p50 = [speed(model, speed_texts, singles=200).latency_p50_ms for _ in range(args.repeats)]
            row["p50 ms (median)"], row["p50 ms (min-max)"] = float(np.median(p50)), f"{min(p50):.2f}-{max(p50):.2f}"
            row["own files MB"] = size_bytes(path) / 1e6
            table[name] = row
    names = list(table)
    print(f"{'':<34}" + "".join(f"{n[:24]:>26}" for n in names))
    for key in dict.fromkeys(k for row in table.values() for k in row):
        cells = [table[n].get(key) for n in names]
        print(f"{key:<34}" + "".join(f"{c:>26.4f}" if isinstance(c, float) else f"{c!s:>26}" for c in cells))


if __name__ == "__main__":
    main()
