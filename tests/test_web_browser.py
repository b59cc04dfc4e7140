"""The web app in a real browser (Debian's Chromium through Playwright): moderate a comment, log in, approve it,
open a report. Screenshots of every page go to test-artifacts/screenshots/."""

from __future__ import annotations

import base64
import re
import threading

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from moderation.artifacts import read_manifest
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, require_chromium
from tests.web_support import PASSWORD, add_moderator, make_app, saved_models, services, write_report

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# Markup that would run if the comment were not escaped; the CSP would block it too, so the tests check
# that it stays text, not only that nothing ran.
PAYLOAD = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> you stupid worthless idiot'
REPORT = """<!doctype html><html><head><title>Fairness audit</title>
<style>h1 { color: rgb(0, 128, 0); }</style></head>
<body><h1>Fairness audit</h1><p id="gap">AUC gap 0.04</p><img id="figure" src="figures/dot.png" alt="figure">
<script>document.body.dataset.ran = "yes";</script></body></html>"""

PNG = base64.b64decode(  # one pixel, as a report's figure
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")



@pytest.fixture(autouse=True)
def _chromium() -> None:
    require_chromium()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright cannot download its own browsers here; drive the system Chromium, offline and quiet.
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def live(tmp_path_factory, default_model):
    """The app on a loopback port, with a moderator and one audit report."""
    tmp = tmp_path_factory.mktemp("browser")
    app = make_app(tmp, default_model, models_dir=saved_models(tmp / "models"), model_check_s=0.0)
    add_moderator(app, "mod")
    folder = write_report(tmp / "reports", "2025-11-fairness", html=REPORT,
                          summary="## Summary\n\n| slice | AUC |\n| --- | --- |\n| women | 0.81 |\n")
    (folder / "figures").mkdir()
    (folder / "figures" / "dot.png").write_bytes(PNG)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(10)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_log_in_moderate_and_approve(page: Page, live, default_model):
    url, app = live
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{url}/")
    expect(page.locator("header.topbar")).to_have_css("background-color", "rgb(31, 41, 55)")  # local CSS loaded
    page.get_by_role("link", name="Queue").click()
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fqueue$"))
    page.get_by_label("Username").fill("mod")
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "login")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{url}/queue")

    page.get_by_role("link", name="Moderate").click()
    page.get_by_label("Comment").fill(PAYLOAD)
    page.get_by_role("button", name="Score").click()
    expect(page.locator("#decision")).to_have_text(re.compile(r"^(review|block)$"))
    decided = page.locator("#decision").text_content()
    assert float(page.locator("#score").inner_text()) >= 0.5
    expect(page.locator("#model")).to_have_text(read_manifest(default_model).model_id)
    expect(page.locator("#latency")).to_have_text(re.compile(r"^[\d.]+ ms$"))
    expect(page.locator("#scored-text")).to_have_text(PAYLOAD)
    expect(page.locator("#scored-text img, #scored-text script")).to_have_count(0)
    queue_id = int(re.search(r"#(\d+)", page.locator("#queued").inner_text()).group(1))
    shot(page, "moderate")

    page.locator("#queued a").click()
    item = page.locator(f"#comment-{queue_id}")
    expect(item.locator(".comment-text")).to_have_text(PAYLOAD)
    expect(item.locator(".comment-text img, .comment-text script")).to_have_count(0)
    shot(page, "queue")
    page.get_by_role("link", name=f"{decided.title()} only").click()  # the policy's decision, as a filter
    expect(page).to_have_url(f"{url}/queue?status=pending&decision={decided}")
    item = page.locator(f"#comment-{queue_id}")
    expect(item.locator(".badge")).to_have_text(decided)

    item.get_by_label("Reason (optional)").fill("quoted in a news report")
    item.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash")).to_have_text(f"Comment #{queue_id} approved.")
    expect(page.locator(f"#comment-{queue_id}")).to_have_count(0)
    page.get_by_role("link", name=re.compile(r"^Approved")).click()
    expect(page).to_have_url(f"{url}/queue?status=approved&decision={decided}")  # the filter stays
    expect(page.locator(f"#comment-{queue_id} .decided")).to_contain_text("by mod")
    expect(page.locator(f"#comment-{queue_id} .decided")).to_contain_text("quoted in a news report")
    shot(page, "queue-approved")

    comment = services(app).store.comment(queue_id)
    assert (comment.status, comment.reviewer, comment.reason) == ("approved", "mod", "quoted in a news report")
    assert page.evaluate("window.pwned") is None and dialogs == []


