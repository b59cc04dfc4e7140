"""Single-comment vs batched scoring with a saved model: latency, throughput and their ratio.

Run: python benchmarks/scoring.py [--model PATH] [--rows 2000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from moderation.artifacts import load_model, read_manifest
from moderation.data import load_records
from moderation.defaults import ensure_default_model
from moderation.scoring import score_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    path = args.model or ensure_default_model()
    scorer = load_model(path)
    texts = [r.text for r in load_records("demo")]
    texts = (texts * (args.rows // len(texts) + 1))[: args.rows]

    single = []
    for text in texts[:500]:
        start = time.perf_counter()
        score_texts(scorer, [text])
        single.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    score_texts(scorer, texts, batch_size=256)
    batch_per_s = len(texts) / (time.perf_counter() - start)
    single_per_s = 1000 / float(np.mean(single))
    figures = {
        "model": read_manifest(path).model_id,
        "latency_p50_ms": round(float(np.percentile(single, 50)), 3),
        "latency_p99_ms": round(float(np.percentile(single, 99)), 3),
        "single_per_s": round(single_per_s, 1),
        "batch_per_s": round(batch_per_s, 1),
        "batch_speedup": round(batch_per_s / single_per_s, 2),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
