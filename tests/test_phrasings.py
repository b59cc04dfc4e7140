"""The phrasings data set: unlabelled framings of claims about groups, for a student's transfer set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moderation.data import UNLABELED, load
from moderation_plugins import framed_claims
from moderation_plugins.behaviour import TEMPLATES, template_role
from moderation_plugins.phrasings import PHRASINGS, generate, held_out_runs, shares_a_run, templates

SPEC = json.loads(PHRASINGS.read_text(encoding="utf-8"))
BEHAVIOUR = json.loads(TEMPLATES.read_text(encoding="utf-8"))
CLAIMS = json.loads(framed_claims.FRAMED_CLAIMS.read_text(encoding="utf-8"))
# the templates of both generated sets, which share the held-out filter and the names
BOTH = {"phrasings": (SPEC, list(templates(SPEC))),
        "framed-claims": (CLAIMS, [t for t, _ in framed_claims.templates(CLAIMS)])}


def test_every_row_is_unlabelled_and_the_rows_are_the_same_each_load():
    first, second = load("phrasings"), load("phrasings")
    assert len(first.records) > 5000
    assert {r.split for r in first.records} == {UNLABELED} and {r.label for r in first.records} == {-1}
    assert [r.id for r in first.records] == [r.id for r in second.records]


def test_a_template_that_repeats_a_held_out_behaviour_phrasing_is_dropped():
    held_out = [t for body in BEHAVIOUR["categories"].values() for i, t in enumerate(body["templates"])
                if template_role(i) != "train"]
    banned = held_out_runs(BEHAVIOUR)
    spec = {**SPEC, "predicates": [], "verbs": [], "groups_per_template": 1,
            "person_templates": ["{name} baked bread for the whole street today.", f"Well, {held_out[0]}"]}
    texts = list(generate(spec, BEHAVIOUR["identities"], banned))
    assert len(texts) == 1 and "baked bread" in texts[0]
    assert all(shares_a_run(t, banned) for t in held_out)  # short ones (three words) too


@pytest.mark.parametrize("name", BOTH)
def test_no_kept_template_shares_four_words_with_a_held_out_one(name):
    banned = held_out_runs(BEHAVIOUR)
    kept = [t for t in BOTH[name][1] if not shares_a_run(t, banned)]
    assert len(kept) > 1500  # the filter leaves most framings
    held_out = " | ".join(t.casefold() for body in BEHAVIOUR["categories"].values()
                          for i, t in enumerate(body["templates"]) if template_role(i) != "train")
    assert not [t for t in kept if t.casefold().rstrip(".?!") in held_out]


@pytest.mark.parametrize("name", BOTH)
def test_the_people_named_are_none_of_the_bias_audits_names(shared_data: Path, name):
    names = shared_data / "bias_madlibs" / "word_lists" / "names.txt"
    if not names.is_file():
        pytest.skip(f"{names} not found: the bias-madlibs data set is not in the shared data folder")
    audited = set(names.read_text(encoding="utf-8").split())
    spec = BOTH[name][0]
    assert len(spec["names"]) >= 100 and not audited & set(spec["names"])


@pytest.mark.parametrize("framing", ["plain", "rejecting", "asking"])
def test_each_claim_is_put_in_every_framing(framing):
    affirmed, negated = SPEC["predicates"][-1]
    every = set(templates(SPEC))
    assert {f.replace("{c}", "{group} " + affirmed) for f in SPEC["clause_frames"][framing]} <= every
    if framing == "plain":
        assert {f.replace("{c}", "{group} " + negated) for f in SPEC["clause_frames"][framing]} <= every
