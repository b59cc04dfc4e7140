"""How a tiny-transformer scores comments longer than it reads at once: each long_text mode side by side.

Run: python benchmarks/long_text.py moderation/models/default [--data-dir ../shared/data] [--repeats 3]

The same weights, scored three ways (``truncate``, ``window-mean``, ``window-max``; see docs/pipeline.md),
on validation only: ROC-AUC per data set; the time to score jigsaw-toxic's validation comments (median and
range of --repeats, one thread) and how many windows that takes; and buried attacks: long non-toxic
jigsaw-toxic validation comments (over 60 words) with one attack sentence of the behaviour set's validation
templates put at their end or in their middle, flagged or not at the model's review threshold, beside the
same comments and attacks alone.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from moderation.artifacts import load_model, read_manifest
from moderation.data import load
from moderation.policy import choose
from moderation_plugins.behaviour import category_of
from moderation_plugins.tiny_transformer import LONG_TEXT

DATA = ("jigsaw-toxic", "stormfront", "davidson", "behaviour")
ATTACKS = ("threat", "derogation", "dehumanisation")


def buried(comments: list[str], attacks: list[str]) -> dict[str, list[str]]:
    """The comments with an attack at the end and in the middle, the comments and the attacks alone."""
    pairs = [(c.split(), attacks[i % len(attacks)]) for i, c in enumerate(comments)]
    return {"comment alone": comments, "attack alone": attacks,
            "attack at the end": [" ".join([*w, a]) for w, a in pairs],
            "attack in the middle": [" ".join([*w[: len(w) // 2], a, *w[len(w) // 2:]]) for w, a in pairs]}


def timed(score, texts: list[str], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        score(texts)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--buried", type=int, default=150, help="Long comments to bury an attack in.")
    args = parser.parse_args()
    if args.data_dir:
        os.environ["MODERATION_DATA_DIR"] = str(args.data_dir)
    import torch

    torch.set_num_threads(1)
    student = load_model(args.model)
    splits = {name: load(name, args.data_dir).split("validation") for name in DATA}
    policy = read_manifest(args.model).policy
    if not policy:
        pooled = [r for name in DATA for r in splits[name]]
        policy = choose(student.score([r.text for r in pooled]), [r.label for r in pooled])
    jigsaw = [r.text for r in splits["jigsaw-toxic"]]
    long_comments = [r.text for r in splits["jigsaw-toxic"] if r.label == 0 and len(r.text.split()) > 60]
    attacks = [r.text for r in splits["behaviour"] if category_of(r) in ATTACKS][::20]
    tests = buried(long_comments[: args.buried], attacks[: args.buried])
    print(f"{args.model}: review threshold {policy['review']:.4f}; {len(tests['comment alone'])} long comments, "
          f"{len(tests['attack alone'])} attacks")
    for mode in LONG_TEXT:
        student.params["long_text"] = mode
        aucs = {name: roc_auc_score([r.label for r in rows], student.score([r.text for r in rows]))
                for name, rows in splits.items()}
        seconds = timed(student.score, jigsaw, args.repeats)
        flagged = {name: float((student.score(texts) >= policy["review"]).mean()) for name, texts in tests.items()}
        print(f"\n{mode}: validation ROC-AUC " + ", ".join(f"{n} {a:.4f}" for n, a in aucs.items()))
        print(f"  jigsaw-toxic validation ({len(jigsaw)} comments, {len(student._pieces(jigsaw)[0])} windows): "
              f"{np.median(seconds):.2f} s ({min(seconds):.2f}-{max(seconds):.2f})")
        print("  flagged: " + ", ".join(f"{n} {f:.3f}" for n, f in flagged.items()))


if __name__ == "__main__":
    main()
