"""report.html in headless Chromium: every plot renders, and the page asks the network for nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from moderation.audit import build_report, run_audits
from moderation.fairness import AuditSettings
from moderation.report import write_report
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.test_audit_plugins import TableScorer, synthetic_pair


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records, student, teacher = synthetic_pair(300)
    scorers = {"student <b>": TableScorer("student <b>", student), "teacher": TableScorer("teacher", teacher)}
    settings = AuditSettings(resamples=100)
    run = run_audits(["subgroup-auc", "error-rate-gaps", "amplification"], scorers, {"synthetic": records}, [],
                     settings, explicit=True)
    model = {"id": "student <b>", "path": "/models/student", "kind": "student"}
    compare = {"id": "teacher", "path": "/models/teacher", "kind": "teacher"}
    data = [{"name": "synthetic", "rows": len(records)}]
    report = build_report(model, compare, data, settings, run, [])
    out = tmp_path_factory.mktemp("browser") / "report"
    write_report(report, {name: result.figures for name, result in run.results.items()}, out)
    return out / "report.html"


@pytest.fixture(scope="module")
def chromium_browser():
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_report_renders_offline_in_chromium(chromium_browser, report_page: Path):
    page = chromium_browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(report_page.as_uri())
    page.wait_for_load_state("load")
    images = page.eval_on_selector_all(
        "img", "imgs => imgs.map(i => ({complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))")
    assert len(images) == 4  # AUC bars, score distributions, FPR/FNR gaps, teacher vs student
    assert all(i["complete"] and i["width"] > 200 and i["height"] > 100 for i in images), images
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert errors == []
    assert page.title() == "Bias audit: student <b>"  # escaped in the source, shown as text
    assert page.locator("h2", has_text="amplification").count() == 1
    assert page.locator("b", has_text="student <b>").count() == 1
    page.close()


def test_report_needs_nothing_beside_it(chromium_browser, report_page: Path, tmp_path: Path):
    """Copied alone to another folder, the page still shows every image: nothing is linked."""
    alone = tmp_path / "alone.html"
    shutil.copy(report_page, alone)
    page = chromium_browser.new_page()
    page.goto(alone.as_uri())
    broken = page.eval_on_selector_all("img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).length")
    assert broken == 0
    page.close()
