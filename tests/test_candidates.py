"""benchmarks/candidates.py names the behaviour templates one candidate fails that the first model passes."""

from __future__ import annotations

from tests.conftest import ROOT, load_script

candidates = load_script(ROOT / "benchmarks" / "candidates.py")


def test_a_template_passes_when_at_least_half_its_rows_are_right():
    counts = {"negated_attack": {"behaviour/negated_attack/1": (22, 44), "behaviour/negated_attack/9": (21, 44)},
              "threat": {"behaviour/threat/1": (10, 10)}}
    assert candidates.passed_templates(counts) == {"behaviour/negated_attack/1": True,
                                                   "behaviour/negated_attack/9": False,
                                                   "behaviour/threat/1": True}


def test_templates_failed_and_passed_against_the_first_model_are_told_apart():
    first = {"a/1": True, "a/9": True, "b/1": False, "b/9": False}
    other = {"a/1": True, "a/9": False, "b/1": True, "b/9": False}
    assert candidates.template_changes(first, other) == (["a/9"], ["b/1"])
    assert candidates.template_changes(first, first) == ([], [])
