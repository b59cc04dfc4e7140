"""Sentence embeddings with a disk cache: all-MiniLM-L6-v2 (or any local encoder) with mean pooling,
cached by (model fingerprint, text hash), so that re-running a comparison on the same data embeds nothing
twice. Shared by the k-NN strategy and the embedding-prompted teacher (one model in memory per process).
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from moderation.artifacts import digest_files
from moderation.encoders import quiet_transformers
from moderation.sqlite import rows_where_in

__all__ = ["EmbeddingCache", "SentenceEncoder", "cache_dir", "checkpoint_fingerprint", "get_encoder"]

MEMO_LIMIT = 100_000  # vectors kept in memory per encoder: about 150 MB at 384 dimensions

# --- sentence embeddings with a disk cache ------------------------------------------------------------


def cache_dir() -> Path:
    """Where embeddings are cached: ``<data home>/cache/embeddings`` ($MODERATION_HOME or the user data dir)."""
    from moderation.defaults import data_home

    return data_home() / "cache" / "embeddings"


def checkpoint_fingerprint(path: Path) -> str:
    """Content hash of a checkpoint's config, tokenizer and weights: cached vectors are this model's only."""
    names = ("config.json", "tokenizer.json", "vocab.txt", "model.safetensors", "pytorch_model.bin")
    return digest_files((name, path / name) for name in names if (path / name).is_file())


class EmbeddingCache:
    """Vectors by text hash in one SQLite file per model fingerprint (safe for concurrent readers)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        with self._connect() as db:
            rows = rows_where_in(db, "SELECT key, vec FROM vectors WHERE key IN ({marks})", keys)
            return {k: np.frombuffer(v, dtype=np.float32) for k, v in rows}

    def put(self, items: dict[str, np.ndarray]) -> None:
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                           [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()])


class SentenceEncoder:
    """Unit-length sentence embeddings (mean pooling) from a local encoder checkpoint, cached on disk."""

    def __init__(self, base: str | Path | None = None, max_length: int = 128, batch_size: int = 64,
                 cache: bool = True) -> None:
        from moderation.encoders import resolve_base

        self.base = base
        self.path = resolve_base(base)
        self.max_length, self.batch_size = max_length, batch_size
        self.fingerprint = hashlib.sha256(
            f"{checkpoint_fingerprint(self.path)}:mean:{max_length}".encode()).hexdigest()
        self.cache = EmbeddingCache(cache_dir() / f"{self.fingerprint[:32]}.sqlite") if cache else None
        self._memo: dict[str, np.ndarray] = {}
        self._model: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        from transformers import AutoModel, AutoTokenizer

        from moderation.encoders import use_all_cores

        quiet_transformers()
        use_all_cores()
        self._tokenizer = AutoTokenizer.from_pretrained(self.path)
        self._model = AutoModel.from_pretrained(self.path).eval()

    def _compute(self, texts: list[str]) -> np.ndarray:
        import torch

        from moderation.encoders import mean_pool

        if self._model is None:
            self._load()
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths pad least
        out = np.zeros((len(texts), self._model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode(), tqdm(total=len(texts), desc="embedding", unit=" texts", disable=None) as bar:
            for start in range(0, len(texts), self.batch_size):
                idx = order[start:start + self.batch_size]
                batch = self._tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                        max_length=self.max_length, return_tensors="pt")
                pooled = mean_pool(self._model(**batch).last_hidden_state, batch["attention_mask"])
                out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
                bar.update(len(idx))
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text (float32, ``len(texts)`` x hidden size)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
        found = {k: self._memo.pop(k) for k in dict.fromkeys(keys) if k in self._memo}  # re-inserted as newest
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing and self.cache is not None:
            found.update(self.cache.get(missing))
            missing = [k for k in missing if k not in found]
        if missing:
            first = dict(zip(keys, texts, strict=True))
            fresh = dict(zip(missing, self._compute([first[k] for k in missing]), strict=True))
            found.update(fresh)
            if self.cache is not None:
                self.cache.put(fresh)
        self._remember(found)
        return np.stack([found[k] for k in keys])

    def _remember(self, vectors: dict[str, np.ndarray]) -> None:
        """Keep recently used vectors in memory (a pool's exemplars are looked up every batch); the least
        recently used go first once ``MEMO_LIMIT`` is reached, so labeling millions of rows stays bounded."""
        self._memo.update(vectors)
        for key in list(itertools.islice(self._memo, max(0, len(self._memo) - MEMO_LIMIT))):
            del self._memo[key]


_ENCODERS: dict[str, SentenceEncoder] = {}


def get_encoder(base: str | Path | None = None) -> SentenceEncoder:
    """One encoder per checkpoint per process, shared by strategies and teachers (one model in memory)."""
    key = str(base)
    if key not in _ENCODERS:
        _ENCODERS[key] = SentenceEncoder(base)
    return _ENCODERS[key]
