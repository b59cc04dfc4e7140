"""The metric code the audit plugins share (moderation/audit.py), against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from moderation.audit import (
    AuditRun,
    Gate,
    check_gates,
    drop_seen,
    jsonable,
    parse_gates,
    select_audits,
    summarize,
    trained_on,
)
from moderation.fairness import (
    AuditError,
    AuditSettings,
    Measured,
    auc,
    auc_delta,
    bias_aucs,
    bootstrap_counts,
    cell_counts,
    clustered_wilson,
    delong,
    error_rate,
    final_bias_metric,
    newcombe,
    power_mean,
    rates_from_counts,
    rng_for,
    wilson,
)
from moderation.plugins import PluginError
from moderation.protocols import AuditResult, Record

# The hand-worked table (rows 1-8). Group A = rows 1-4, group B = rows 1, 5, 7, 8, group C = rows 2, 6.
LABELS = np.array([0, 0, 1, 1, 0, 0, 1, 1])
SCORES = np.array([0.6, 0.2, 0.9, 0.5, 0.1, 0.4, 0.7, 0.8])
A = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
B = np.array([1, 0, 0, 0, 1, 0, 1, 1], dtype=bool)
C = np.array([0, 1, 0, 0, 0, 1, 0, 0], dtype=bool)


def test_wilson_and_newcombe_by_the_book():
    low, high = wilson(0, 6)
    assert low == 0.0 and high == pytest.approx(0.390, abs=0.001)  # the textbook 0/6 interval
    assert wilson(0, 0) == (None, None)
    # Newcombe (1998), example (a): 56/70 - 48/80 = 0.2, hybrid score interval 0.0524 to 0.3339
    assert newcombe(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    assert newcombe(1, 0, 3, 10) == (None, None)


def test_wilson_closed_form_matches_scipy():
    from scipy.stats import binomtest

    for k, n in ((0, 1), (3, 7), (56, 70), (99, 100), (120, 120)):
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_clustered_wilson_counts_clusters_that_pass_or_fail_whole():
    # eight templates of 30 rows, six passing whole: as much evidence as 6 of 8, not 180 of 240
    assert clustered_wilson([30] * 6 + [0] * 2, [30] * 8) == pytest.approx(wilson(6, 8))
    assert clustered_wilson([30] * 8, [30] * 8) == pytest.approx(wilson(8, 8))  # no spread: one row per cluster
    # one row per cluster, or clusters that all fare alike: the rows are the sample
    assert clustered_wilson([1, 0, 1, 1, 0], [1] * 5) == pytest.approx(wilson(3, 5))
    assert clustered_wilson([15, 15, 15], [30, 30, 30]) == pytest.approx(wilson(45, 90))
    assert clustered_wilson([], []) == (None, None)


def test_auc_of_one_class_is_undefined_never_half():
    m = auc(np.array([1, 1, 1]), np.array([0.2, 0.5, 0.9]))
    assert m.value is None
    assert "undefined" in m.reason and "no non-toxic rows" in m.reason and "(3 toxic, 0 non-toxic)" in m.reason


def test_bias_aucs_by_hand():
    # A: toxic {0.9, 0.5} vs non-toxic {0.6, 0.2}: 3 of 4 pairs in order -> 0.75.
    # A BPSN: background toxic {0.7, 0.8} vs A non-toxic {0.6, 0.2}: 4 of 4 -> 1.0; BNSP likewise 1.0.
    a = bias_aucs(LABELS, SCORES, A)
    assert {k: v.value for k, v in a.items()} == {"subgroup_auc": 0.75, "bpsn_auc": 1.0, "bnsp_auc": 1.0}
    # B: toxic {0.7, 0.8} vs {0.6, 0.1}: 1.0; BPSN: background toxic {0.9, 0.5} vs B non-toxic {0.6, 0.1}:
    # 0.5 < 0.6 is the one pair out of order -> 0.75; BNSP: {0.7, 0.8} vs background non-toxic {0.2, 0.4}: 1.0.
    b = bias_aucs(LABELS, SCORES, B)
    assert {k: v.value for k, v in b.items()} == {"subgroup_auc": 1.0, "bpsn_auc": 0.75, "bnsp_auc": 1.0}
    # C holds two non-toxic rows: no subgroup or BNSP AUC, but a BPSN AUC (every toxic row outranks them).
    c = bias_aucs(LABELS, SCORES, C)
    assert c["subgroup_auc"].value is None and "no toxic rows in the group" in c["subgroup_auc"].reason
    assert c["bnsp_auc"].value is None and "no toxic rows in the group" in c["bnsp_auc"].reason
    assert c["bpsn_auc"].value == 1.0


def test_power_mean_by_hand():
    assert power_mean([0.8, 0.8, 0.8]) == pytest.approx(0.8)
    assert power_mean([0.5, 1.0]) == pytest.approx(16.5 ** (-1 / 5))  # (0.5^-5 + 1^-5) / 2 = 16.5
    assert power_mean([0.5, 1.0]) == pytest.approx(0.570825, abs=1e-6)
    assert power_mean([0.9, 0.0]) == 0.0
    with pytest.raises(ValueError):
        power_mean([])


def test_final_bias_metric_by_hand_excludes_undefined_per_metric():
    per_group = {name: bias_aucs(LABELS, SCORES, mask) for name, mask in (("A", A), ("B", B), ("C", C))}
    final = final_bias_metric(auc(LABELS, SCORES), per_group)
    # Overall: 15 of the 16 (toxic, non-toxic) pairs are in order (0.5 < 0.6).
    assert final.overall_auc == 0.9375
    # Subgroup over A, B (C undefined): ((0.75^-5 + 1) / 2)^(-1/5); BPSN over A, B, C: ((0.75^-5 + 2) / 3)^(-1/5).
    assert final.means["subgroup_auc"] == pytest.approx(0.825604, abs=1e-6)
    assert final.means["bpsn_auc"] == pytest.approx(0.864470, abs=1e-6)
    assert final.means["bnsp_auc"] == 1.0
    assert final.value == pytest.approx(0.25 * 0.9375 + 0.25 * (0.825604 + 0.864470 + 1.0), abs=1e-6)
    assert final.value == pytest.approx(0.906894, abs=1e-6)
    assert final.used["bpsn_auc"] == ["A", "B", "C"] and final.used["subgroup_auc"] == ["A", "B"]
    assert [name for name, _ in final.excluded["subgroup_auc"]] == ["C"]
    assert final.reason is None


def test_final_bias_metric_leaves_small_groups_out():
    per_group = {name: bias_aucs(LABELS, SCORES, mask) for name, mask in (("A", A), ("B", B))}
    final = final_bias_metric(auc(LABELS, SCORES), per_group, small=["B"])
    assert final.means["bpsn_auc"] == 1.0 and final.means["subgroup_auc"] == 0.75
    assert final.excluded["bpsn_auc"] == [("B", "group too small (--min-slice)")]


def test_final_bias_metric_undefined_says_why():
    one_class = final_bias_metric(auc(np.zeros(4), np.arange(4) / 4), {})
    assert one_class.value is None and "overall AUC undefined" in one_class.reason
    nothing = final_bias_metric(Measured(0.9), {"C": bias_aucs(LABELS, SCORES, C)})
    assert nothing.value is None and "subgroup_auc" in nothing.reason and "bnsp_auc" in nothing.reason


def test_delong_by_hand():
    labels = np.array([1, 1, 0, 0])
    a = np.array([0.9, 0.4, 0.5, 0.1])
    b = np.array([0.8, 0.6, 0.3, 0.2])
    aucs, cov = delong(labels, np.vstack([a, b]))
    # a: toxic rows beat {2, 1} of the 2 non-toxic rows -> components (1, 0.5); non-toxic rows are beaten by
    # {1, 2} of the 2 toxic rows -> (0.5, 1). AUC 0.75; variance 0.125 / 2 + 0.125 / 2 = 0.125. b: all 1.
    assert aucs.tolist() == [0.75, 1.0]
    assert cov == pytest.approx(np.array([[0.125, 0.0], [0.0, 0.0]]))
    d = auc_delta(labels, a, b, 0.95)
    z = 1.959964
    assert d.delta == pytest.approx(-0.25)
    assert (d.low, d.high) == pytest.approx((-0.25 - z * math.sqrt(0.125), -0.25 + z * math.sqrt(0.125)), abs=1e-5)
    assert not d.significant


def test_delong_matches_sklearn_and_the_bootstrap():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 400)
    a = np.clip(labels * 0.3 + rng.normal(0.4, 0.2, 400), 0, 1)
    b = np.clip(a + rng.normal(0, 0.1, 400), 0, 1)
    aucs, cov = delong(labels, np.vstack([a, b]))
    assert aucs == pytest.approx([roc_auc_score(labels, a), roc_auc_score(labels, b)])
    boot = []
    for _ in range(500):
        i = rng.integers(0, 400, 400)
        boot.append(roc_auc_score(labels[i], a[i]) - roc_auc_score(labels[i], b[i]))
    delong_sd = math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert delong_sd == pytest.approx(np.std(boot), rel=0.15)


def test_auc_delta_of_identical_scorers_is_zero_and_not_significant():
    d = auc_delta(LABELS, SCORES, SCORES.copy(), 0.95)
    assert (d.delta, d.low, d.high, d.significant) == (0.0, 0.0, 0.0, False)
    undefined = auc_delta(np.zeros(4), np.ones(4) / 2, np.ones(4) / 3, 0.95)
    assert undefined.delta is None and "undefined" in undefined.reason


def test_error_rates_from_counts_by_hand():
    # Group G: non-toxic scored 0.7, 0.2, 0.6 (2 of 3 flagged), toxic 0.9, 0.3 (1 of 2 missed).
    # Others: non-toxic 0.1, 0.4, 0.55 (1 of 3 flagged), toxic 0.8, 0.45, 0.95 (1 of 3 missed).
    labels = np.array([0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1])
    scores = np.array([0.7, 0.2, 0.6, 0.9, 0.3, 0.1, 0.4, 0.55, 0.8, 0.45, 0.95])
    member = np.arange(11) < 5
    flagged = (scores >= 0.5).astype(int)
    counts = cell_counts(member, labels, [flagged])
    assert counts.sum() == 11
    group_fpr, overall_fpr = rates_from_counts(counts, 1, 0, "fpr")
    group_fnr, overall_fnr = rates_from_counts(counts, 1, 0, "fnr")
    assert (group_fpr, overall_fpr) == pytest.approx((2 / 3, 3 / 6))
    assert (group_fnr, overall_fnr) == pytest.approx((1 / 2, 2 / 5))
    assert error_rate(labels[member], flagged[member], "fpr") == pytest.approx(2 / 3)
    assert math.isnan(error_rate(np.ones(3), np.ones(3), "fpr"))


def test_multinomial_bootstrap_equals_resampling_rows():
    """Resampling rows with replacement only changes cell counts, so a multinomial draw over the cells is
    the same bootstrap: its gap distribution matches a row-by-row bootstrap's."""
    rng = np.random.default_rng(11)
    n = 300
    member = rng.random(n) < 0.3
    labels = rng.integers(0, 2, n)
    flagged = (rng.random(n) < np.where(member, 0.5, 0.3)).astype(int)

    def gap(m: np.ndarray, y: np.ndarray, f: np.ndarray) -> float:
        return error_rate(y[m], f[m], "fpr") - error_rate(y, f, "fpr")

    rows = np.array([gap(member[i], labels[i], flagged[i]) for i in (rng.integers(0, n, n) for _ in range(3000))])
    counts = bootstrap_counts(cell_counts(member, labels, [flagged]), 3000, np.random.default_rng(5))
    g, o = rates_from_counts(counts, 1, 0, "fpr")
    cells = g - o
    assert np.mean(cells) == pytest.approx(np.mean(rows), abs=0.01)
    assert np.std(cells) == pytest.approx(np.std(rows), rel=0.1)


