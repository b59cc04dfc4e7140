"""The k-nearest-neighbour few-shot strategy: per comment, the most similar labeled examples."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from moderation import hookimpl
from moderation.embeddings import get_encoder
from moderation.exemplars import ExemplarPool, ExemplarStrategy, check_k, nearest_exemplars
from moderation.protocols import Record


class KnnFewShot(ExemplarStrategy):
    """Per comment, the k most similar labeled exemplars by all-MiniLM-L6-v2 embedding (balanced by label).

    Deterministic: ``seed`` is accepted like every strategy's but not needed (ties go to the earlier row of
    the canonical pool order). ``balanced=False`` takes the k nearest whatever their label; ``encoder`` is a
    local checkpoint to measure similarity with (default all-MiniLM-L6-v2).
    """

    name = "knn-few-shot"
    default_k = 8

    def __init__(self, k: int | None = None, seed: int = 0, balanced: bool = True, encoder: str | None = None,
                 **template: Any) -> None:
        super().__init__(k, seed, **template)
        self.balanced, self.encoder = bool(balanced), encoder
        self._index: tuple[str, np.ndarray, np.ndarray] | None = None

    @property
    def params(self) -> dict[str, Any]:
        return {**super().params, "balanced": self.balanced, "encoder": self.encoder}

    def select(self, queries: Sequence[str], pool: ExemplarPool) -> list[list[Record]]:
        check_k(self.k, len(pool))  # before loading the encoder or embedding anything
        encoder = get_encoder(self.encoder)
        if self._index is None or self._index[0] != pool.key:  # embed a pool once, however many batches follow
            self._index = (pool.key, encoder.embed([r.text for r in pool]), np.array([r.label for r in pool]))
        _, vectors, labels = self._index
        rows = nearest_exemplars(encoder.embed(list(queries)), vectors, labels, self.k, self.balanced)
        return [[pool[i] for i in idx] for idx in rows]


@hookimpl
def register_prompt_strategies(register):
    register(KnnFewShot)
