"""Perturbed copies for a transfer set: texts near the training rows, labelled by the teacher alone.

A small student that sees only the training sentences learns their shortcuts: a whole phrasing, one
negation word, one violent verb. The teacher, pretrained on far more text, scores phrasings it never
trained on; a student learns to follow it there only if it sees the teacher's scores on such texts.
Each copy keeps a window of its source's words, or drops a few of them (n-gram sampling and masking,
Tang et al. 2019, "Distilling Task-Specific Knowledge from BERT into Simple Neural Networks"). A copy
may no longer mean what its source meant ("I would never hurt them" without "never"), so it carries no
gold label: its target is the teacher's score. It keeps its source's split and group, so it can never
cross into validation, test or audits.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence

from moderation.augment import distinct_copies
from moderation.data import row_key
from moderation.identities import groups_of, match_terms
from moderation.protocols import Record

PERTURB_VERSION = "1"
WINDOW_SHARE = 0.25  # share of copies that keep a window of words; the others drop words
DROP_RATE = 0.15     # each word's chance to be dropped
MAX_WINDOW = 48      # words: a student reads 64 tokens at most
MIN_WORDS = 4        # shorter texts get no copy: what is left says too little


def perturb(text: str, salt: str) -> str | None:
    """A window of ``text``'s words, or ``text`` with some words dropped (chosen by a hash of ``text`` and
    ``salt``, so every run makes the same copies); None for a text of under ``MIN_WORDS`` words."""
    words = text.split()
    if len(words) < MIN_WORDS:
        return None
    rng = random.Random(f"{salt}\0{text}")  # a str seed is hashed with SHA-512: stable across runs
    if rng.random() < WINDOW_SHARE:
        size = rng.randint(3, min(len(words) - 1, MAX_WINDOW))
        start = rng.randint(0, len(words) - size)
        return " ".join(words[start:start + size])
    kept = [w for w in words if rng.random() >= DROP_RATE]
    if len(kept) == len(words):
        del kept[rng.randrange(len(kept))]
    return " ".join(kept) if len(kept) >= 2 else None


def perturbed(records: Sequence[Record], copies: int, *, avoid: set[str] = frozenset()) -> list[Record]:
    """Up to ``copies`` perturbed copies of each record, unlabeled (toxicity NaN, label -1).

    ``avoid`` holds split keys a copy must not produce (the texts of validation, test and audits); a copy
    that equals one of them, a record or an earlier copy is dropped (``augment.distinct_copies``)."""
    out = []
    for record, n, text in distinct_copies(records, copies, lambda r, n: perturb(r.text, f"perturb{n}"), avoid):
        terms = match_terms(text)
        out.append(dataclasses.replace(record, id=f"{record.id}~p{n + 1}", text=text, toxicity=math.nan,
                                       label=-1, terms=terms, identities=groups_of(terms),
                                       source=f"{record.source}+perturb", group=record.group or row_key(record)))
    return out


def perturb_lineage(copies: int) -> dict[str, object]:
    return {"copies": copies, "version": PERTURB_VERSION}
