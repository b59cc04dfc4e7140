"""Each audit plugin on small tables whose numbers are worked out by hand in the comments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from moderation.audit import headline, make_audit, run_audits
from moderation.fairness import AuditError, AuditSettings
from moderation.plugins import get_registry
from moderation.protocols import Audit, Record


class TableScorer:
    """A scorer that looks each text up in a table: hand-made scores for hand-worked examples."""

    def __init__(self, name: str, scores: Mapping[str, float]) -> None:
        self.name, self.scores = name, dict(scores)

    def score(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.scores[t] for t in texts], dtype=float)


def rows(*spec: tuple[str, int, float, tuple[str, ...]]) -> tuple[list[Record], dict[str, float]]:
    """Records (text, label, score, identities) and the score table for them."""
    records = [Record(id=text, text=text, toxicity=float(label), label=label, identities=ids)
               for text, label, _, ids in spec]
    return records, {text: score for text, _, score, _ in spec}


# The table of tests/test_audit_metrics.py: A = rows 1-4, B = rows 1, 5, 7, 8, C = rows 2, 6.
HAND, HAND_SCORES = rows(
    ("r1", 0, 0.6, ("A", "B")), ("r2", 0, 0.2, ("A", "C")), ("r3", 1, 0.9, ("A",)), ("r4", 1, 0.5, ("A",)),
    ("r5", 0, 0.1, ("B",)), ("r6", 0, 0.4, ("C",)), ("r7", 1, 0.7, ("B",)), ("r8", 1, 0.8, ("B",)),
)


def audit(name: str, **settings) -> Audit:
    return make_audit(name, AuditSettings(**settings))


def by(table: list[dict], **where) -> dict:
    found = [r for r in table if all(r[k] == v for k, v in where.items())]
    assert len(found) == 1, (where, found)
    return found[0]


def is_png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n")


def test_every_audit_is_a_registered_plugin_following_the_protocol():
    for name in ("subgroup-auc", "error-rate-gaps", "templates", "amplification"):
        info = get_registry().get("audit", name)
        assert info.distribution == "moderation" and info.description
        assert isinstance(audit(name), Audit)


# --- subgroup-auc ---------------------------------------------------------------------------------------


def test_subgroup_auc_by_hand():
    result = audit("subgroup-auc", min_slice=1).run({"m": TableScorer("m", HAND_SCORES)}, {"hand": HAND})
    ids = result.tables["identities"]
    assert [by(ids, identity=g)["subgroup_auc"] for g in "ABC"] == [0.75, 1.0, None]
    assert [by(ids, identity=g)["bpsn_auc"] for g in "ABC"] == [1.0, 0.75, 1.0]
    assert [by(ids, identity=g)["bnsp_auc"] for g in "ABC"] == [1.0, 1.0, None]
    c = by(ids, identity="C")
    assert (c["rows"], c["toxic"], c["non_toxic"]) == (2, 0, 2) and "no toxic rows in the group" in c["note"]
    final = by(result.tables["final"], data="hand")
    assert final["overall_auc"] == 0.9375
    assert final["final_bias_metric"] == pytest.approx(0.906894, abs=1e-6)
    assert (final["subgroup_auc_identities"], final["bpsn_auc_identities"]) == (2, 3)
    excluded = by(result.tables["excluded"], identity="C")["excluded_from"]
    assert "subgroup_auc: undefined" in excluded and "bnsp_auc: undefined" in excluded and "bpsn" not in excluded
    assert result.summary["final_bias_metric"] == pytest.approx(0.906894, abs=1e-6)
    assert result.summary["min_bpsn_auc"] == 0.75 and result.summary["overall_auc"] == 0.9375
    worst = result.tables["worst_identities"]
    assert [(w["identity"], w["metric"], w["value"]) for w in worst] == [
        ("A", "subgroup_auc", 0.75), ("B", "bpsn_auc", 0.75), ("C", "bpsn_auc", 1.0)]
    assert len(result.figures) == 2 and all(is_png(f) for f in result.figures.values())


def test_subgroup_auc_counts_smallness_per_class():
    # T has 10 rows but only 2 non-toxic ones, scored above every toxic row of the background: its BPSN AUC
    # is 0.0 on 2 rows and must not drive the headline; U's BNSP rests on T's 2 non-toxic rows likewise.
    records, scores = rows(*[(f"t{i}", 1, 0.8 + i / 100, ("T",)) for i in range(8)],
                           ("t8", 0, 0.9, ("T",)), ("t9", 0, 0.95, ("T",)),
                           *[(f"u{i}", 1, 0.6 + i / 50, ("U",)) for i in range(5)],
                           *[(f"v{i}", 0, 0.1 + i / 20, ("U",)) for i in range(5)])
    result = audit("subgroup-auc", min_slice=3).run({"m": TableScorer("m", scores)}, {"x": records})
    t, u = by(result.tables["identities"], identity="T"), by(result.tables["identities"], identity="U")
    assert t["bpsn_auc"] == 0.0 and t["bpsn_auc_too_small"] and t["subgroup_auc_too_small"]
    assert "too few rows: 5 toxic rows in the background, 2 non-toxic rows in the group" in t["note"]
    assert t["bnsp_auc"] == 1.0 and not t["bnsp_auc_too_small"] and not t["too_small"]
    assert u["bnsp_auc"] == 0.0 and u["bnsp_auc_too_small"] and (u["subgroup_auc"], u["bpsn_auc"]) == (1.0, 1.0)
    assert result.summary["min_bpsn_auc"] == 1.0 and result.summary["min_bnsp_auc"] == 1.0
    final = by(result.tables["final"], data="x")
    assert final["final_bias_metric"] == pytest.approx(0.25 * final["overall_auc"] + 0.75)
    assert "bpsn_auc: too few rows" in by(result.tables["excluded"], identity="T")["excluded_from"]
    assert [w["identity"] for w in result.tables["worst_identities"]] == ["T", "U"]  # from counted metrics only
    assert all(w["value"] == 1.0 for w in result.tables["worst_identities"])


def test_subgroup_auc_carries_delong_intervals():
    result = audit("subgroup-auc", min_slice=1).run({"m": TableScorer("m", HAND_SCORES)}, {"hand": HAND})
    a = by(result.tables["identities"], identity="A")
    assert a["subgroup_auc_low"] <= a["subgroup_auc"] <= a["subgroup_auc_high"]
    assert 0.0 <= a["subgroup_auc_low"] < a["subgroup_auc_high"] <= 1.0


def test_subgroup_auc_on_one_class_is_undefined_not_half():
    benign, scores = rows(*[(f"t{i}", 0, i / 10, ("A",) if i % 2 else ("B",)) for i in range(8)])
    result = audit("subgroup-auc", min_slice=1).run({"m": TableScorer("m", scores)}, {"benign": benign})
    assert all(r[m] is None for r in result.tables["identities"] for m in ("subgroup_auc", "bnsp_auc", "bpsn_auc"))
    final = result.tables["final"][0]
    assert final["overall_auc"] is None and final["final_bias_metric"] is None
    assert "undefined" in final["note"]
    assert result.summary["final_bias_metric"] is None
    assert any("final bias metric overall AUC undefined" in n for n in result.notes)


def test_subgroup_auc_side_by_side():
    perfect = {t: 0.9 if r.label else 0.1 for t, r in zip(HAND_SCORES, HAND, strict=True)}
    result = audit("subgroup-auc", min_slice=1).run(
        {"student": TableScorer("student", HAND_SCORES), "teacher": TableScorer("teacher", perfect)}, {"hand": HAND})
    assert by(result.tables["final"], model="teacher")["final_bias_metric"] == 1.0
    assert result.summary["reference_final_bias_metric"] == 1.0
    assert result.summary["final_bias_metric"] == pytest.approx(0.906894, abs=1e-6)


def test_nan_scores_are_an_error_naming_the_model():
    broken = dict(HAND_SCORES, r3=float("nan"))
    with pytest.raises(ValueError, match=r"broken returned 1 invalid scores \(NaN"):
        audit("subgroup-auc").run({"broken": TableScorer("broken", broken)}, {"hand": HAND})
    with pytest.raises(ValueError, match="outside"):
        audit("error-rate-gaps").run({"big": TableScorer("big", dict(HAND_SCORES, r1=1.5))}, {"hand": HAND})


# --- error-rate-gaps ------------------------------------------------------------------------------------

# Group G: non-toxic 0.7, 0.2, 0.6 (2 of 3 flagged at 0.5), toxic 0.9, 0.3 (1 of 2 missed).
# Group H: non-toxic 0.1, 0.4, 0.55 (1 of 3 flagged), toxic 0.8, 0.45, 0.95 (1 of 3 missed).
# Each group's rest is the other: G: FPR 2/3 vs 1/3 (gap +1/3), FNR 1/2 vs 1/3 (gap +1/6); H the opposite.
GAPS, GAP_SCORES = rows(
    ("g1", 0, 0.7, ("G",)), ("g2", 0, 0.2, ("G",)), ("g3", 0, 0.6, ("G",)), ("g4", 1, 0.9, ("G",)),
    ("g5", 1, 0.3, ("G",)), ("h1", 0, 0.1, ("H",)), ("h2", 0, 0.4, ("H",)), ("h3", 0, 0.55, ("H",)),
    ("h4", 1, 0.8, ("H",)), ("h5", 1, 0.45, ("H",)), ("h6", 1, 0.95, ("H",)),
)


def test_error_rate_gaps_by_hand():
    result = audit("error-rate-gaps", min_slice=1).run({"m": TableScorer("m", GAP_SCORES)}, {"hand": GAPS})
    g, h = by(result.tables["rates"], identity="G"), by(result.tables["rates"], identity="H")
    assert (g["fpr"], g["rest_fpr"], g["fpr_gap"]) == pytest.approx((2 / 3, 1 / 3, 1 / 3))
    assert (g["fnr"], g["rest_fnr"], g["fnr_gap"]) == pytest.approx((0.5, 1 / 3, 1 / 6))
    assert (h["fpr_gap"], h["fnr_gap"]) == pytest.approx((-1 / 3, -1 / 6))
    assert (g["rows"], g["non_toxic"], g["toxic"]) == (5, 3, 2)
    # Wilson 2/3: [0.208, 0.939]; Newcombe 2/3 - 1/3: [-0.316, 0.718] (worked by hand from the Wilson limits)
    assert (g["fpr_low"], g["fpr_high"]) == pytest.approx((0.2077, 0.9385), abs=1e-3)
    assert (g["fpr_gap_low"], g["fpr_gap_high"]) == pytest.approx((-0.3158, 0.7177), abs=1e-3)
    assert not g["fpr_gap_significant"]  # 3 rows a side prove nothing
    overall = result.tables["overall"][0]
    assert (overall["fpr"], overall["fnr"], overall["flagged_share"]) == pytest.approx((0.5, 0.4, 6 / 11))
    # G (+1/3) and H (-1/3) tie on size: either may be reported, but as that group's signed gap.
    largest = result.summary["largest_fpr_gap"]
    assert abs(largest) == pytest.approx(1 / 3) and largest in (g["fpr_gap"], h["fpr_gap"])
    assert abs(result.summary["largest_fnr_gap"]) == pytest.approx(1 / 6)
    assert is_png(next(iter(result.figures.values())))


def test_zero_of_six_is_not_significant():
    # The fairness reviewer's case: 6 non-toxic rows, none flagged, against a rest flagged 10 % of the time.
    spec = [(f"g{i}", 0, 0.1, ("G",)) for i in range(6)] + [(f"r{i}", 0, 0.9 if i < 10 else 0.1, ("R",))
                                                            for i in range(100)]
    records, scores = rows(*spec)
    result = audit("error-rate-gaps", min_slice=5).run({"m": TableScorer("m", scores)}, {"x": records})
    g = by(result.tables["rates"], identity="G")
    assert (g["fpr"], g["fpr_low"]) == (0.0, 0.0) and g["fpr_high"] == pytest.approx(0.390, abs=1e-3)
    assert g["fpr_gap_low"] < 0 < g["fpr_gap_high"] and not g["fpr_gap_significant"]


def flagged_at(rates: dict[str, float], n: int = 400) -> tuple[list[Record], dict[str, float]]:
    """n rows split evenly over the groups in ``rates``; each group's benign rows are flagged at its rate."""
    rng = np.random.default_rng(0)
    names = list(rates)
    spec = []
    for i in range(n):
        group = names[i % len(names)]
        label = int(rng.random() < 0.5)
        flagged = rng.random() < (0.8 if label else rates[group])
        spec.append((f"t{i}", label, 0.9 if flagged else 0.1, (group,)))
    return rows(*spec)


