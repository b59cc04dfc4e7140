"""Offline labeling throughput: the local engine vs Ray on the same rows in one run, and what the
prediction cache saves on a second run.

Run: python benchmarks/labeling.py --model runs/teacher-davidson --data davidson --split unlabeled --rows 2000
(default: the default model on the demo data's train split)
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path

import pandas as pd

from moderation.data import by_hash, load
from moderation.defaults import ensure_default_model
from moderation.labeling import label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--data", default="demo")
    parser.add_argument("--split", default="train")
    parser.add_argument("--rows", type=int, default=None, help="Label at most this many rows (by hash).")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    model = args.model or ensure_default_model()
    records = load(args.data).split(args.split, "label")
    records = by_hash(records, args.rows) if args.rows else records
    engines = ["local", "ray"] if importlib.util.find_spec("ray") else ["local"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for engine in engines:
            runs[engine] = label(model, records, Path(tmp) / f"{engine}.parquet", engine=engine,
                                 cache_path=Path(tmp) / f"{engine}.sqlite", batch_size=args.batch_size)
        cached = label(model, records, Path(tmp) / "again.parquet", cache_path=Path(tmp) / "local.sqlite",
                       batch_size=args.batch_size)
        same = all(pd.read_parquet(Path(tmp) / f"{e}.parquet").equals(pd.read_parquet(Path(tmp) / "local.parquet"))
                   for e in engines)
    print(f"{len(records):,} rows of {args.data}/{args.split}, model {model}")
    print(f"{'run':<22}{'seconds':>10}{'rows/s':>12}")
    for engine, run in runs.items():
        print(f"{engine + ' (cold cache)':<22}{run.seconds:>10.2f}{run.rows / run.seconds:>12,.0f}")
    print(f"{'local (warm cache)':<22}{cached.seconds:>10.2f}{cached.rows / cached.seconds:>12,.0f}")
    if "ray" in runs:
        print(f"ray / local throughput: {runs['local'].seconds / runs['ray'].seconds:.2f}x")
    print(f"cache hit speed-up: {runs['local'].seconds / cached.seconds:.0f}x")
    print(f"outputs identical across engines: {same}")


if __name__ == "__main__":
    main()
