"""Perturbed copies of transfer rows: deterministic, unlabeled, on their source's side of every split."""

from __future__ import annotations

import dataclasses
import math
import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from moderation.data import make_record
from moderation.identities import match_terms
from moderation.perturbation import MIN_WORDS, NEIGHBOURS, neighbour_table, perturb, perturbed, swap_neighbours
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


def test_neighbours_are_near_words_not_forms_of_the_word_stop_words_or_identity_terms():
    table = neighbour_table()
    assert "kill" in table and "murder" in table["kill"] and not {"kills", "killing"} & set(table["kill"])
    assert "dumb" in table["stupid"]
    assert all(len(near) <= NEIGHBOURS for near in table.values())
    assert not ({"not", "never", "no", "all"} & set(table))  # negations and quantifiers stay as written
    assert not [w for w in table if match_terms(w)]  # identity terms stay: swapping groups is augment's job
    assert not [w for near in table.values() for w in near if w in ENGLISH_STOP_WORDS or match_terms(w)]


def test_a_neighbour_copy_swaps_some_content_words_and_keeps_the_rest_as_written():
    text = "Gay people are NOT animals, and I would never hurt them."
    copies = [swap_neighbours(text, f"perturb{n}") for n in range(30)]
    assert copies == [swap_neighbours(text, f"perturb{n}") for n in range(30)]
    assert len(set(copies)) > 5
    table = neighbour_table()
    source = re.split(r"([A-Za-z]+)", text)
    for copy in copies:
        parts = re.split(r"([A-Za-z]+)", copy)
        assert len(parts) == len(source) and parts[0::2] == source[0::2]  # punctuation and spaces kept
        changed = [(a, b) for a, b in zip(source[1::2], parts[1::2], strict=True) if a != b]
        assert 1 <= len(changed) <= 2
        for old, new in changed:
            assert new.lower() in table[old.lower()]
            assert new[0].isupper() == old[0].isupper() and new.isupper() == old.isupper()
        assert parts[1] == "Gay" and parts[7] == "NOT" and "never" in parts


def test_a_text_with_no_content_word_gets_no_neighbour_copy():
    assert swap_neighbours("I am not the one who is", "perturb0") is None
    record = make_record("r", "Muslims and Jews, all of them.", 0.0)
    assert perturbed([record], 2, kind="neighbour") == []