def test_open_a_report(page: Page, live):
    url, _ = live
    page.goto(f"{url}/reports")
    page.locator("details summary").click()  # the summary.md, rendered as a table
    expect(page.get_by_role("cell", name="women")).to_be_visible()
    shot(page, "reports")
    page.locator("a.report-link", has_text="2025-11-fairness").click()
    expect(page).to_have_url(f"{url}/reports/2025-11-fairness/")
    expect(page.locator("h1")).to_have_text("Fairness audit")
    expect(page.locator("h1")).to_have_css("color", "rgb(0, 128, 0)")  # the report's own inline style applies
    expect(page.locator("#gap")).to_have_text("AUC gap 0.04")
    assert page.locator("body").get_attribute("data-ran") is None  # its script does not run (sandbox)
    expect(page.locator("#figure")).to_have_js_property("naturalWidth", 1)  # its figure loads (waits for it)
    shot(page, "report")


def test_plugins_and_model_pages(page: Page, live, default_model):
    url, _ = live
    page.goto(f"{url}/plugins")
    expect(page.get_by_role("cell", name="tfidf-lr")).to_be_visible()
    shot(page, "plugins")
    page.goto(f"{url}/model")
    expect(page.locator("#model-card h1")).to_have_text(
        f"Model card: the default moderation model ({read_manifest(default_model).model_id})")
    expect(page.get_by_role("cell", name="test_roc_auc").first).to_be_visible()
    shot(page, "model")


def test_audit_a_model_from_the_page_open_its_report_and_promote_it(page: Page, live, default_model):
    url, app = live
    candidate = read_manifest(services(app).settings.resolved_models_dir() / "candidate").model_id
    page.goto(f"{url}/login?next=%2Fmodels")
    page.get_by_label("Username").fill("mod")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{url}/models")
    card = page.locator("#model-candidate")
    expect(card).to_contain_text(candidate)
    expect(page.locator("#model-broken")).to_contain_text("Cannot be read")
    shot(page, "models")

    card.get_by_label("Data sets").fill("demo")
    card.get_by_role("button", name="Audit against serving").click()
    expect(page).to_have_url(re.compile(r"/models/jobs/\d+$"))
    shot(page, "audit-job")
    # The job page reloads itself (a meta refresh: no script runs on these pages) until the audit ends.
    expect(page.locator("#job-status")).to_have_text("finished", timeout=180_000)
    page.locator("#job-report").click()
    expect(page.locator("h1").first).to_contain_text("audit", ignore_case=True)
    shot(page, "audit-report")

    page.goto(f"{url}/models")
    expect(card).to_contain_text("cleared for promotion")
    card.get_by_role("button", name="Promote to serving").click()
    expect(page.locator(".flash")).to_contain_text(f"Promoted {candidate}")
    expect(page.locator("#serving")).to_contain_text(candidate)
    shot(page, "models-promoted")

    page.get_by_role("link", name="Moderate").click()
    page.get_by_label("Comment").fill("you are a complete idiot")
    page.get_by_role("button", name="Score").click()
    expect(page.locator("#model")).to_have_text(candidate)

    page.goto(f"{url}/models")
    page.locator("#rollback").click()
    expect(page.locator("#serving")).to_contain_text(read_manifest(default_model).model_id)
