"""The framings probe (benchmarks/framings.py): its sentences stay apart from every frame the models train on."""

from __future__ import annotations

import itertools
import json
from collections import Counter

from moderation_plugins.behaviour import TEMPLATES
from moderation_plugins.framed_claims import FRAMED_CLAIMS, frame_pools
from moderation_plugins.phrasings import PHRASINGS
from tests.conftest import ROOT, load_script

framings = load_script(ROOT / "benchmarks" / "framings.py")


def frame_text(frame: str) -> str:
    """A frame without its slot and the punctuation around it: the words a training text would share."""
    return frame.replace("{c}", "").strip(" .,:").casefold()


def test_every_predicate_is_asserted_negated_and_rejected_about_every_group():
    rows = framings.sentences()
    counts = Counter(kind for kind, _ in rows)
    groups, predicates = len(framings.GROUPS), len(framings.PREDICATES)
    assert counts == {"asserted": len(framings.ASSERTING) * predicates * groups,
                      "negated": len(framings.ASSERTING) * predicates * groups,
                      "rejected": len(framings.REJECTING) * predicates * groups}
    assert len({text for _, text in rows}) == len(rows)


def test_no_probe_frame_is_a_frame_the_phrasings_framed_claims_or_behaviour_sets_train_on():
    trained = {frame_text(f) for pool in json.loads(PHRASINGS.read_text(encoding="utf-8"))["clause_frames"].values()
               for f in pool}
    spec = json.loads(FRAMED_CLAIMS.read_text(encoding="utf-8"))
    reported = spec["clause_frames"]["reported"]
    trained |= {frame_text(f) for pool in frame_pools(spec).values() for f in pool}
    trained |= {frame_text(f"{who} {says} {{c}}, {tail}.") for who, says, tail in itertools.product(
        reported["reporters"], reported["verbs"], reported["endorsing"] + reported["rejecting"])}
    behaviour = " | ".join(t.casefold() for body in json.loads(TEMPLATES.read_text(encoding="utf-8"))["categories"]
                           .values() for t in body["templates"])
    frames = framings.ASSERTING + framings.REJECTING
    assert not [f for f in frames if frame_text(f) in trained]
    # one behaviour template (derogation) opens with "In my opinion": the only frame the two share
    assert [f for f in frames if frame_text(f).split(",")[0] in behaviour] == ["In my opinion {c}."]
