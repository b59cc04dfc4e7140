"""`moderation audit`: the report folder, gates, side-by-side comparison and every kind of bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from moderation.artifacts import read_manifest
from moderation.cli import main
from moderation.data import load
from moderation.report import render_html
from moderation.student_training import train_student
from tests.conftest import invoke_cli, make_distribution, run_cli

FAST = ("--resamples", "50", "--min-slice", "8")


@pytest.fixture(scope="module")
def compare_model(tmp_path_factory: pytest.TempPathFactory, default_model: Path) -> Path:
    """A second tfidf-lr on the demo data with other parameters: a stand-in for a teacher."""
    data = load("demo")
    out = tmp_path_factory.mktemp("compare") / "model"
    train_student("tfidf-lr", data.split("train", "train"), data.split("test"), out,
                  params={"C": 0.3, "max_features": 3000, "min_df": 2}, lineage={"data": "demo"})
    return out


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory: pytest.TempPathFactory, default_model: Path, compare_model: Path) -> Path:
    out = tmp_path_factory.mktemp("reports") / "demo-vs"
    result = invoke_cli("audit", "--compare", str(compare_model), "--data", "demo", "--out", str(out), *FAST,
                        "--fail-under", "final_bias=0.05", "--fail-under", "overall_auc=0.5")
    assert result.returncode == 0, result.stderr
    return out


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_report_folder_layout_and_json(side_by_side: Path, default_model: Path, compare_model: Path):
    assert sorted(p.name for p in side_by_side.iterdir()) == ["report.html", "report.json", "summary.md"]
    report = json.loads((side_by_side / "report.json").read_text())
    assert list(report)[:4] == ["model", "compare", "data", "audits"] and "summary" in report
    assert report["model"]["id"] == read_manifest(default_model).model_id
    assert report["compare"]["id"] == read_manifest(compare_model).model_id
    # Tables and charts name models by plugin and folder, which a reader can tell apart; ids stay in "id".
    assert (report["model"]["label"], report["compare"]["label"]) == ("tiny-transformer (default)",
                                                                      "tfidf-lr (model)")
    assert set(report["audits"]) == {"subgroup-auc", "error-rate-gaps", "templates", "behaviour", "amplification"}
    assert "template data set" in report["audits"]["templates"]["skipped"]
    assert "--data behaviour" in report["audits"]["behaviour"]["skipped"]
    final = [r for r in report["audits"]["subgroup-auc"]["tables"]["final"] if r["model"] == report["model"]["label"]]
    assert 0.0 < report["summary"]["final_bias_metric"] <= 1.0
    assert report["summary"]["final_bias_metric"] == final[0]["final_bias_metric"]
    assert len(report["summary"]["worst_identities"]) == 3
    assert report["data"][0]["name"] == "demo" and report["data"][0]["rows"] > 100
    assert report["settings"]["resamples"] == 50 and report["settings"]["min_slice"] == 8
    assert [g["passed"] for g in report["gates"]] == [True, True]
    changes = report["audits"]["amplification"]["tables"]["changes"]
    assert {r["metric"] for r in changes} >= {"subgroup_auc", "bpsn_auc", "bnsp_auc", "fpr_gap", "fnr_gap",
                                              "overall_auc", "final_bias_metric"}
    assert "NaN" not in (side_by_side / "report.json").read_text()


def test_report_html_is_one_self_contained_page(side_by_side: Path):
    html = (side_by_side / "report.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) == 4 and all(src.startswith("data:image/png;base64,") for src in images)
    for needle in ("Bias AUCs by identity", "FPR and FNR gaps", "Score distributions", "Bias change on demo"):
        assert needle in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html) and "<script" not in html and "<link" not in html
    assert "<style>" in html


def test_summary_md_is_short(side_by_side: Path, default_model: Path, compare_model: Path):
    summary = (side_by_side / "summary.md").read_text()
    model, reference = read_manifest(default_model).model_id, read_manifest(compare_model).model_id
    model, reference = f"tiny-transformer (default) [{model}]", f"tfidf-lr (model) [{reference}]"
    assert summary.startswith(f"# Bias audit of {model}")
    assert len(summary.splitlines()) < 30
    for needle in ("Final bias metric:", "Worst identity on demo", "Gate final_bias_metric"):
        assert needle in summary
    report = json.loads((side_by_side / "report.json").read_text())
    final, ref = report["summary"]["final_bias_metric"], report["summary"]["reference_final_bias_metric"]
    verdict = summary.splitlines()[2]  # the plain-language verdict comes first
    assert verdict.startswith(f"Audited {model} on ") and f"is {final:.3f}, " in verdict
    assert f"the reference {reference} ({ref:.3f})" in verdict and "Gates: all 2 passed." in verdict
    assert "| data | model tiny-transformer (default) | reference tfidf-lr (model) |" in summary  # side by side
    html = (side_by_side / "report.html").read_text()
    assert f'<p class="verdict">Audited {model}' in html


def test_failing_gate_exits_3_and_still_writes_the_report(tmp_path: Path, default_model: Path):
    out = tmp_path / "gated"
    result = CliRunner().invoke(main, ["audit", "--data", "demo", "--audits", "subgroup-auc", "--out", str(out),
                                       *FAST, "--fail-under", "final_bias=0.999", "--json"])
    assert result.exit_code == 3, result.output
    assert "gate failed: final_bias_metric" in result.stderr and "below 0.999" in result.stderr
    printed = json.loads(result.stdout)
    assert printed["gates"][0]["passed"] is False and printed["summary"]["final_bias_metric"] < 0.999
    assert (out / "report.html").is_file() and "FAILED" in (out / "summary.md").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["--audits", "nope"], "no audit plugin named 'nope' (installed: amplification, behaviour, error-rate-gaps"),
    (["--audits", "amplification"], "pass --compare PATH"),
    (["--audits", "templates"], "needs a template data set"),
    (["--fail-under", "final_bais=0.9"], "unknown metric 'final_bais'"),
    (["--fail-under", "final_bias"], "expected NAME=NUMBER"),
    (["--audits", "error-rate-gaps", "--fail-under", "final_bias=0.9"], "which is not among --audits"),
    (["--data", "no_such_data"], "no dataset plugin named 'no_such_data'"),
    (["--model", "/nonexistent/model"], "does not exist"),
    (["--compare", "/nonexistent/model"], "does not exist"),
])
def test_bad_input_is_one_clear_line(tmp_path: Path, default_model: Path, args: list[str], message: str):
    code, output = cli("audit", "--data", "demo", "--out", str(tmp_path / "r"), *FAST, *args)  # last --data wins
    assert code == 1, output
    assert message in output and "Traceback" not in output
    assert not (tmp_path / "r").exists()


def test_out_that_is_not_a_report_is_left_alone(tmp_path: Path, default_model: Path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    code, output = cli("audit", "--data", "demo", "--audits", "subgroup-auc", "--out", str(precious), *FAST)
    assert code == 1 and "not a report folder" in output
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]


def test_rerun_replaces_an_earlier_report(tmp_path: Path, default_model: Path):
    out = tmp_path / "again"
    for audits in ("subgroup-auc", "error-rate-gaps"):
        code, output = cli("audit", "--data", "demo", "--audits", audits, "--out", str(out), *FAST)
        assert code == 0, output
    assert list(json.loads((out / "report.json").read_text())["audits"]) == ["error-rate-gaps"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]  # no staging folders left behind


def test_one_class_slice_is_reported_undefined_and_fails_its_gate(tmp_path: Path, default_model: Path):
    rows = ["text,toxicity"] + [f"\"the {w} neighbours number {i} were kind to us\",0"
                                 for i in range(60) for w in ("muslim", "gay")]
    path = tmp_path / "benign.csv"
    path.write_text("\n".join(rows) + "\n")
    code, output = cli("audit", "--data", str(path), "--audits", "subgroup-auc,error-rate-gaps",
                       "--out", str(tmp_path / "r"), *FAST, "--fail-under", "final_bias=0.5")
    assert code == 3, output
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["summary"]["final_bias_metric"] is None and report["summary"]["overall_auc"] is None
    identities = report["audits"]["subgroup-auc"]["tables"]["identities"]
    assert identities and all(r["subgroup_auc"] is None and "undefined" in r["note"] for r in identities)
    assert report["gates"][0]["detail"].startswith("not computable")
    assert any("overall AUC undefined" in n for n in report["audits"]["subgroup-auc"]["notes"])
    assert all(r["fnr"] is None for r in report["audits"]["error-rate-gaps"]["tables"]["rates"])


def test_a_model_returning_nan_is_a_clear_error(tmp_path: Path, default_model: Path):
    site = make_distribution(tmp_path / "site", "nan-student", "0.1", {"nan": "nan_student"}, {"nan_student": """
        import numpy as np
        from moderation import hookimpl

        class NanStudent:
            '''Returns NaN for every text.'''
            name = "nan-student"
            def score(self, texts):
                return np.full(len(texts), np.nan)
            @classmethod
            def load(cls, directory):
                return cls()

        @hookimpl
        def register_students(register):
            register(NanStudent)
        """})
    model = tmp_path / "nan-model"
    shutil.copytree(default_model, model)
    manifest = json.loads((model / "manifest.json").read_text())
    (model / "manifest.json").write_text(json.dumps({**manifest, "plugin": "nan-student"}))
    result = run_cli("audit", "--model", str(model), "--data", "demo", "--out", str(tmp_path / "r"), *FAST,
                     env_extra={"PYTHONPATH": str(site)})
    assert result.returncode == 1
    assert "nan-student@" in result.stderr and "invalid scores (NaN" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "r").exists()


def test_every_text_in_the_page_is_escaped(side_by_side: Path):
    report = json.loads((side_by_side / "report.json").read_text())
    evil = "<img src=x onerror=alert(1)>"
    report["model"]["id"] = evil
    report["notes"] = [evil]
    report["summary"]["worst_identities"][0]["identity"] = evil
    report["audits"]["subgroup-auc"]["notes"].append(evil)
    report["audits"]["subgroup-auc"]["tables"]["identities"][0]["note"] = evil
    html = render_html(report, {"subgroup-auc": {evil: b"\x89PNG\r\n\x1a\n"}})
    assert "<img src=x" not in html and html.count("&lt;img src=x onerror=alert(1)&gt;") >= 6


def test_audit_rows_a_model_trained_on_are_removed(tmp_path: Path, shared_data: Path):
    """A model's training data can hold texts another data set holds out: here a user's CSV of ToxiGen
    statements without identity columns (the lexicon misses many of them, so the CSV does not hold them
    out). Those rows must not be audited as unseen."""
    held = load("toxigen", shared_data).split("audit", "audit")
    mine = tmp_path / "mine.csv"
    pd.DataFrame({"text": [r.text for r in held], "toxicity": [r.toxicity for r in held]}).to_csv(mine, index=False)
    data = load(str(mine))
    model = tmp_path / "model"
    train_student("tfidf-lr", data.split("train", "train"), data.split("test"), model, lineage={"data": str(mine)})
    out = tmp_path / "shared"
    code, output = cli("audit", "--model", str(model), "--data", "toxigen,bias-madlibs", "--data-dir",
                       str(shared_data), "--limit", "2000", "--audits", "subgroup-auc,templates", "--out", str(out),
                       *FAST)
    assert code == 0, output
    report = json.loads((out / "report.json").read_text())
    toxigen, madlibs = report["data"]
    seen = sum(r.split != "audit" for r in data.records)
    assert toxigen["removed_seen_in_training"] == seen > 0 and madlibs["removed_seen_in_training"] == 0
    assert madlibs["template_set"] and not toxigen["template_set"]
    assert any("toxigen" in n and "removed from the slice" in n for n in report["notes"])
    terms = report["audits"]["templates"]["tables"]["terms"]
    assert {r["data"] for r in terms} == {"bias-madlibs"} and len(terms) > 20
    assert report["summary"]["final_bias_metric"] is not None


def test_models_can_be_given_labels_for_tables_and_charts(tmp_path: Path, compare_model: Path):
    out = tmp_path / "labelled"
    result = invoke_cli("audit", "--compare", str(compare_model), "--data", "demo", "--audits", "subgroup-auc",
                        "--label", "candidate v2", "--compare-label", "production", "--out", str(out), *FAST)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert (report["model"]["label"], report["compare"]["label"]) == ("candidate v2", "production")
    assert {r["model"] for r in report["audits"]["subgroup-auc"]["tables"]["final"]} == {"candidate v2", "production"}
    assert "| data | model candidate v2 | reference production |" in (out / "summary.md").read_text()


def test_limit_samples_the_held_out_rows_not_the_loaded_ones(tmp_path: Path, default_model: Path):
    """--limit N audits N held-out rows; sampling the loaded rows first would leave a set whose held-out share
    is small (the behaviour set: 7,187 of 28,931) with a fraction of its slice."""
    limit = len(load("demo").split("audit", "audit")) // 2
    code, output = cli("audit", "--model", str(default_model), "--data", "demo", "--limit", str(limit),
                       "--audits", "subgroup-auc", "--out", str(tmp_path / "report"), *FAST)
    assert code == 0, output
    audited = json.loads((tmp_path / "report" / "report.json").read_text())["data"][0]
    assert audited["rows"] + audited["removed_seen_in_training"] == limit
