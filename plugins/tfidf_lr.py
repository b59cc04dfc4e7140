"""TF-IDF + logistic regression student, trained on soft targets."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from moderation import hookimpl
from moderation.errors import InputError
from moderation.scoring import check_targets

MODEL_FILE = "tfidf_lr.skops"
PICKLED_FILE = "tfidf_lr.joblib"  # what earlier versions wrote (a pickle)


class TfidfLogisticStudent:
    """Word and character n-gram TF-IDF + logistic regression on soft targets (sub-millisecond)."""

    name = "tfidf-lr"

    def __init__(self, C: float = 4.0, max_features: int = 200_000, min_df: int = 1, seed: int = 0) -> None:
        self.params = {"C": C, "max_features": max_features, "min_df": min_df, "seed": seed}
        # scikit-learn and skops are imported where used: every command imports this plugin to register it,
        # and importing them takes seconds, which a command that never builds this model should not pay.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        self.pipeline = make_pipeline(
            FeatureUnion([
                ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, max_features=max_features,
                                         sublinear_tf=True, lowercase=True)),
                ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=min_df,
                                         max_features=max_features, sublinear_tf=True, lowercase=True)),
            ]),
            LogisticRegression(C=C, max_iter=2000, random_state=seed),
        )

    def fit(
        self,
        texts: Sequence[str],
        soft_targets: Sequence[float],
        sample_weight: Sequence[float] | None = None,
    ) -> TfidfLogisticStudent:
        # A soft target p becomes the row twice, labeled 1 with weight p and 0 with weight 1 - p:
        # the weighted log-loss then equals cross-entropy against p itself.
        targets = check_targets(texts, soft_targets)
        base = np.ones_like(targets) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        doubled = list(texts) + list(texts)
        labels = np.r_[np.ones_like(targets), np.zeros_like(targets)]
        weights = np.r_[targets * base, (1 - targets) * base]
        keep = weights > 0
        if len(set(labels[keep])) < 2:
            raise InputError("soft targets are all 0 or all 1: a scorer needs both toxic and non-toxic examples")
        self.pipeline.fit(
            [t for t, k in zip(doubled, keep, strict=True) if k], labels[keep],
            logisticregression__sample_weight=weights[keep],
        )
        return self

    @property
    def n_parameters(self) -> int:
        model = self.pipeline[-1]
        return int(model.coef_.size + model.intercept_.size) if hasattr(model, "coef_") else 0

    def score(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        return self.pipeline.predict_proba(list(texts))[:, 1]

    def save(self, directory: Path) -> None:
        # skops, not joblib: loading a skops file builds only the types it trusts and never runs pickled code.
        # Each vocabulary goes as one JSON string of its terms in column order: skops writes a dict as one
        # schema node per entry, and the demo model's 79,000 terms then took 20-50 s to write and to read.
        import sklearn
        import skops.io

        vectorizers = [vectorizer for _, vectorizer in self.pipeline[0].transformer_list]
        vocabularies = [_terms_in_column_order(v.vocabulary_) for v in vectorizers]
        for vectorizer in vectorizers:
            del vectorizer.vocabulary_
        try:
            skops.io.dump({"pipeline": self.pipeline, "params": self.params, "sklearn": sklearn.__version__,
                           "vocabularies": [json.dumps(terms, ensure_ascii=False) for terms in vocabularies]},
                          Path(directory) / MODEL_FILE, compression=zipfile.ZIP_DEFLATED)
        finally:
            for vectorizer, terms in zip(vectorizers, vocabularies, strict=True):
                vectorizer.vocabulary_ = {term: i for i, term in enumerate(terms)}

    @staticmethod
    def warm_up() -> None:
        """Import what ``load`` needs (scikit-learn, scipy, skops: seconds on a small machine) before a server
        takes requests, so that promoting a model of this kind does not stall a request in every worker."""
        import sklearn.feature_extraction.text  # noqa: F401
        import sklearn.linear_model  # noqa: F401
        import sklearn.pipeline  # noqa: F401
        import skops.io  # noqa: F401

    @classmethod
    def load(cls, directory: Path) -> TfidfLogisticStudent:
        import skops.io

        path = Path(directory) / MODEL_FILE
        if not path.is_file() and (Path(directory) / PICKLED_FILE).is_file():
            raise ValueError(f"{directory} holds a tfidf-lr model in the old pickle format, which could run code "
                             "when loaded; train it again with this version (`moderation distill ...`)")
        try:
            untrusted = skops.io.get_untrusted_types(file=path)
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{path} is not a skops file ({exc}); it is damaged or was replaced") from exc
        if untrusted:
            raise ValueError(f"{path} holds types a tfidf-lr model never has ({', '.join(untrusted)}); "
                             "it was not written by this plugin, so it is not loaded")
        state = skops.io.load(path)
        student = cls(**state["params"])
        student.pipeline = state["pipeline"]
        if "vocabularies" in state:  # files written before they moved out keep them inside the pipeline
            for (_, vectorizer), terms in zip(student.pipeline[0].transformer_list, state["vocabularies"],
                                              strict=True):
                vectorizer.vocabulary_ = {term: i for i, term in enumerate(json.loads(terms))}
        return student


def _terms_in_column_order(vocabulary: dict[str, int]) -> list[str]:
    terms = [""] * len(vocabulary)
    for term, column in vocabulary.items():
        terms[column] = term
    return terms


@hookimpl
def register_students(register):
    register(TfidfLogisticStudent)