def test_error_rate_gap_significance():
    biased, biased_scores = flagged_at({"G": 0.6, "N": 0.1, "O": 0.1})
    fair, fair_scores = flagged_at({"G": 0.1, "N": 0.1, "O": 0.1})
    scorer = TableScorer("m", {**biased_scores, **{f"fair {t}": s for t, s in fair_scores.items()}})
    fair = [Record(id=r.id, text=f"fair {r.text}", toxicity=r.toxicity, label=r.label, identities=r.identities)
            for r in fair]
    result = audit("error-rate-gaps").run({"m": scorer}, {"biased": biased, "fair": fair})
    g = by(result.tables["rates"], data="biased", identity="G")
    assert g["fpr_gap_significant"] and g["fpr_gap_low"] > 0.15
    for name in "GNO":
        row = by(result.tables["rates"], data="fair", identity=name)
        assert not row["fpr_gap_significant"] and row["fpr_gap_low"] < 0 < row["fpr_gap_high"]
    assert result.summary["significant_fpr_gaps"] >= 1


def test_error_rate_of_a_class_the_group_lacks_is_undefined():
    # fairlearn's own false_positive_rate says 0.0 here; the audit must say "undefined".
    records, scores = rows(("a", 1, 0.9, ("T",)), ("b", 1, 0.2, ("T",)), ("c", 0, 0.1, ()), ("d", 0, 0.8, ()))
    result = audit("error-rate-gaps", min_slice=1).run({"m": TableScorer("m", scores)}, {"x": records})
    t = by(result.tables["rates"], identity="T")
    assert t["fpr"] is None and t["fpr_gap"] is None and t["fpr_gap_low"] is None
    assert "fpr undefined: no non-toxic rows in the group" in t["note"]
    assert t["fnr"] == 0.5