def test_rng_is_seeded_per_key():
    draw = [rng_for(0, "toxigen", "black").integers(0, 10**9) for _ in range(2)]
    assert draw[0] == draw[1]
    assert rng_for(0, "toxigen", "black").integers(0, 10**9) != rng_for(1, "toxigen", "black").integers(0, 10**9)
    assert rng_for(0, "toxigen", "black").integers(0, 10**9) != rng_for(0, "toxigen", "asian").integers(0, 10**9)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_slice": 0}, "min_slice"), ({"threshold": 1.5}, "threshold"), ({"resamples": 0}, "resamples"),
    ({"confidence": 1.0}, "confidence"),
])
def test_settings_are_checked(kwargs, message):
    with pytest.raises(AuditError, match=message):
        AuditSettings(**kwargs)


def test_select_audits():
    names, explicit = select_audits("all")
    assert names[:5] == ["subgroup-auc", "error-rate-gaps", "templates", "behaviour", "amplification"]
    assert not explicit
    assert select_audits("templates, subgroup-auc") == (["templates", "subgroup-auc"], True)
    with pytest.raises(PluginError, match="no audit plugin named 'nope'.*subgroup-auc"):
        select_audits("subgroup-auc,nope")
    with pytest.raises(AuditError, match="empty"):
        select_audits(" , ")


