"""Offline batch labeling: a saved model scores a split in batches, through a prediction cache keyed by
(model fingerprint, text hash), so repeated runs compute nothing and a killed run resumes exactly.

Batches are planned once from the whole input (texts sorted by length), and a batch is scored and
committed to the cache as one unit. A resumed run therefore scores the remaining batches with exactly
the composition an uninterrupted run would have used, and ends with the same bytes.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from moderation.artifacts import load_model, read_manifest
from moderation.data import require_trainable
from moderation.protocols import Record
from moderation.scoring import check_scores
from moderation.splits import text_hash
from moderation.sqlite import rows_where_in
from moderation.tables import InputError

ENGINES = ("local", "ray")
LABEL_COLUMNS = ("id", "text", "text_hash", "score", "model_fingerprint", "model")


@dataclass
class LabelRun:
    output: Path
    rows: int
    unique_texts: int
    computed: int
    cached: int
    seconds: float
    engine: str


class PredictionCache:
    """Scores already computed, in SQLite (WAL): safe to kill at any moment, shared by concurrent runs."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS predictions (model TEXT NOT NULL, text_hash TEXT NOT NULL, "
                        "score REAL NOT NULL, PRIMARY KEY (model, text_hash)) WITHOUT ROWID")

    def get(self, model: str, hashes: Sequence[str]) -> dict[str, float]:
        query = "SELECT text_hash, score FROM predictions WHERE model = ? AND text_hash IN ({marks})"
        return dict(rows_where_in(self.db, query, hashes, model))

    def put(self, model: str, hashes: Sequence[str], scores: Sequence[float]) -> None:
        with self.db:  # one transaction per batch: a batch is in the cache whole or not at all
            self.db.executemany("INSERT OR REPLACE INTO predictions VALUES (?, ?, ?)",
                                [(model, h, float(s)) for h, s in zip(hashes, scores, strict=True)])

    def close(self) -> None:
        self.db.close()


def default_cache_path() -> Path:
    from moderation.defaults import data_home

    return data_home() / "cache" / "predictions.sqlite"


def plan_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (little padding), in a deterministic order."""
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), texts[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _local_scores(model_dir: Path, batches: list[list[str]]) -> Iterator[tuple[int, np.ndarray]]:
    scorer = load_model(model_dir)
    for i, texts in enumerate(batches):
        yield i, check_scores(scorer.score(texts), len(texts), scorer.name)


def _ray_scores(model_dir: Path, batches: list[list[str]], address: str | None) -> Iterator[tuple[int, np.ndarray]]:
    """The same batches scored by Ray Data actors, each loading the model once; each batch is yielded
    (batch index, scores) as soon as Ray streams it back, so the caller can commit it at once."""
    try:
        import ray
    except ImportError as exc:
        raise InputError('--engine ray needs Ray: pip install "moderation[ray]"') from exc
    cpus = os.cpu_count() or 1
    started_here = not ray.is_initialized()
    ray.init(address=address, num_cpus=None if address else cpus, include_dashboard=False,
             ignore_reinit_error=True, log_to_driver=False, configure_logging=False)
    items = [{"batch": i, "texts": texts} for i, texts in enumerate(batches)]
    scored = ray.data.from_items(items).map_batches(
        _RayScorer, fn_constructor_kwargs={"model_dir": str(model_dir)}, batch_size=1,
        concurrency=cpus if address is None else None, num_cpus=1, batch_format="pandas")
    try:
        for row in scored.iter_rows():
            i = int(row["batch"])
            yield i, check_scores(np.asarray(row["scores"], dtype=float), len(batches[i]), "ray worker")
    finally:
        if started_here:
            ray.shutdown()


class _RayScorer:
    """One per Ray worker: the model is loaded once, then scores planned batches as they arrive."""

    def __init__(self, model_dir: str) -> None:
        self.scorer = load_model(Path(model_dir))
        if "torch" in sys.modules:
            import torch

            torch.set_num_threads(1)  # one core per actor: actors, not threads, use the machine

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        scores = [np.asarray(self.scorer.score(list(texts)), dtype=float).tolist() for texts in frame["texts"]]
        return pd.DataFrame({"batch": frame["batch"], "scores": scores})


def label(
    model_dir: Path,
    records: Sequence[Record],
    output: Path,
    *,
    cache_path: Path | None = None,
    batch_size: int = 64,
    engine: str = "local",
    ray_address: str | None = None,
) -> LabelRun:
    """Score ``records`` with the saved model at ``model_dir`` into a parquet file at ``output``."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not records:
        raise InputError("nothing to label: the split is empty (check --data, --split, --limit)")
    require_trainable(records, "label")
    manifest = read_manifest(model_dir)
    started = time.perf_counter()
    record_hashes = [text_hash(r.text) for r in records]
    by_hash = dict(zip(record_hashes, (r.text for r in records), strict=True))
    hashes = list(by_hash)
    texts = [by_hash[h] for h in hashes]
    with closing(PredictionCache(cache_path or default_cache_path())) as cache:
        known = cache.get(manifest.fingerprint, hashes)
        todo = [b for b in plan_batches(texts, batch_size) if any(hashes[i] not in known for i in b)]
        computed = sum(len(b) for b in todo)
        batch_texts = [[texts[i] for i in b] for b in todo]
        stream = (_ray_scores(model_dir, batch_texts, ray_address) if engine == "ray" and todo
                  else _local_scores(model_dir, batch_texts) if todo else iter(()))
        with tqdm(total=computed, desc=f"labeling with {manifest.model_id}", unit=" rows", disable=None) as bar:
            done = 0
            for index, scores in stream:  # committed one batch at a time, in whatever order they arrive
                batch = todo[index]
                done += 1
                cache.put(manifest.fingerprint, [hashes[i] for i in batch], scores)
                known.update(zip((hashes[i] for i in batch), scores.tolist(), strict=True))
                bar.update(len(batch))
        if done != len(todo):
            raise RuntimeError(f"the {engine} engine returned {done} of {len(todo)} batches")
    frame = pd.DataFrame({
        "id": [r.id for r in records],
        "text": [r.text for r in records],
        "text_hash": record_hashes,
    })
    frame["score"] = frame["text_hash"].map(known).astype(float)
    frame["model_fingerprint"] = manifest.fingerprint
    frame["model"] = manifest.model_id
    _write_parquet(frame, output)
    return LabelRun(output, len(records), len(hashes), computed, len(hashes) - computed,
                    time.perf_counter() - started, engine)


def _write_parquet(frame: pd.DataFrame, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, output)


def read_labels(path: Path) -> pd.DataFrame:
    """A labels file written by ``label``, checked for the columns and scores distillation relies on."""
    if not Path(path).is_file():
        raise InputError(f"labels file {path} does not exist; create it with `moderation label`")
    frame = pd.read_parquet(path)
    missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{path} is not a labels file from `moderation label` (missing {', '.join(missing)})")
    if frame.empty:
        raise InputError(f"{path} holds no labels")
    check_scores(frame["score"].to_numpy(), len(frame), f"labels in {path}")
    return frame
