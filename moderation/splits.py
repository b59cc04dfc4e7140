"""Deterministic splits by content hash: a text lands in the same split whatever the row order.

Two normalisations. ``normalize`` (case and punctuation) keys the prediction cache: texts that differ
only there score alike. ``split_key`` goes further and removes what does not change a comment's meaning
to a moderator (retweet markers, @mentions, URLs, HTML entities), so that copies of one comment can
never sit in two splits (a retweet in train, its original in test).
"""

from __future__ import annotations

import hashlib
import html
import re

SPLIT_PLAN_VERSION = "2"  # bump whenever split_key or the fractions change: manifests record it
_NON_WORD = re.compile(r"[\W_]+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_MENTION = re.compile(r"(?<!\w)@\w+")
_RETWEET = re.compile(r"(?<!\w)rt(?!\w)\s*:?", re.I)


def normalize(text: str) -> str:
    """Case-folded, runs of non-letters/digits (in any script) collapsed: near-identical texts share a hash."""
    return _NON_WORD.sub(" ", text.casefold()).strip()


def split_key(text: str) -> str:
    """``normalize`` after decoding HTML entities and dropping RT markers, @mentions and URLs."""
    text = html.unescape(html.unescape(text))  # tweets carry double-escaped entities (&amp;#8220;)
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    return normalize(_RETWEET.sub(" ", text))


def text_hash(text: str) -> str:
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def hash_point(key: str, salt: str = "") -> float:
    """A uniform point in [0, 1) for ``key``: the same key always gets the same point."""
    digest = hashlib.sha256(f"{salt}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_split(key: str, fractions: dict[str, float], salt: str = "") -> str:
    """The split of a row whose split key (``split_key`` of its text, or its group) is ``key``."""
    total = sum(fractions.values())
    if total <= 0 or any(f < 0 for f in fractions.values()):
        raise ValueError(f"split fractions must be non-negative and sum above 0: {fractions}")
    point = hash_point(key, salt) * total
    for name, fraction in fractions.items():
        if point < fraction:
            return name
        point -= fraction
    return next(reversed(fractions))
