"""The functional probe (benchmarks/functional.py): its sentences stay apart from the behaviour set's templates
and word lists, so that it measures kinds of comment and not recall of training rows."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter

from moderation_plugins.behaviour import TEMPLATES
from tests.conftest import ROOT, load_script

sys.path.insert(0, str(ROOT / "benchmarks"))  # the probe imports the framings probe beside it
functional = load_script(ROOT / "benchmarks" / "functional.py")


def words(template: str) -> str:
    """A template without its slots and punctuation, casefolded: what a training row would share."""
    return " ".join(re.sub(r"\{\w+\}|[^\w\s']", " ", template).casefold().split())


def test_every_template_is_said_about_every_target_once():
    rows = functional.sentences()
    assert Counter(kind for kind, _ in rows) == {kind: 8 * 8 for kind in functional.TEMPLATES}
    assert len({text for _, text in rows}) == len(rows)
    assert set(functional.EXPECTED) == set(functional.TEMPLATES)


def test_no_probe_template_or_pest_is_one_the_behaviour_set_trains_on():
    behaviour = json.loads(TEMPLATES.read_text(encoding="utf-8"))
    trained = {words(t) for body in behaviour["categories"].values() for t in body["templates"]}
    probe = [t for templates in functional.TEMPLATES.values() for t in templates]
    assert not [t for t in probe if words(t) in trained]
    fillers = {w.casefold() for values in behaviour["fillers"].values() for w in values}
    assert not set(functional.PESTS) & fillers
