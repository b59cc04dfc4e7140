"""Deterministic splits by content hash: a text lands in the same split whatever the row order."""

from __future__ import annotations

import hashlib
import re

DEFAULT_FRACTIONS: dict[str, float] = {"train": 0.7, "validation": 0.1, "test": 0.2}
_NON_WORD = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """Case-folded, runs of non-letters/digits (in any script) collapsed: near-identical texts share a hash."""
    return _NON_WORD.sub(" ", text.casefold()).strip()


def text_hash(text: str) -> str:
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def assign_split(text: str, fractions: dict[str, float] = DEFAULT_FRACTIONS, salt: str = "") -> str:
    """The split a text belongs to, from its normalized content hash (``salt`` reshuffles)."""
    total = sum(fractions.values())
    if total <= 0 or any(f < 0 for f in fractions.values()):
        raise ValueError(f"split fractions must be non-negative and sum above 0: {fractions}")
    digest = hashlib.sha256((salt + "\0" + normalize(text)).encode("utf-8")).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * total
    for name, fraction in fractions.items():
        if point < fraction:
            return name
        point -= fraction
    return next(reversed(fractions))
