"""An example third-party student: it reaches the host only through its entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.special import expit, logit
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDRegressor

from moderation import hookimpl

FEATURES = 2**18


class HashingSgdStudent:
    """Hashed word n-grams + SGD regression on the logit of the soft target (no vocabulary kept)."""

    name = "hashing-sgd"

    def __init__(self, alpha: float = 1e-5, seed: int = 0) -> None:
        self.alpha, self.seed = alpha, seed
        self.vectorizer = HashingVectorizer(n_features=FEATURES, ngram_range=(1, 2), alternate_sign=False)
        self.model = SGDRegressor(alpha=alpha, random_state=seed, max_iter=50, tol=None)

    def fit(self, texts, soft_targets, sample_weight=None):
        targets = logit(np.clip(np.asarray(soft_targets, dtype=float), 0.02, 0.98))
        self.model.fit(self.vectorizer.transform(texts), targets, sample_weight=sample_weight)
        return self

    def score(self, texts):
        return expit(self.model.predict(self.vectorizer.transform(list(texts))))

    def save(self, directory):
        state = {"alpha": self.alpha, "seed": self.seed, "intercept": self.model.intercept_.tolist()}
        (Path(directory) / "state.json").write_text(json.dumps(state))
        np.save(Path(directory) / "coef.npy", self.model.coef_)

    @classmethod
    def load(cls, directory):
        state = json.loads((Path(directory) / "state.json").read_text())
        student = cls(alpha=state["alpha"], seed=state["seed"])
        student.model.coef_ = np.load(Path(directory) / "coef.npy")
        student.model.intercept_ = np.asarray(state["intercept"])
        return student


@hookimpl
def register_students(register):
    register(HashingSgdStudent)
