"""Perturbed copies of transfer rows: deterministic, unlabeled, on their source's side of every split."""

from __future__ import annotations

import dataclasses
import math

from moderation.data import make_record
from moderation.perturbation import MIN_WORDS, perturb, perturbed
from moderation.splits import split_key

TEXT = "I would never hurt anyone who lives on our street, no matter where they come from"


def test_a_copy_keeps_a_window_or_drops_words_the_same_way_every_run():
    copies = [perturb(TEXT, f"perturb{n}") for n in range(40)]
    assert copies == [perturb(TEXT, f"perturb{n}") for n in range(40)]
    words = TEXT.split()
    for copy in copies:
        kept = copy.split()
        assert 2 <= len(kept) < len(words)
        position = iter(words)  # the kept words appear in their original order
        assert all(w in position for w in kept)
    assert len(set(copies)) > 20  # the salt changes the copy
    assert any(c in TEXT for c in copies)  # some copies are windows
    assert any(c not in TEXT for c in copies)  # others dropped inner words


def test_short_texts_get_no_copy():
    assert perturb(" ".join(["word"] * (MIN_WORDS - 1)), "perturb0") is None


def test_copies_carry_no_gold_label_and_keep_split_and_group():
    record = dataclasses.replace(make_record("r1", TEXT, 0.0, source="demo"), split="train")
    copies = perturbed([record], copies=3)
    assert 1 <= len(copies) <= 3
    for copy in copies:
        assert copy.label == -1 and math.isnan(copy.toxicity)
        assert copy.split == "train" and copy.group == copies[0].group != ""
        assert copy.source == "demo+perturb"
        assert copy.id.startswith("r1~p")


def test_a_copy_never_equals_a_text_to_avoid():
    record = make_record("r", TEXT, 1.0)
    first = perturb(TEXT, "perturb0")
    assert perturbed([record], 1, avoid={split_key(first)}) == []
    assert [c.text for c in perturbed([record], 1)] == [first]