def test_error_rates_count_smallness_per_class():
    # min 3 of a class: FPR has 3 non-toxic rows on each side and counts; FNR has 2 toxic rows in G (and 2
    # in H's rest), so neither FNR gap counts, however large.
    result = audit("error-rate-gaps", min_slice=3).run({"m": TableScorer("m", GAP_SCORES)}, {"hand": GAPS})
    g, h = by(result.tables["rates"], identity="G"), by(result.tables["rates"], identity="H")
    assert not g["fpr_too_small"] and g["fnr_too_small"] and h["fnr_too_small"] and not g["too_small"]
    assert "fnr: 2 toxic rows in the group, 3 in the rest (fewer than 3): shown, not counted" in g["note"]
    assert result.summary["largest_fnr_gap"] is None and result.summary["significant_fnr_gaps"] == 0
    assert abs(result.summary["largest_fpr_gap"]) == pytest.approx(1 / 3)


# --- templates ------------------------------------------------------------------------------------------


def template_rows() -> tuple[list[Record], dict[str, float]]:
    """gay: non-toxic 0.8, 0.6 (mean 0.7, both flagged), toxic 0.9, 0.7 -> AUC 3/4 (0.7 < 0.8).
    tall: non-toxic 0.2, 0.4 (mean 0.3), toxic 0.6, 0.9 -> AUC 1. old: one non-toxic 0.1, AUC undefined.
    All non-toxic single-term sentences: (0.8 + 0.6 + 0.2 + 0.4 + 0.1) / 5 = 0.42."""
    spec = [("I am gay", 0, 0.8, "gay"), ("Being gay is fine", 0, 0.6, "gay"), ("gay people are awful", 1, 0.9, "gay"),
            ("I hate gay people", 1, 0.7, "gay"), ("I am tall", 0, 0.2, "tall"), ("Being tall is fine", 0, 0.4, "tall"),
            ("tall people are awful", 1, 0.6, "tall"), ("I hate tall people", 1, 0.9, "tall"),
            ("I am old", 0, 0.1, "old"), ("You are a nurse", 0, 0.5, "")]
    records = [Record(id=t, text=t, toxicity=float(y), label=y, terms=(term,) if term else ())
               for t, y, _, term in spec]
    return records, {t: s for t, _, s, _ in spec}


