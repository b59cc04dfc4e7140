"""A fastText-style torch student: hashed word and character n-grams, an EmbeddingBag, a small MLP."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from moderation import hookimpl
from moderation.scoring import check_targets

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

WEIGHTS_FILE = "ngram_mlp.pt"
CONFIG_FILE = "ngram_mlp.json"


class NgramMlpStudent:
    """Hashed word + char n-grams -> EmbeddingBag -> MLP, distilled on soft targets with a temperature."""

    name = "ngram-mlp"

    def __init__(self, buckets: int = 2**16, dim: int = 32, hidden: int = 64, epochs: int = 8,
                 batch_size: int = 128, learning_rate: float = 5e-3, temperature: float = 1.0,
                 seed: int = 0) -> None:
        self.params = {"buckets": buckets, "dim": dim, "hidden": hidden, "epochs": epochs, "batch_size": batch_size,
                       "learning_rate": learning_rate, "temperature": temperature, "seed": seed}
        # Two hashing spaces share the buckets: whole words and bigrams catch slurs and phrases, character
        # n-grams catch obfuscated spellings ("f*ck", "idiiot") that a vocabulary would miss. Imported here:
        # every command imports this plugin to register it, and scikit-learn takes seconds to import.
        from sklearn.feature_extraction.text import HashingVectorizer

        self.words = HashingVectorizer(n_features=buckets, ngram_range=(1, 2), alternate_sign=False, norm=None)
        self.chars = HashingVectorizer(n_features=buckets, analyzer="char_wb", ngram_range=(3, 5),
                                       alternate_sign=False, norm=None)
        self.model = _network(buckets, dim, hidden, seed)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def _features(self, texts: Sequence[str]) -> csr_matrix:
        from scipy.sparse import csr_matrix, hstack

        x = hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr()
        x.sum_duplicates()
        # Each text's n-gram counts become weights summing to 1: an average of its n-gram embeddings.
        totals = np.asarray(x.sum(axis=1)).ravel()
        x = csr_matrix(x.multiply(1.0 / np.maximum(totals, 1.0)[:, None]))
        # Column i and column buckets + i are the same bucket: fold the two spaces onto one table.
        x.indices = x.indices % self.params["buckets"]
        return x

    def _logits(self, x: csr_matrix) -> Any:
        import torch

        indices = torch.from_numpy(x.indices.astype(np.int64))
        offsets = torch.from_numpy(x.indptr[:-1].astype(np.int64))
        weights = torch.from_numpy(x.data.astype(np.float32))
        return self.model(indices, offsets, weights)

    def fit(self, texts: Sequence[str], soft_targets: Sequence[float],
            sample_weight: Sequence[float] | None = None) -> NgramMlpStudent:
        import torch

        targets = check_targets(texts, soft_targets)
        p = self.params
        torch.manual_seed(p["seed"])
        rng = np.random.default_rng(p["seed"])
        features = self._features(list(texts))
        # Temperature T softens the targets: the student learns logit(p) / T and is scaled back by T.
        soft = torch.sigmoid(torch.logit(torch.tensor(targets).clamp(1e-4, 1 - 1e-4)) / p["temperature"]).float()
        weight = torch.ones(len(targets)) if sample_weight is None else torch.tensor(sample_weight).float()
        optimizer = torch.optim.Adam(self.model.parameters(), lr=p["learning_rate"])
        self.model.train()
        for _ in tqdm(range(p["epochs"]), desc="ngram-mlp", unit=" epoch", disable=None):
            order = rng.permutation(len(targets))
            for start in range(0, len(order), p["batch_size"]):
                batch = order[start : start + p["batch_size"]]
                logits = self._logits(features[batch]) / p["temperature"]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, soft[batch], weight=weight[batch]) * p["temperature"] ** 2
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        self.model.eval()
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros(0)
        with torch.inference_mode():
            return torch.sigmoid(self._logits(self._features(list(texts)))).double().numpy()

    def save(self, directory: Path) -> None:
        import torch

        # Half precision halves the file; scores move by ~1e-3 at most, far below any decision margin.
        torch.save({k: v.half() for k, v in self.model.state_dict().items()}, Path(directory) / WEIGHTS_FILE)
        (Path(directory) / CONFIG_FILE).write_text(json.dumps(self.params))

    @classmethod
    def load(cls, directory: Path) -> NgramMlpStudent:
        import torch

        student = cls(**json.loads((Path(directory) / CONFIG_FILE).read_text()))
        state = torch.load(Path(directory) / WEIGHTS_FILE, weights_only=True)
        student.model.load_state_dict({k: v.float() for k, v in state.items()})
        student.model.eval()
        return student


def _network(buckets: int, dim: int, hidden: int, seed: int) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class Network(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bag = nn.EmbeddingBag(buckets, dim, mode="sum")
            self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

        def forward(self, indices: Any, offsets: Any, weights: Any) -> Any:
            return self.mlp(self.bag(indices, offsets, per_sample_weights=weights)).squeeze(-1)

    return Network()


@hookimpl
def register_students(register):
    register(NgramMlpStudent)