def test_gates_parse_and_check():
    gates = parse_gates(["final_bias=0.9", "min_bpsn_auc=0.8"], ["subgroup-auc"])
    assert gates == [Gate("final_bias_metric", 0.9), Gate("min_bpsn_auc", 0.8)]
    with pytest.raises(AuditError, match="unknown metric 'final_bais'.*final_bias"):
        parse_gates(["final_bais=0.9"], ["subgroup-auc"])
    with pytest.raises(AuditError, match="expected NAME=NUMBER"):
        parse_gates(["final_bias"], ["subgroup-auc"])
    with pytest.raises(AuditError, match="expected NAME=NUMBER"):
        parse_gates(["final_bias=high"], ["subgroup-auc"])
    with pytest.raises(AuditError, match="'subgroup-auc' audit, which is not among --audits"):
        parse_gates(["final_bias=0.9"], ["templates"])
    verdicts = check_gates({"final_bias_metric": 0.85, "min_bpsn_auc": None}, gates)
    assert [v["passed"] for v in verdicts] == [False, False]
    assert verdicts[1]["detail"].startswith("not computable")
    assert check_gates({"final_bias_metric": 0.9}, gates[:1])[0]["passed"]


def test_summary_puts_the_final_metric_first_and_lifts_worst_identities():
    run = AuditRun(results={
        "error-rate-gaps": AuditResult(summary={"largest_fpr_gap": 0.2}),
        "subgroup-auc": AuditResult(summary={"final_bias_metric": 0.8},
                                    tables={"worst_identities": [{"identity": "x"}]}),
    })
    summary = summarize(run)
    assert list(summary) == ["final_bias_metric", "largest_fpr_gap", "worst_identities"]
    assert summary["final_bias_metric"] == 0.8 and summary["worst_identities"] == [{"identity": "x"}]


def test_jsonable_has_no_nan():
    assert jsonable({"a": float("nan"), "b": np.float64(0.1234567), "c": [np.int64(3), float("inf")]}) == {
        "a": None, "b": 0.123457, "c": [3, None]}


def test_rows_a_model_was_trained_on_are_dropped():
    assert trained_on({"data": "demo, toxigen"}) == ["demo", "toxigen"]
    assert trained_on({}) == []
    slices = {"s": [Record("1", "Hello  World", 0.0, 0), Record("2", "fresh text", 1.0, 1)]}
    kept, removed = drop_seen(slices, {"hello world"})
    assert [r.id for r in kept["s"]] == ["2"] and removed == {"s": 1}


def test_metrics_imported_from_their_old_module_still_work_with_a_warning():
    import moderation.audit
    import moderation.fairness

    with pytest.warns(DeprecationWarning, match="moved to moderation.fairness.wilson"):
        old = moderation.audit.wilson
    assert old is moderation.fairness.wilson
    with pytest.raises(AttributeError):
        moderation.audit.no_such_metric  # noqa: B018