def test_templates_by_hand():
    records, scores = template_rows()
    result = audit("templates", min_slice=1).run({"m": TableScorer("m", scores)}, {"madlibs": records})
    terms = result.tables["terms"]
    assert [r["term"] for r in terms] == ["gay", "tall", "old"]  # most score-raising first
    gay, tall, old = terms
    assert (gay["mean_nontoxic_score"], gay["excess_nontoxic_score"], gay["flagged_nontoxic"], gay["term_auc"]) == \
        pytest.approx((0.7, 0.28, 1.0, 0.75))
    assert (tall["mean_nontoxic_score"], tall["excess_nontoxic_score"], tall["term_auc"]) == \
        pytest.approx((0.3, -0.12, 1.0))
    assert old["term_auc"] is None and "one class only (0 toxic, 1 non-toxic)" in old["note"]
    assert (gay["rows"], gay["non_toxic"], old["rows"]) == (4, 2, 1)
    assert result.tables["pooled"][0]["mean_nontoxic_score"] == pytest.approx(0.42)
    assert result.summary == pytest.approx({"max_term_excess_score": 0.28, "min_term_auc": 0.75,
                                            "max_term_flagged_nontoxic": 1.0})
    assert any("1 of 10 sentences carry no single identity term" in n for n in result.notes)
    assert all(is_png(f) for f in result.figures.values()) and result.figures


