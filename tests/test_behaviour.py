"""The behaviour data set, the behaviour audit, counterfactual augmentation and thresholds from data."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

from moderation.augment import counterfactuals, swap
from moderation.data import HELD_OUT, load, make_record
from moderation.fairness import wilson
from moderation.policy import Policy, choose, recommended
from moderation_plugins.behaviour import category_of, category_passes, evade, template_passes
from moderation_plugins.behaviour_audit import BehaviourAudit

CATEGORIES = {"identity_benign", "self_identification", "derogation", "dehumanisation", "threat", "exclusion",
              "negated_attack", "counter_speech", "profanity_untargeted", "insult_person",
              "friendly_second_person", "evasion", "question_attack", "negated_praise", "profane_praise",
              "nonhuman_target", "pronoun_attack", "pronoun_benign", "question_benign"}


@pytest.fixture(scope="module")
def behaviour():
    return load("behaviour")


def test_every_category_has_train_and_held_out_templates(behaviour):
    seen = Counter((category_of(r), r.split) for r in behaviour.records)
    assert {c for c, _ in seen} == CATEGORIES
    for category in CATEGORIES:
        assert seen[(category, "train")] > 0 and seen[(category, HELD_OUT)] > 0, category
    assert behaviour.report.duplicate_texts == 0


def test_whole_templates_are_held_out(behaviour):
    splits: dict[str, set[str]] = {}
    for r in behaviour.records:
        splits.setdefault(r.group, set()).add(r.split)
    assert all(len(s) == 1 for s in splits.values())
    held = {g for g, s in splits.items() if s == {HELD_OUT}}
    assert 0.2 < len(held) / len(splits) < 0.35


def test_labels_follow_the_category(behaviour):
    toxic = {"derogation", "dehumanisation", "threat", "exclusion", "insult_person", "evasion", "question_attack",
             "negated_praise", "pronoun_attack"}
    assert all(r.label == (category_of(r) in toxic) for r in behaviour.records)


def twin_openings(records, categories, key, opening):
    """{key(row): {category: {(opening(text), split)}}} over the rows of two twinned categories."""
    found = {}
    for r in records:
        category = category_of(r)
        if category in categories:
            found.setdefault(key(r), {}).setdefault(category, set()).add((opening(r.text), r.split))
    return found


def test_pronoun_pairs_share_their_first_sentence_and_their_split(behaviour):
    """Only the second sentence tells a pronoun attack from its benign twin, and a held-out twin's first
    sentence is in no training row of the other category."""
    first = twin_openings(behaviour.records, ("pronoun_attack", "pronoun_benign"),
                          lambda r: r.id.split("-", 2)[2], lambda text: text.split(". ")[0])  # template and identity
    assert len(first) == 32 * 44
    assert all(pair["pronoun_attack"] == pair["pronoun_benign"] for pair in first.values())


def test_question_twins_share_their_opening_words_and_their_split(behaviour):
    """A benign question about a group opens as the attack asked as a question of its index does, and lands in
    the same split, so that a held-out attack's benign twin never trains a model."""
    opening = twin_openings(behaviour.records, ("question_attack", "question_benign"),
                            lambda r: r.id.split("-")[2], lambda text: text.split(" ")[0])  # template
    assert len(opening) == 32
    assert all(pair["question_attack"] == pair["question_benign"] for pair in opening.values())


def test_identity_templates_name_many_people(behaviour):
    """A name beside an identity varies across the identities, so a name cannot stand for an answer."""
    named = [r for r in behaviour.records
             if r.group == "behaviour/identity_benign/64"]  # "{name} is {adj} and one of the kindest ..."
    first_words = {r.text.split(" ")[0] for r in named}
    assert len(named) == 44 and len(first_words) >= 30
    assert not any("{" in r.text for r in behaviour.records)


def test_evasion_respells_only_the_attack_words():
    assert evade("Kill all Muslims.", ["kill"], 0) == "k1ll all Muslims."
    assert evade("Kill all Muslims.", ["kill"], 1) == "k i l l all Muslims."
    assert evade("Kill all Muslims.", ["kill"], 2) == "k.i.l.l all Muslims."


def test_behaviour_audit_counts_passes_per_category(behaviour):
    class Fixed:
        name = "fixed"

        def score(self, texts):  # flags everything: toxic categories pass, benign ones fail
            return np.ones(len(texts))

    slice_ = behaviour.split(HELD_OUT, "audit")
    result = BehaviourAudit(threshold=0.5).run({"fixed": Fixed()}, {"behaviour": slice_})
    rates = {r["category"]: r["pass_rate"] for r in result.tables["categories"]}
    assert rates["threat"] == 1.0 and rates["counter_speech"] == 0.0
    assert result.summary["min_behaviour_pass_rate"] == 0.0
    toxic_share = np.mean([r.label for r in slice_])
    assert result.summary["behaviour_pass_rate"] == pytest.approx(toxic_share)


