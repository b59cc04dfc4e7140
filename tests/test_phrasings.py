"""The phrasings data set: claims about groups in frames drawn from pools, labelled where the construction decides
the label."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from moderation.data import UNLABELED, load
from moderation_plugins.behaviour import TEMPLATES, template_role
from moderation_plugins.phrasings import PHRASINGS, generate, held_out_runs, picks, shares_a_run, templates

SPEC = json.loads(PHRASINGS.read_text(encoding="utf-8"))
BEHAVIOUR = json.loads(TEMPLATES.read_text(encoding="utf-8"))


def test_rows_the_construction_labels_train_the_others_are_unlabelled_and_each_load_is_the_same():
    first, second = load("phrasings"), load("phrasings")
    assert len(first.records) > 5000
    assert {(r.split, r.label) for r in first.records} == {("train", 0), ("train", 1), (UNLABELED, -1)}
    assert [(r.id, r.label) for r in first.records] == [(r.id, r.label) for r in second.records]
    labels = {r.text: r.label for r in first.records}
    assert sum(v == -1 for v in labels.values()) > 400 and sum(v == 1 for v in labels.values()) > 1500


def one_frame_each(**frames: str) -> dict:
    """SPEC with one frame per framing, so that every claim is put in exactly these."""
    reported = {"reporters": ["My uncle"], "verbs": ["says"], "endorsing": ["and he's right"],
                "rejecting": ["and he's wrong"]}
    return {**SPEC, "frames_per_claim": {"asserting": 1, "rejecting": 1, "reported": 1, "asking": 1},
            "clause_frames": {**{k: [v] for k, v in frames.items()}, "reported": reported}}


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
    pool, count = SPEC["clause_frames"][framing], SPEC["frames_per_claim"][framing]
    used = Counter(frame for claim in range(claims) for frame in picks(pool, claim, count))
    assert set(used) == set(pool) and max(used.values()) - min(used.values()) <= 1
    assert all(len(set(picks(pool, claim, count))) == min(count, len(pool)) for claim in range(claims))


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


def test_no_kept_template_shares_four_words_with_a_held_out_one():
    banned = held_out_runs(BEHAVIOUR)
    kept = [t for t, _ in templates(SPEC) if not shares_a_run(t, banned)]
    assert len(kept) > 1500  # the filter leaves most framings
    held_out = " | ".join(t.casefold() for body in BEHAVIOUR["categories"].values()
                          for i, t in enumerate(body["templates"]) if template_role(i) != "train")
    assert not [t for t in kept if t.casefold().rstrip(".?!") in held_out]


def test_the_people_named_are_none_of_the_bias_audits_names(shared_data: Path):
    names = shared_data / "bias_madlibs" / "word_lists" / "names.txt"
    if not names.is_file():
        pytest.skip(f"{names} not found: the bias-madlibs data set is not in the shared data folder")
    audited = set(names.read_text(encoding="utf-8").split())
    assert len(SPEC["names"]) >= 100 and not audited & set(SPEC["names"])