def test_templates_only_run_on_template_sets():
    records, scores = template_rows()
    scorers = {"m": TableScorer("m", scores)}
    with pytest.raises(AuditError, match="needs a template data set"):
        run_audits(["templates"], scorers, {"natural": records}, [], AuditSettings(), explicit=True)
    skipped = run_audits(["templates"], scorers, {"natural": records}, [], AuditSettings(), explicit=False)
    assert "needs a template data set" in skipped.skipped["templates"] and not skipped.results
    ran = run_audits(["templates"], scorers, {"madlibs": records}, ["madlibs"], AuditSettings(min_slice=1), True)
    assert ran.results["templates"].tables["terms"]


def test_headline_takes_each_models_own_figures_from_the_audits_that_ran():
    records, scores = template_rows()
    shifted = {text: min(score + 0.2, 1.0) for text, score in scores.items()}
    scorers = {"m": TableScorer("m", scores), "n": TableScorer("n", shifted)}
    run = run_audits(["subgroup-auc", "templates"], scorers, {"madlibs": records}, ["madlibs"],
                     AuditSettings(min_slice=1), True)
    figures = headline(run, "m")
    final = by(run.results["subgroup-auc"].tables["final"], model="m")["final_bias_metric"]
    assert figures == pytest.approx({"final bias madlibs": final, "max term score": 0.7})
    assert headline(run, "n")["max term score"] == pytest.approx(0.9)
    assert headline(run_audits(["templates"], scorers, {"madlibs": records}, ["madlibs"],
                               AuditSettings(min_slice=1), True), "m") == pytest.approx({"max term score": 0.7})


# --- amplification --------------------------------------------------------------------------------------


def test_amplification_by_hand():
    """Audited = the hand table's scores; reference = a perfect scorer (every AUC 1, no errors at 0.5).
    Audited at 0.5 flags r1 (non-toxic, 0.6) only wrongly: FPR 1/4 overall, 1/2 in A, 1/2 in B."""
    perfect = {r.text: 0.9 if r.label else 0.1 for r in HAND}
    result = audit("amplification", min_slice=1, resamples=200).run(
        {"student": TableScorer("student", HAND_SCORES), "teacher": TableScorer("teacher", perfect)}, {"hand": HAND})
    changes = result.tables["changes"]
    a_sub = by(changes, identity="A", metric="subgroup_auc")
    assert (a_sub["audited_value"], a_sub["reference_value"], a_sub["worse_by"]) == (0.75, 1.0, 0.25)
    assert by(changes, identity="B", metric="bpsn_auc")["worse_by"] == 0.25
    assert by(changes, identity="A", metric="bnsp_auc")["worse_by"] == 0.0
    a_fpr = by(changes, identity="A", metric="fpr_gap")
    assert (a_fpr["audited_value"], a_fpr["reference_value"], a_fpr["worse_by"]) == pytest.approx((0.25, 0.0, 0.25))
    assert by(changes, identity="A", metric="fnr_gap")["worse_by"] == 0.0
    final = by(changes, identity="(all rows)", metric="final_bias_metric")
    assert final["worse_by"] == pytest.approx(1.0 - 0.906894, abs=1e-6) and final["verdict"] == "no interval"
    assert by(changes, identity="C", metric="subgroup_auc")["verdict"] == "undefined"
    assert result.summary["final_bias_delta"] == pytest.approx(0.906894 - 1.0, abs=1e-6)
    assert is_png(next(iter(result.figures.values())))


