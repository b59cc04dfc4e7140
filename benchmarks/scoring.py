"""Saved models timed side by side in one run: single-comment latency (p50, p99) and batched throughput.

Run: python benchmarks/scoring.py [--model PATH ...] [--data demo | --data NAME --split validation]
         [--data-dir ../shared/data] [--rows 1000] [--repeats 3] [--threads 1]

Each repeat times every model in turn on the same texts (one call per comment for the first 200, then all
--rows in batches of 256), so a noisy shared machine slows them alike; figures are the median and range over
--repeats, with each model's ratio to the first. Without --model, the shipped default alone.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from moderation.artifacts import load_model, read_manifest
from moderation.data import load
from moderation.defaults import ensure_default_model
from moderation.encoders import use_all_cores
from moderation.evaluation import speed


def texts_of(data: str, split: str | None, data_dir: Path | None, rows: int) -> list[str]:
    loaded = load(data, data_dir)
    records = loaded.split(split) if split else loaded.records
    order = np.random.default_rng(0).permutation(len(records))[:rows]
    return [records[i].text for i in order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, action="append", default=[], help="A saved model (repeatable).")
    parser.add_argument("--data", default="demo", help="Data set(s) whose texts are scored, e.g. davidson,behaviour.")
    parser.add_argument("--split", default=None, help="Only this split's texts, e.g. validation.")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    os.environ["MODERATION_THREADS"] = str(args.threads)
    use_all_cores()  # reads the variable just set: --threads torch threads
    paths = args.model or [ensure_default_model()]
    models = {read_manifest(p).model_id: load_model(p) for p in paths}
    texts = texts_of(args.data, args.split, args.data_dir, args.rows)
    runs: dict[str, list] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            runs[name].append(speed(model, texts, singles=200))
    first = next(iter(runs))
    first_p50 = np.median([t.latency_p50_ms for t in runs[first]])
    first_batch = np.median([t.throughput_per_s for t in runs[first]])
    print(f"{len(texts)} texts of {args.data} {args.split or ''}; {args.threads} thread(s); median (range) of "
          f"{args.repeats} interleaved repeats; ratio to {first}")
    for name, timed in runs.items():
        p50 = [t.latency_p50_ms for t in timed]
        batch = [t.throughput_per_s for t in timed]
        ratio_p50, ratio_batch = np.median(p50) / first_p50, np.median(batch) / first_batch
        p99 = np.median([t.latency_p99_ms for t in timed])
        print(f"{name:36} p50 {np.median(p50):7.2f} ms ({min(p50):.2f}-{max(p50):.2f}) x{ratio_p50:.2f}   "
              f"p99 {p99:7.2f} ms   batch {np.median(batch):7.0f}/s ({min(batch):.0f}-{max(batch):.0f}) "
              f"x{ratio_batch:.2f}")


if __name__ == "__main__":
    main()
