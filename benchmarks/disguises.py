"""Comments disguised the way people dodge filters, scored by a model alone and through the host, which
deobfuscates first (``moderation.deobfuscation``): how much each disguise costs, and what is won back.

Run: python benchmarks/disguises.py [--model PATH] [--data davidson,jigsaw-toxic,stormfront]
         [--data-dir ../shared/data] [--rows 1000]

On --rows validation comments of --data (a fixed sample), each disguise is applied to every comment and the
ROC-AUC and the share of toxic comments flagged at the model's review threshold are printed: plain, the
disguised text read by the model itself, and read through ``score_texts``. The disguises: fullwidth letters;
Cyrillic look-alikes for a, c, e, i, o, y; a zero-width space between letters; every vowel stretched to
three; spaces removed (which deobfuscation does not undo). Test splits are never read.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from moderation.artifacts import load_model, read_manifest
from moderation.data import load
from moderation.defaults import ensure_default_model
from moderation.policy import recommended
from moderation.scoring import score_texts

LOOKALIKES = str.maketrans({"a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "y": "у"})
DISGUISES: dict[str, Callable[[str], str]] = {
    "fullwidth": lambda t: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in t),
    "look-alike letters": lambda t: t.translate(LOOKALIKES),
    "zero-width spaces": lambda t: "\u200b".join(t),
    "stretched vowels": lambda t: re.sub(r"([aeiou])", r"\1\1\1", t),
    "spaces removed": lambda t: t.replace(" ", ""),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="A saved model (default: the shipped one).")
    parser.add_argument("--data", default="davidson,jigsaw-toxic,stormfront")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("MODERATION_THREADS", "1")
    path = args.model or ensure_default_model()
    model, review = load_model(path), recommended(read_manifest(path).policy).review
    records = load(args.data, args.data_dir).split("validation")
    sample = [records[i] for i in np.random.default_rng(0).permutation(len(records))[: args.rows]]
    texts, labels = [r.text for r in sample], np.array([r.label for r in sample])

    def figures(scores: np.ndarray) -> str:
        return f"{roc_auc_score(labels, scores):.4f} / {(scores[labels == 1] >= review).mean():.2f}"

    print(f"{read_manifest(path).model_id}: {len(sample)} validation comments of {args.data} "
          f"({int(labels.sum())} toxic); ROC-AUC / share of toxic ones flagged at the review threshold {review}")
    print(f"{'disguise':20s} {'the model alone':>18s} {'through the host':>18s}")
    print(f"{'none':20s} {figures(np.asarray(model.score(texts))):>18s} {figures(score_texts(model, texts)):>18s}")
    for name, disguise in DISGUISES.items():
        disguised = [disguise(t) for t in texts]
        alone, hosted = np.asarray(model.score(disguised)), score_texts(model, disguised)
        print(f"{name:20s} {figures(alone):>18s} {figures(hosted):>18s}")


if __name__ == "__main__":
    main()