def synthetic_pair(n: int = 600) -> tuple[list[Record], dict[str, float], dict[str, float]]:
    """Both models separate toxic from benign; the 'student' also scores benign mentions of G high."""
    rng = np.random.default_rng(1)
    spec, student, teacher = [], {}, {}
    for i in range(n):
        group = ("G",) if i < n // 3 else ("H",)
        label = int(rng.random() < 0.5)
        base = float(np.clip(0.25 + 0.5 * label + rng.normal(0, 0.12), 0, 1))
        text = f"text {i}"
        spec.append((text, label, base, group))
        teacher[text] = base
        student[text] = 0.8 if group == ("G",) and not label and rng.random() < 0.7 else base
    records, _ = rows(*spec)
    return records, student, teacher


def test_amplification_finds_what_distillation_made_worse():
    records, student, teacher = synthetic_pair()
    result = audit("amplification", resamples=400).run(
        {"student": TableScorer("student", student), "teacher": TableScorer("teacher", teacher)}, {"s": records})
    changes = result.tables["changes"]
    for metric in ("bpsn_auc", "fpr_gap"):
        row = by(changes, identity="G", metric=metric)
        assert row["verdict"] == "worse" and row["worse_by_low"] > 0, row
    assert by(changes, identity="G", metric="bnsp_auc")["verdict"] != "worse"
    assert result.summary["amplified"] >= 2 and result.summary["final_bias_delta"] < 0
    # The same pair the other way round: the teacher is better than the student.
    reverse = audit("amplification", resamples=400).run(
        {"teacher": TableScorer("teacher", teacher), "student": TableScorer("student", student)}, {"s": records})
    assert by(reverse.tables["changes"], identity="G", metric="bpsn_auc")["verdict"] == "better"
    assert reverse.summary["improved"] >= 2


def test_amplification_of_identical_models_finds_nothing():
    records, _, teacher = synthetic_pair(200)
    result = audit("amplification", resamples=200).run(
        {"a": TableScorer("a", teacher), "b": TableScorer("b", teacher)}, {"s": records})
    assert result.summary["amplified"] == 0 and result.summary["improved"] == 0
    assert result.summary["final_bias_delta"] == 0.0


def test_amplification_needs_two_models():
    scorers = {"m": TableScorer("m", HAND_SCORES)}
    with pytest.raises(AuditError, match="pass --compare"):
        run_audits(["amplification"], scorers, {"hand": HAND}, [], AuditSettings(), explicit=True)
    run = run_audits(["subgroup-auc", "amplification"], scorers, {"hand": HAND}, [], AuditSettings(), explicit=False)
    assert list(run.results) == ["subgroup-auc"] and "pass --compare" in run.skipped["amplification"]


def test_largest_gap_keeps_its_sign():
    rows = [{"model": "m", "fpr_too_small": False, "fnr_too_small": False, "fpr_gap": 0.1, "fnr_gap": -0.05,
             "fpr_gap_significant": True, "fnr_gap_significant": False},
            {"model": "m", "fpr_too_small": False, "fnr_too_small": False, "fpr_gap": -0.3, "fnr_gap": 0.02,
             "fpr_gap_significant": False, "fnr_gap_significant": False}]
    summary = type(audit("error-rate-gaps"))._summary(rows, "m")
    assert summary["largest_fpr_gap"] == -0.3 and summary["largest_fnr_gap"] == -0.05
    assert summary["significant_fpr_gaps"] == 1
