"""Perturbed copies for a transfer set: texts near the training rows, labelled by the teacher alone.

A small student that sees only the training sentences learns their shortcuts: a whole phrasing, one
negation word, one violent verb. The teacher, pretrained on far more text, scores phrasings it never
trained on; a student learns to follow it there only if it sees the teacher's scores on such texts.
Each copy keeps a window of its source's words, or drops a few of them (n-gram sampling and masking,
Tang et al. 2019, "Distilling Task-Specific Knowledge from BERT into Simple Neural Networks"). A copy
may no longer mean what its source meant ("I would never hurt them" without "never"), so it carries no
gold label: its target is the teacher's score. It keeps its source's split and group, so it can never
cross into validation, test or audits.

A ``neighbour`` copy keeps the sentence whole and swaps a quarter of its content words (at least one) for
words near them in the default encoder's word-embedding space ("savages" -> "brutal", "stealing" ->
"theft", "worst" -> "best"): the phrasings the student never saw but its teacher judges, with the words
around them kept (the word-replacement augmentation of the same paper, with embedding neighbours for
part-of-speech-guided ones). Stop words (negations among them) and identity terms stay as written.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
import re
from collections.abc import Sequence

from moderation.augment import distinct_copies
from moderation.data import row_key
from moderation.identities import groups_of, match_terms
from moderation.protocols import Record

PERTURB_VERSION = "1"
KINDS = ("fragment", "neighbour")  # a window of words or some dropped; content words swapped for neighbours
WINDOW_SHARE = 0.25  # share of copies that keep a window of words; the others drop words
DROP_RATE = 0.15     # each word's chance to be dropped
MAX_WINDOW = 48      # words: a student reads 64 tokens at most
MIN_WORDS = 4        # shorter texts get no copy: what is left says too little
SWAP_SHARE = 0.25    # of a neighbour copy's swappable words (at least one)
NEIGHBOURS = 5       # nearest words a swapped word is drawn from, other than its own forms ("kill", "killing"),
CANDIDATES = 25      # among this many nearest
_LETTERS = re.compile(r"([A-Za-z]+)")
_WORD_TOKEN = re.compile(r"[a-z]{3,}")


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


@functools.cache
def neighbour_table() -> dict[str, tuple[str, ...]]:
    """Each swappable word (a whole token of the default encoder's vocabulary: letters only, three or more,
    not a stop word or an identity term) and its ``NEIGHBOURS`` nearest swappable words by the cosine of
    the encoder's word embeddings that do not start with its first four letters (its own forms: "smash",
    "smashing"), ties by token id, so that every machine makes the same table."""
    import numpy as np
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    from transformers import AutoTokenizer

    from moderation.encoders import default_encoder_path, word_embeddings

    base = default_encoder_path()
    vocab = AutoTokenizer.from_pretrained(base).get_vocab()
    words = sorted((w for w in vocab if _WORD_TOKEN.fullmatch(w) and w not in ENGLISH_STOP_WORDS
                    and not match_terms(w)), key=vocab.get)
    vectors = word_embeddings(base).numpy()[[vocab[w] for w in words]]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = {}
    for start in range(0, len(words), 2048):
        similar = np.round(vectors[start : start + 2048] @ vectors.T, 4)  # rounded: BLAS noise breaks no tie
        top = np.argpartition(-similar, CANDIDATES, axis=1)[:, :CANDIDATES]
        for i, row in enumerate(top):
            word = words[start + i]
            row = row[np.lexsort((row, -similar[i, row]))]  # nearest first, ties by token order
            table[word] = tuple([words[j] for j in row if words[j][:4] != word[:4]][:NEIGHBOURS])
    return table
    return table


def swap_neighbours(text: str, salt: str) -> str | None:
    """``text`` with a quarter of its swappable words (at least one) replaced by one of their neighbours,
    capitals kept (chosen by a hash of ``text`` and ``salt``); None for a text with no swappable word."""
    table = neighbour_table()
    parts = _LETTERS.split(text)  # words at the odd positions, whatever lies between them at the even ones
    swappable = [i for i in range(1, len(parts), 2) if table.get(parts[i].lower())]
    if not swappable:
        return None
    rng = random.Random(f"{salt}\0{text}")
    for i in sorted(rng.sample(swappable, max(1, round(len(swappable) * SWAP_SHARE)))):
        word = rng.choice(table[parts[i].lower()])
        parts[i] = word.upper() if parts[i].isupper() and len(parts[i]) > 1 else (
            word.capitalize() if parts[i][0].isupper() else word)
    return "".join(parts)


def perturbed(records: Sequence[Record], copies: int, *, avoid: set[str] = frozenset(),
              kind: str = "fragment") -> list[Record]:
    """Up to ``copies`` perturbed copies of each record, unlabeled (toxicity NaN, label -1), of ``kind``
    (``KINDS``: ``perturb`` or ``swap_neighbours``).

    ``avoid`` holds split keys a copy must not produce (the texts of validation, test and audits); a copy
    that equals one of them, a record or an earlier copy is dropped (``augment.distinct_copies``)."""
    rewrite = perturb if kind == "fragment" else swap_neighbours
    out = []
    for record, n, text in distinct_copies(records, copies, lambda r, n: rewrite(r.text, f"perturb{n}"), avoid):
        terms = match_terms(text)
        out.append(dataclasses.replace(record, id=f"{record.id}~p{n + 1}", text=text, toxicity=math.nan,
                                       label=-1, terms=terms, identities=groups_of(terms),
                                       source=f"{record.source}+perturb", group=record.group or row_key(record)))
    return out


def perturb_lineage(copies: int, kind: str = "fragment") -> dict[str, object]:
    return {"copies": copies, "version": PERTURB_VERSION, **({"kind": kind} if kind != "fragment" else {})}
