"""Access to data sets through their plugins, and fingerprints of what a model was trained on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from moderation.plugins import get_registry
from moderation.protocols import Dataset, Record
from moderation.splits import text_hash


def get_dataset(name: str, **params) -> Dataset:
    return get_registry().create("dataset", name, **params)


def load_records(name: str, split: str | None = None, **params) -> list[Record]:
    """All records of a data set, or those of one split."""
    return [r for r in get_dataset(name, **params).records() if split is None or r.split == split]


def fingerprint(records: Iterable[Record]) -> str:
    """Order-independent hash of (text, toxicity) pairs: the identity of a training set."""
    digest = hashlib.sha256()
    for key in sorted(f"{text_hash(r.text)}:{r.toxicity:.6f}" for r in records):
        digest.update(key.encode() + b"\n")
    return digest.hexdigest()
