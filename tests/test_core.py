"""Policy, splits, the demo data and the tfidf-lr student."""

from __future__ import annotations

import random

import numpy as np
import pytest

from moderation.data import FRACTIONS, fingerprint, load_records
from moderation.identities import GROUPS
from moderation.policy import Policy
from moderation.protocols import Exemplar, Prompt, Student
from moderation.scoring import check_scores
from moderation.splits import assign_split, normalize, split_key
from moderation_plugins.tfidf_lr import TfidfLogisticStudent


@pytest.mark.parametrize(("score", "decision"), [(0.0, "allow"), (0.49, "allow"), (0.5, "review"),
                                                 (0.89, "review"), (0.9, "block"), (1.0, "block")])
def test_policy_boundaries(score, decision):
    assert Policy(review=0.5, block=0.9).decide(score) == decision


@pytest.mark.parametrize(("review", "block"), [(0.9, 0.5), (-0.1, 0.5), (0.5, 1.5)])
def test_policy_rejects_inconsistent_thresholds(review, block):
    with pytest.raises(ValueError, match="thresholds"):
        Policy(review=review, block=block)


def test_splits_are_by_content_not_row_order():
    texts = [f"comment {i}" for i in range(4000)]
    first = {t: assign_split(split_key(t), FRACTIONS) for t in texts}
    random.Random(1).shuffle(texts)
    assert first == {t: assign_split(split_key(t), FRACTIONS) for t in texts}
    shares = np.mean([[first[t] == s for s in FRACTIONS] for t in first], axis=0)
    assert np.allclose(shares, list(FRACTIONS.values()), atol=0.03)  # the fractions the data layer uses


def test_split_salt_reshuffles_and_bad_fractions_fail():
    texts = [f"comment {i}" for i in range(200)]
    assert [assign_split(t, FRACTIONS) for t in texts] != [assign_split(t, FRACTIONS, salt="other") for t in texts]
    with pytest.raises(ValueError):
        assign_split("x", {"train": -1.0, "test": 1.0})
    assert normalize("  A--b  ") == "a b"


@pytest.mark.parametrize("variant", [
    "RT @someone: Hello,   WORLD! http://t.co/abc", "hello world", "@a @b hello world www.example.com",
    "Hello &amp;amp; world", "HELLO... world!!!", "rt hello world",
])
def test_split_key_ignores_what_does_not_change_meaning(variant):
    assert split_key(variant) == "hello world"


def test_split_key_keeps_words():
    assert split_key("art is smart") == "art is smart"  # "rt" only as a word
    assert split_key("email me at bob@example.com") != split_key("email me at")


def test_demo_data_is_canonical_and_fingerprinted():
    records = load_records("demo")
    assert len(records) == 1491  # 1,493 rows, two of them retweets of others: one split key, first kept
    labeled = [r for r in records if r.split != "unlabeled"]
    assert all(0.0 <= r.toxicity <= 1.0 and r.label == int(r.toxicity >= 0.5) for r in labeled)
    assert all(r.label == -1 for r in records if r.split == "unlabeled")
    assert {r.split for r in records} == {"train", "validation", "test", "unlabeled", "audit"}
    groups = {g for r in records for g in r.identities}
    assert groups <= set(GROUPS) and "homosexual_gay_or_lesbian" in groups
    assert any(r.identities for r in records) and len({r.id for r in records}) == len(records)
    assert fingerprint(records) == fingerprint(list(reversed(records)))
    assert fingerprint(records) != fingerprint(records[1:])


def test_tfidf_learns_from_soft_targets_not_thresholds():
    texts = ["you idiot", "idiot", "nice day", "lovely day", "mild jerk", "jerk"]
    soft = [0.95, 0.9, 0.05, 0.0, 0.45, 0.4]  # "jerk" is below 0.5: a thresholded label would say clean
    model = TfidfLogisticStudent(C=10.0).fit(texts, soft)
    assert isinstance(model, Student)
    idiot, day, jerk = model.score(["idiot", "day", "jerk"])
    assert idiot > jerk > day


@pytest.mark.parametrize(("targets", "message"), [([0.5, np.nan], "probabilities"), ([1.0, 1.0], "all 0 or all 1"),
                                                  ([0.2], "as many targets")])
def test_tfidf_rejects_bad_targets(targets, message):
    with pytest.raises(ValueError, match=message):
        TfidfLogisticStudent().fit(["a b", "c d"], targets)


def test_check_scores_catches_nan_and_range():
    assert check_scores([0.1, 1.0], 2, "m").tolist() == [0.1, 1.0]
    for bad in ([0.1, np.nan], [0.1, 1.2], [-0.1, 0.2]):
        with pytest.raises(ValueError, match="invalid scores"):
            check_scores(bad, 2, "m")
    with pytest.raises(ValueError, match="returned 1 scores for 2 texts"):
        check_scores([0.1], 2, "m")


def test_prompt_renders_exactly():
    prompt = Prompt("Is the comment toxic?", (Exemplar("peach", "drupe"), Exemplar("apple", "pome")), "apricot")
    assert prompt.render() == ("Is the comment toxic?\n\nComment: peach\nLabel: drupe\n\n"
                               "Comment: apple\nLabel: pome\n\nComment: apricot\nLabel:")
