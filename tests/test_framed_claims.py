"""The framed-claims data set: claims about groups in frames drawn from pools, labelled where the construction
decides the label."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from moderation.data import UNLABELED, load
from moderation_plugins.behaviour import TEMPLATES, template_role
from moderation_plugins.framed_claims import FRAMED_CLAIMS, frame_pools, generate, picks, templates
from moderation_plugins.phrasings import held_out_runs, shares_a_run

SPEC = json.loads(FRAMED_CLAIMS.read_text(encoding="utf-8"))
BEHAVIOUR = json.loads(TEMPLATES.read_text(encoding="utf-8"))


def test_rows_the_construction_labels_train_the_others_are_unlabelled_and_each_load_is_the_same():
    first, second = load("framed-claims"), load("framed-claims")
    assert len(first.records) > 5000
    assert {(r.split, r.label) for r in first.records} == {("train", 0), ("train", 1), (UNLABELED, -1)}
    assert [(r.id, r.label) for r in first.records] == [(r.id, r.label) for r in second.records]
    labels = {r.text: r.label for r in first.records}
    assert sum(v == -1 for v in labels.values()) > 400 and sum(v == 1 for v in labels.values()) > 1500


def test_each_row_is_buried_or_not_by_its_own_hash():
    from moderation.burying import BURIED_SOURCE
    from moderation.distill import transfer_records

    data = load("framed-claims")
    # the rows once shared a record group per split, so every hashed choice took all of them or none
    assert not any(r.group for r in data.records)
    rows = transfer_records(data, bury=0.2, bury_unlabeled=0.5)
    buried = Counter(r.label for r in rows if r.source.endswith(BURIED_SOURCE))
    attacks, unlabelled = (sum(r.label == k for r in data.records) for k in (1, -1))
    assert 0.1 < buried[1] / attacks < 0.3 and 0.35 < buried[-1] / unlabelled < 0.65


def one_frame_each(**frames: str) -> dict:
    """SPEC with one frame per framing, so that every claim is put in exactly these."""
    reported = {"reporters": ["My uncle"], "verbs": ["says"], "endorsing": ["and he's right"],
                "rejecting": ["and he's wrong"]}
    return {**SPEC, "frames_per_claim": {"asserting": 1, "rejecting": 1, "reported": 1, "asking": 1},
            "clause_frames": {**{k: [v] for k, v in frames.items()}, "reported": reported}, "frame_grammar": {}}


@pytest.mark.parametrize(("frame", "predicate", "label"), [
    ("My whole family agrees that {c}.", "are vermin", 1),             # an attack asserted
    ("My whole family agrees that {c}.", "are not vermin", 0),         # its negation
    ("It's bigotry to claim {c}.", "are vermin", 0),                   # an attack rejected
    ("My uncle says {c}, and he's right.", "are vermin", 1),           # an attack reported and endorsed
    ("My uncle says {c}, and he's wrong.", "are vermin", 0),           # the same report rejected
    ("My whole family agrees that {c}.", "are not welcome here", 1),   # praise denied
    ("It's bigotry to claim {c}.", "are welcome here", 1),             # praise rejected
    ("My uncle says {c}, and he's wrong.", "are welcome here", 1),
    ("Who told you {c}?", "are vermin", None),                         # a question: the teacher's call
    ("It's bigotry to claim {c}.", "have a long history in this region", None),
])
def test_a_claim_is_labelled_by_its_predicate_and_frame(frame, predicate, label):
    spec = one_frame_each(asserting="My whole family agrees that {c}.", rejecting="It's bigotry to claim {c}.",
                          asking="Who told you {c}?")
    expected = dict(templates(spec))
    assert expected[frame.replace("{c}", "{group} " + predicate)] == label


@pytest.mark.parametrize("framing", ["asserting", "rejecting", "asking"])
def test_every_frame_of_a_pool_serves_about_as_many_claims(framing):
    claims = sum(len(pairs) for pairs in SPEC["predicates"].values())
    pool, count = frame_pools(SPEC)[framing], SPEC["frames_per_claim"][framing]
    used = Counter(frame for claim in range(claims) for frame in picks(pool, claim, count))
    assert set(used) <= set(pool) and max(used.values()) - min(used[frame] for frame in pool) <= 1
    assert all(len(set(picks(pool, claim, count))) == min(count, len(pool)) for claim in range(claims))


def test_the_grammar_spells_out_every_combination_and_the_pools_are_fixed():
    grammar = {"asserting": [[["", "Frankly, "], ["I think", "We know"], [" {c}."]]]}
    spec = {**SPEC, "clause_frames": {**SPEC["clause_frames"], "asserting": ["I think {c}.", "Trust me, {c}."]},
            "frame_grammar": grammar}
    assert sorted(frame_pools(spec)["asserting"]) == sorted(
        ["I think {c}.", "Trust me, {c}.", "We know {c}.", "Frankly, I think {c}.", "Frankly, We know {c}."])
    assert frame_pools(SPEC) == frame_pools(SPEC) and len(frame_pools(SPEC)["rejecting"]) > 1000


def test_no_attack_predicate_decides_its_label_alone():
    labels: dict[str, set] = {}
    for template, label in templates(SPEC):
        for affirmed, _ in SPEC["predicates"]["attack"]:
            if " " + affirmed in template and label is not None:
                labels.setdefault(affirmed, set()).add(label)
    assert len(labels) == len(SPEC["predicates"]["attack"])
    assert all(found == {0.0, 1.0} for found in labels.values())


def test_a_reported_claim_comes_endorsed_and_rejected_in_the_same_words():
    endorsed = [t for t, label in templates(SPEC) if label == 1.0 and "{group} are vermin, and" in t]
    rejected = {t.split(", ")[0] for t, label in templates(SPEC) if label == 0.0 and "{group} are vermin, " in t}
    assert endorsed and {t.split(", ")[0] for t in endorsed} <= rejected


@pytest.mark.parametrize(("template", "label"), [
    ("I will hurt {group}.", 1), ("Nobody should hurt {group}.", 0), ("I'd never hire {group}.", 1),
    ("We need to help {group}.", 0), ("I hope {name} gets hurt.", 1), ("Ask {name}, he fixed my bike.", 0)])
def test_verbs_and_persons_are_labelled_by_their_kind(template, label):
    assert dict(templates(SPEC))[template] == label


def test_a_template_that_repeats_a_held_out_behaviour_phrasing_is_dropped():
    held_out = [t for body in BEHAVIOUR["categories"].values() for i, t in enumerate(body["templates"])
                if template_role(i) != "train"]
    banned = held_out_runs(BEHAVIOUR)
    spec = {**SPEC, "predicates": {}, "verbs": {}, "groups_per_template": 1,
            "person_templates": {"other": ["{name} baked bread for the whole street today.", f"Well, {held_out[0]}"]}}
    texts = list(generate(spec, BEHAVIOUR["identities"], banned))
    assert len(texts) == 1 and "baked bread" in texts[0][0] and texts[0][1] == 0.0
    assert all(shares_a_run(t, banned) for t in held_out)  # short ones (three words) too
