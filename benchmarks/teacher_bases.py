"""Two teacher bases side by side: the same LoRA settings, steps and validation rows, so the
validation ROC-AUC after each evaluation compares the encoders, not the recipe.

Run: python benchmarks/teacher_bases.py --other PATH/all-mpnet-base-v2 --other-modules q,k,v,o,dense --steps 200
(the README shows how to get all-mpnet-base-v2 from PyPI)
"""

from __future__ import annotations

import argparse
import time

from moderation.data import load
from moderation.plugins import get_registry


def history(base: str | None, modules: list[str], args: argparse.Namespace, data) -> tuple[list[dict], float, int]:
    start = time.perf_counter()
    teacher = get_registry().create("teacher", "minilm-lora", base=base, target_modules=modules,
                                    max_steps=args.steps, eval_every=args.eval_every, max_length=64,
                                    eval_rows=args.eval_rows)
    teacher.fit(data.split("train", "train"), data.split("validation", "train"))
    return teacher.state.history, time.perf_counter() - start, teacher.n_parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="davidson")
    parser.add_argument("--other", required=True, help="A local encoder checkpoint to compare with MiniLM.")
    parser.add_argument("--other-modules", default="query,key,value,dense")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-rows", type=int, default=1000)
    args = parser.parse_args()
    data = load(args.data)
    runs = {"all-MiniLM-L6-v2": history(None, ["query", "key", "value", "dense"], args, data),
            args.other: history(args.other, args.other_modules.split(","), args, data)}
    print(f"{'base':<48}{'params':>13}{'minutes':>9}  validation ROC-AUC by step")
    for name, (steps, seconds, params) in runs.items():
        aucs = "  ".join(f"{h['step']}: {h['val_auc']:.4f}" for h in steps)
        print(f"{name[-47:]:<48}{params:>13,}{seconds / 60:>9.1f}  {aucs}")


if __name__ == "__main__":
    main()