def test_category_passes_count_rows_right_at_the_threshold_per_category():
    rows = [make_record("t1", "a", 1, group="behaviour/threat/0"),
            make_record("n1", "b", 0, group="behaviour/negated_attack/0"),
            make_record("t2", "c", 1, group="behaviour/threat/1"), make_record("d1", "d", 1, source="davidson"),
            make_record("n2", "e", 0, group="behaviour/negated_attack/4")]
    passes = category_passes(rows, np.array([0.9, 0.7, 0.4, 0.1, 0.2]), 0.5)
    assert list(passes.items()) == [("threat", (1, 2)), ("negated_attack", (1, 2))]  # first seen; davidson left out
    per_template = template_passes(rows, np.array([0.9, 0.7, 0.4, 0.1, 0.2]), 0.5)
    assert per_template == {"threat": {"behaviour/threat/0": (1, 1), "behaviour/threat/1": (0, 1)},
                            "negated_attack": {"behaviour/negated_attack/0": (0, 1),
                                               "behaviour/negated_attack/4": (1, 1)}}


def test_behaviour_audit_intervals_count_templates_not_rows(behaviour):
    """A scorer that fails whole templates: its interval must be as wide as the templates allow, not
    as narrow as the rows would claim."""
    slice_ = [r for r in behaviour.split(HELD_OUT, "audit") if category_of(r) == "threat"]
    failed = sorted({r.group for r in slice_})[::3]  # a third of the templates fail whole, the rest pass whole
    fails = {r.text: r.group in failed for r in slice_}

    class TemplateWise:
        name = "template-wise"

        def score(self, texts):
            return np.array([0.0 if fails[t] else 1.0 for t in texts])

    row, = BehaviourAudit(threshold=0.5).run({"m": TemplateWise()}, {"behaviour": slice_}).tables["categories"]
    templates = {r.group for r in slice_}
    assert row["templates"] == len(templates) and row["rows"] == len(slice_) > 5 * len(templates)
    assert 0 < row["pass_rate"] < 1
    row_wise = wilson(row["passed"], row["rows"])
    assert row["pass_high"] - row["pass_low"] > 2 * (row_wise[1] - row_wise[0])


def test_identity_swaps_keep_label_split_and_group():
    record = make_record("r1", "Muslims are my neighbours and Jews too", 0.0, terms=("muslims", "jews"))
    record = dataclasses.replace(record, split="train")
    copies = counterfactuals([record], copies=2)
    assert 1 <= len(copies) <= 2
    for copy in copies:
        assert copy.label == record.label and copy.split == record.split and copy.group
        assert "Muslims" not in copy.text and copy.text.endswith("too")
    assert swap("no identity here", (), "copy0") is None


def test_swapped_copy_never_equals_a_held_out_text():
    record = make_record("r", "I like gays", 0.0, terms=("gays",))
    target = swap(record.text, record.terms, "copy0")
    assert counterfactuals([record], 1, avoid={"i like " + target.split()[-1].lower()}) == []


def test_policy_from_validation_scores():
    labels = np.array([0] * 80 + [1] * 20)
    scores = np.concatenate([np.linspace(0, 0.5, 80), np.linspace(0.4, 1.0, 20)])
    policy = choose(scores, labels, review_recall=0.9, block_precision=0.95)
    flagged = scores >= policy["review"]
    assert flagged[labels == 1].mean() >= 0.9
    assert labels[scores >= policy["block"]].mean() >= 0.95
    assert policy["review"] <= policy["block"]


def test_the_default_rule_leaves_a_review_band_where_review_is_already_precise():
    # as on the pooled validation split, precision at the review threshold is already above 0.95: a
    # 0.95 rule blocks all but one flagged row; the default 0.99 leaves the uncertain ones to a human
    labels = np.array([0] * 60 + [1] * 100)
    scores = np.concatenate([np.linspace(0.0, 0.53, 60), np.linspace(0.45, 1.0, 100)])

    def in_band(policy: dict) -> int:
        return int(((scores >= policy["review"]) & (scores < policy["block"])).sum())

    assert in_band(choose(scores, labels, block_precision=0.95)) == 1
    policy = choose(scores, labels)
    assert in_band(policy) == 9 and labels[scores >= policy["block"]].mean() >= 0.99
    assert policy["review_share"] == 9 / (scores >= policy["review"]).sum()


def test_explicit_thresholds_beat_the_models_policy():
    assert recommended({"review": 0.3, "block": 0.8}) == Policy(0.3, 0.8)
    assert recommended({"review": 0.3, "block": 0.8}, review=0.6) == Policy(0.6, 0.8)
    assert recommended({}) == Policy()
