"""The pages: moderation form, login, review queue, reports, plugins and model, with CSRF and escaping."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields

import pytest

from moderation.artifacts import MODEL_CARD, read_manifest
from moderation_web.settings import PARSERS, Settings, persistent_secret_key
from moderation_web.store import NewComment
from tests.web_support import PASSWORD, add_moderator, csrf_token, login, make_app, services, submit, write_report

TOXIC = "shut up you stupid worthless moron"
SCRIPT = '<script>alert("owned")</script> you stupid idiot'


@pytest.fixture(scope="module")
def app(tmp_path_factory, default_model):
    app = make_app(tmp_path_factory.mktemp("pages"), default_model)
    add_moderator(app, "mod")
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def moderator(client):
    assert login(client, "mod").status_code == 302
    return client


def queue_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="comment-(\d+)"', html)]


def decide(client, comment_id: int, action: str, reason: str = "", status: str = "pending", decision: str = ""):
    token = csrf_token(client.get(f"/queue?status={status}").text)
    prefix = f"c{comment_id}-"
    return client.post(f"/queue/{comment_id}", data={
        f"{prefix}csrf_token": token, f"{prefix}reason": reason, f"{prefix}{action}": action.title(),
        f"{prefix}back_status": status, f"{prefix}back_decision": decision, f"{prefix}back_page": "1"})


# The moderation form

def test_form_scores_a_comment_and_queues_it_for_a_moderator(app, moderator, default_model):
    response = submit(moderator, "/", "/", {"text": TOXIC})
    assert response.status_code == 200
    html = response.text
    decision = re.search(r'id="decision">(\w+)<', html).group(1)
    score = float(re.search(r'id="score">([\d.]+)<', html).group(1))
    assert decision in ("review", "block") and score >= 0.5
    assert read_manifest(default_model).model_id in html
    assert re.search(r'id="latency">[\d.]+ ms<', html)
    queue_id = int(re.search(r"Sent to the review queue as\s+<a[^>]*>#(\d+)", html).group(1))
    comment = services(app).store.comment(queue_id)
    assert (comment.text, comment.source, comment.submitted_by) == (TOXIC, "form", "mod")


def test_anonymous_form_scores_but_does_not_queue(app, client):
    before = services(app).store.status_counts()
    html = submit(client, "/", "/", {"text": TOXIC}).text
    assert re.search(r'id="decision">(review|block)<', html)
    assert "Not queued: only comments scored by a logged-in moderator" in html
    assert services(app).store.status_counts() == before


def test_anonymous_form_queues_when_the_setting_allows(tmp_path, default_model):
    app = make_app(tmp_path, default_model, queue_anonymous_form=True)
    html = submit(app.test_client(), "/", "/", {"text": TOXIC}).text
    queue_id = int(re.search(r"Sent to the review queue as\s+#(\d+)", html).group(1))
    assert services(app).store.comment(queue_id).submitted_by == "anonymous"


def test_anonymous_scoring_is_rate_limited_per_address(tmp_path, default_model):
    app = make_app(tmp_path, default_model, anonymous_per_minute=3)
    add_moderator(app, "mod")
    visitor = app.test_client()
    visitor.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    codes = [submit(visitor, "/", "/", {"text": "hello there"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.6"
    assert submit(other, "/", "/", {"text": "hello there"}).status_code == 200
    visitor_logged_in = app.test_client()
    visitor_logged_in.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    login(visitor_logged_in, "mod")
    assert submit(visitor_logged_in, "/", "/", {"text": "hello there"}).status_code == 200  # moderators: no limit


def test_form_below_threshold_is_not_queued(app, client):
    before = services(app).store.status_counts()
    html = submit(client, "/", "/", {"text": "have a lovely afternoon"}).text
    assert re.search(r'id="decision">allow<', html) and "Not queued" in html
    assert services(app).store.status_counts() == before


def test_form_escapes_the_comment(client):
    html = submit(client, "/", "/", {"text": SCRIPT}).text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html


def test_a_disguised_comment_shows_what_the_model_read_escaped(app, moderator):
    disguised = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in SCRIPT)  # fullwidth letters
    html = submit(moderator, "/", "/", {"text": disguised}).text
    assert re.search(r'id="decision">(review|block)<', html)
    assert 'id="read-as"' in html and "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt; you stupid idiot" in html
    assert "<script>" not in html
    queue = moderator.get("/queue").text
    assert disguised in queue and "Read by the model as:" in queue and "<script>" not in queue
    plain = submit(moderator, "/", "/", {"text": "have a lovely afternoon"}).text
    assert 'id="read-as"' not in plain


@pytest.mark.parametrize(("text", "message"), [("", "text is empty"), ("   ", "text is empty"),
                                               ("\u200b\u200b", "no visible characters")])
def test_form_rejects_empty_text_and_queues_nothing(app, client, text, message):
    before = services(app).store.status_counts()
    response = submit(client, "/", "/", {"text": text})
    assert response.status_code == 400 and message in response.text and 'id="decision"' not in response.text
    assert services(app).store.status_counts() == before


def test_form_without_csrf_token_is_refused(app, client):
    before = services(app).store.status_counts()
    response = client.post("/", data={"text": TOXIC})
    assert response.status_code == 400 and "did not come from this site" in response.text
    assert services(app).store.status_counts() == before


def test_form_body_over_the_bound_gets_413_page(client):
    token = csrf_token(client.get("/").text)
    response = client.post("/", data={"csrf_token": token, "text": "x" * 70_000})
    assert response.status_code == 413 and "over the limit of 65,536 bytes" in response.text
    assert response.content_type.startswith("text/html")


# Logging in

def test_queue_needs_login_and_login_returns_there(client):
    response = client.get("/queue?status=all")
    assert response.status_code == 302 and response.location.startswith("/login?next=")
    token = csrf_token(client.get(response.location).text)
    logged_in = client.post(response.location, data={"csrf_token": token, "username": "mod", "password": PASSWORD})
    assert logged_in.status_code == 302 and logged_in.location == "/queue?status=all"
    assert client.get("/queue").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x",
                                    "/x\r\nSet-Cookie: a=b", "/x\x00"])
def test_login_never_redirects_off_site(client, target):
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", query_string={"next": target},
                           data={"csrf_token": token, "username": "mod", "password": PASSWORD})
    assert response.status_code == 302 and response.location == "/queue"


def test_wrong_password_is_one_message_for_name_and_password(client):
    wrong_password = login(client, "mod", "not the password")
    unknown_user = login(client, "nobody", PASSWORD)
    for response in (wrong_password, unknown_user):
        assert response.status_code == 200 and "Wrong username or password." in response.text
    assert client.get("/queue").status_code == 302


def test_failed_logins_are_rate_limited_per_address(tmp_path, default_model):
    app = make_app(tmp_path, default_model, login_attempts=3)
    add_moderator(app, "mod")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(3):
        assert login(attacker, "mod", "guess").status_code == 200
    blocked = login(attacker, "mod", PASSWORD)  # even the right password, once over the limit
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) == 600
    assert "Too many failed logins" in blocked.text
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert login(other, "mod").status_code == 302


def _attacker(app, address: str = "203.0.113.9"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_parallel_wrong_passwords_get_at_most_the_limit_of_checks(tmp_path, default_model, monkeypatch):
    import moderation_web.auth as auth

    app = make_app(tmp_path, default_model, login_attempts=5)
    add_moderator(app, "mod")
    checks = []
    real_check = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: checks.append(p) or real_check(h, p))
    clients = [_attacker(app) for _ in range(20)]
    tokens = [csrf_token(c.get("/login").text) for c in clients]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda ct: ct[0].post("/login", data={"csrf_token": ct[1], "username": "mod",
                                                                    "password": "guess"}).status_code,
                              zip(clients, tokens, strict=True)))
    assert len(checks) == 5 and codes.count(429) == 15


def test_a_success_clears_only_its_own_usernames_failures(tmp_path, default_model):
    app = make_app(tmp_path, default_model, login_attempts=3)
    add_moderator(app, "alice")
    add_moderator(app, "bob")
    attacker = _attacker(app)
    codes = []
    for _ in range(3):  # two guesses at alice, then a real login as bob, repeated
        codes += [login(attacker, "alice", "guess").status_code for _ in range(2)]
        codes.append(login(attacker, "bob").status_code)
        if codes[-1] == 302:
            submit(attacker, "/", "/logout", {})
    assert codes[:5] == [200, 200, 302, 200, 429]  # alice's counter survived bob's login
    assert login(_attacker(app, "198.51.100.7"), "alice").status_code == 302  # another address is not blocked


def test_failed_logins_are_also_limited_per_address(tmp_path, default_model):
    app = make_app(tmp_path, default_model, login_attempts=3, login_attempts_per_address=5)
    add_moderator(app, "mod")
    attacker = _attacker(app)
    codes = [login(attacker, f"name{i}", "guess").status_code for i in range(6)]
    assert codes == [200] * 5 + [429]


def test_a_copied_session_cookie_dies_at_logout(app, default_model):
    client = app.test_client()
    login(client, "mod")
    cookie = client.get_cookie("moderation_session").value
    submit(client, "/queue", "/logout", {})
    replay = app.test_client()
    replay.set_cookie("moderation_session", cookie)
    assert replay.get("/queue").status_code == 302


@pytest.mark.parametrize("action", ["passwd", "disable", "remove"])
def test_password_change_disable_and_removal_end_sessions(tmp_path, default_model, action):
    from moderation_web.auth import change_password

    app = make_app(tmp_path, default_model)
    add_moderator(app, "carol")
    client = app.test_client()
    login(client, "carol")
    assert client.get("/queue").status_code == 200
    store = services(app).store
    {"passwd": lambda: change_password(store, "carol", "a brand new password"),
     "disable": lambda: store.set_disabled("carol", True),
     "remove": lambda: store.remove_user("carol")}[action]()
    assert client.get("/queue").status_code == 302
    assert login(app.test_client(), "carol").status_code == 200  # the old password (or account) no longer works
    if action == "disable":
        store.set_disabled("carol", False)
        assert login(app.test_client(), "carol").status_code == 302


def test_sessions_expire_after_their_lifetime(tmp_path, default_model):
    app = make_app(tmp_path, default_model, session_lifetime_s=1)
    add_moderator(app, "mod")
    client = app.test_client()
    login(client, "mod")
    assert client.get("/queue").status_code == 200
    time.sleep(1.2)
    assert client.get("/queue").status_code == 302


def test_a_queue_id_beyond_any_database_is_a_404(moderator):
    token = csrf_token(moderator.get("/").text)
    response = moderator.post(f"/queue/{2**63}", data={f"c{2**63}-csrf_token": token, f"c{2**63}-approve": "Approve"})
    assert response.status_code == 404


def test_logout_is_a_post_with_csrf(moderator):
    assert moderator.get("/logout").status_code == 405
    assert moderator.post("/logout").status_code == 400  # no CSRF token
    assert submit(moderator, "/queue", "/logout", {}).status_code == 302
    assert moderator.get("/queue").status_code == 302


def test_session_cookie_flags(tmp_path, default_model):
    for secure in (False, True):
        app = make_app(tmp_path / str(secure), default_model, secure_cookies=secure)
        add_moderator(app, "mod")
        client = app.test_client()
        cookie = login(client, "mod").headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


# The review queue

def test_queue_lists_pending_newest_first_escaped(app, moderator):
    first = submit(moderator, "/", "/", {"text": TOXIC + " first"})
    second = submit(moderator, "/", "/", {"text": SCRIPT})
    ids = [int(re.search(r"queue as\s+<a [^>]*>#(\d+)", r.text).group(1)) for r in (first, second)]
    html = moderator.get("/queue").text
    shown = queue_ids(html)
    assert shown.index(ids[1]) < shown.index(ids[0])  # newest first
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert services(app).store.comment(ids[1]).submitted_by == "mod"


def test_approve_with_reason_records_who_and_when(app, moderator):
    [comment_id] = services(app).store.enqueue([_flagged("approve me")])
    response = decide(moderator, comment_id, "approve", reason="satire, not abuse")
    assert response.status_code == 303 and response.location == "/queue?status=pending&page=1"
    comment = services(app).store.comment(comment_id)
    assert (comment.status, comment.reviewer, comment.reason) == ("approved", "mod", "satire, not abuse")
    assert comment.reviewed_at is not None and comment.reviewed_at >= comment.created_at
    assert comment_id not in queue_ids(moderator.get("/queue").text)
    approved = moderator.get("/queue?status=approved").text
    assert comment_id in queue_ids(approved) and "satire, not abuse" in approved
    assert "by <strong>mod</strong>" in approved


def test_reject_without_reason(app, moderator):
    [comment_id] = services(app).store.enqueue([_flagged("reject me")])
    decide(moderator, comment_id, "reject")
    comment = services(app).store.comment(comment_id)
    assert (comment.status, comment.reviewer, comment.reason) == ("rejected", "mod", None)
    assert f"Comment #{comment_id} rejected." in moderator.get("/queue").text


def test_a_decided_comment_cannot_be_decided_again(app, moderator):
    [comment_id] = services(app).store.enqueue([_flagged("decide me twice")])
    decide(moderator, comment_id, "approve")
    token = csrf_token(moderator.get("/queue?status=all").text)
    prefix = f"c{comment_id}-"
    moderator.post(f"/queue/{comment_id}", data={f"{prefix}csrf_token": token, f"{prefix}reject": "Reject"})
    assert services(app).store.comment(comment_id).status == "approved"
    assert f"comment #{comment_id} was already approved by mod" in moderator.get("/queue").text


def test_over_long_reason_changes_nothing(app, moderator):
    [comment_id] = services(app).store.enqueue([_flagged("long reason")])
    decide(moderator, comment_id, "reject", reason="x" * 501)
    assert services(app).store.comment(comment_id).status == "pending"
    assert f"Comment #{comment_id} was not changed" in moderator.get("/queue").text


def test_deciding_needs_login_and_csrf(app, client, moderator):
    [comment_id] = services(app).store.enqueue([_flagged("protected")])
    anonymous = app.test_client()
    assert anonymous.post(f"/queue/{comment_id}", data={f"c{comment_id}-approve": "Approve"}).status_code in (302, 400)
    assert moderator.post(f"/queue/{comment_id}", data={f"c{comment_id}-approve": "Approve"}).status_code == 400
    assert services(app).store.comment(comment_id).status == "pending"
    assert decide(moderator, 10**9, "approve").status_code == 404


def test_queue_filters_and_pages(tmp_path, default_model):
    app = make_app(tmp_path, default_model, page_size=2)
    add_moderator(app, "mod")
    client = app.test_client()
    login(client, "mod")
    ids = services(app).store.enqueue([_flagged(f"comment {i}") for i in range(5)])
    services(app).store.decide(ids[0], "rejected", "mod", None)
    pages = [queue_ids(client.get(f"/queue?page={n}").text) for n in (1, 2)]
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]]]
    assert "Page 2 of 2" in client.get("/queue?page=2").text
    assert queue_ids(client.get("/queue?page=99").text) == [ids[2], ids[1]]  # clamped to the last page
    assert queue_ids(client.get("/queue?status=rejected").text) == [ids[0]]
    assert queue_ids(client.get("/queue?status=all&page=3").text) == [ids[0]]
    assert client.get("/queue?status=bogus").status_code == 400


def test_queue_filters_by_the_policys_decision_and_keeps_the_filter(tmp_path, default_model):
    app = make_app(tmp_path, default_model)
    add_moderator(app, "mod")
    client = app.test_client()
    login(client, "mod")
    store = services(app).store
    band = store.enqueue([_flagged("unsure one"), _flagged("unsure two")])
    [blocked] = store.enqueue([NewComment("sure one", 0.99, "block", "test-model", "api", "token:test")])
    assert queue_ids(client.get("/queue").text) == [blocked, band[1], band[0]]
    assert queue_ids(client.get("/queue?decision=block").text) == [blocked]
    html = client.get("/queue?decision=review").text
    assert queue_ids(html) == [band[1], band[0]]
    assert re.search(r'Pending\s*<span class="count">2</span>', html)  # counts within the filter
    assert 'href="/queue?status=approved&amp;decision=review"' in html  # the status tabs keep it
    assert client.get("/queue?decision=allow").status_code == 400
    response = decide(client, band[0], "approve", decision="review")
    assert response.status_code == 303 and response.location == "/queue?status=pending&decision=review&page=1"
    assert queue_ids(client.get(response.location).text) == [band[1]]


# Reports

@pytest.fixture
def reports_app(tmp_path, default_model):
    return make_app(tmp_path, default_model)


def test_reports_are_listed_newest_first_with_summaries(reports_app, tmp_path):
    root = tmp_path / "reports"
    old = write_report(root, "2024-audit", summary="# Old\n\n| slice | auc |\n| --- | --- |\n| women | 0.81 |\n")
    os.utime(old / "report.html", (1_700_000_000, 1_700_000_000))
    write_report(root, "2025-audit", summary="Bias <script>alert(1)</script> **found**")
    (root / "not-a-report").mkdir()
    (root / "stray.txt").write_text("x")
    html = reports_app.test_client().get("/reports").text
    assert html.index("2025-audit") < html.index("2024-audit") and "not-a-report" not in html
    assert "<td>women</td>" in html  # markdown tables render
    assert "<strong>found</strong>" in html and "<script>" not in html and "&lt;script&gt;" in html


def test_no_reports_folder_means_an_empty_list(reports_app):
    response = reports_app.test_client().get("/reports")
    assert response.status_code == 200 and "No reports yet." in response.text


def test_report_opens_sandboxed(reports_app, tmp_path):
    write_report(tmp_path / "reports", "audit-1", title="Audit one")
    client = reports_app.test_client()
    page = client.get("/reports/audit-1/")
    assert page.status_code == 200 and "<h1>Audit one</h1>" in page.text
    assert page.content_type.startswith("text/html")
    assert page.headers["Content-Security-Policy"].startswith("sandbox;")
    assert client.get("/reports/audit-1").status_code == 308  # to the folder URL, so relative links work
    data = client.get("/reports/audit-1/report.json")
    assert data.status_code == 200 and data.json == {"summary": {"auc_gap": 0.04}}
    assert client.get("/reports/audit-1/summary.md").content_type == "text/plain; charset=utf-8"
    (tmp_path / "reports" / "audit-1" / "figures").mkdir()
    (tmp_path / "reports" / "audit-1" / "figures" / "gap.png").write_bytes(b"\x89PNG\r\n")
    figure = client.get("/reports/audit-1/figures/gap.png")
    assert figure.status_code == 200 and figure.content_type == "image/png"
    assert figure.headers["Content-Security-Policy"].startswith("sandbox;")


@pytest.mark.parametrize("url", [
    "/reports/../secret.txt", "/reports/%2e%2e/secret.txt", "/reports/audit-1/../../secret.txt",
    "/reports/audit-1/%2e%2e/%2e%2e/secret.txt", "/reports/audit-1/..%2f..%2fsecret.txt",
    "/reports/audit-1/%2fetc%2fpasswd", "/reports/audit-1//etc/passwd", "/reports/./", "/reports/%2e/report.html",
    "/reports/audit-1/escape.txt", "/reports/linked/", "/reports/linked/report.html", "/reports/no-page/",
    "/reports/audit-1/missing.html", "/reports/audit-1/sub/",
])
def test_report_files_never_leave_the_report_folder(reports_app, tmp_path, url):
    root = tmp_path / "reports"
    folder = write_report(root, "audit-1")
    (folder / "sub").mkdir()
    (tmp_path / "secret.txt").write_text("top secret")
    (root / "report.html").write_text("root itself is not a report")
    outside = write_report(tmp_path / "elsewhere", "outside")
    (folder / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "no-page").mkdir()
    response = reports_app.test_client().get(url)
    assert response.status_code in (404, 308)
    if response.status_code == 308:  # werkzeug normalises the path first; follow it and check again
        response = reports_app.test_client().get(response.location)
        assert response.status_code == 404
    assert b"top secret" not in response.data and b"root itself" not in response.data


# Plugins and model

def test_plugins_page_lists_installed_plugins(client):
    html = client.get("/plugins").text
    assert "<code>tfidf-lr</code>" in html and "<code>demo</code>" in html and "moderation" in html


def test_plugin_errors_with_server_paths_are_for_moderators_only(tmp_path, app, moderator, monkeypatch):
    import moderation_web.pages as pages
    from moderation.plugins import build_registry, entry_points
    from tests.conftest import make_distribution

    site = make_distribution(tmp_path / "site", "broken-import", "1.0", {"boom": "boom_plugin"},
                             {"boom_plugin": "raise RuntimeError('cannot import me')\n"})
    monkeypatch.syspath_prepend(str(site))
    registry = build_registry(entry_points())
    monkeypatch.setattr(pages, "get_registry", lambda: registry)
    anonymous = app.test_client().get("/plugins").text
    assert "broken-import" in anonymous and "Log in to see the error" in anonymous
    assert str(site) not in anonymous and "cannot import me" not in anonymous
    shown = moderator.get("/plugins").text
    assert "cannot import me" in shown and str(site) in shown


def test_model_page_shows_metrics_and_card(client, default_model):
    manifest = read_manifest(default_model)
    html = client.get("/model").text
    assert manifest.model_id in html and "test_roc_auc" in html
    assert f"{manifest.metrics['test_roc_auc']:.4f}" in html
    assert f"<h1>Model card: the default moderation model (<code>{manifest.model_id}</code>)</h1>" in html


def test_server_paths_are_for_moderators_only(app, client, moderator, default_model):
    anonymous = app.test_client()
    assert str(default_model) not in anonymous.get("/model").text
    assert str(services(app).settings.resolved_reports_dir()) not in anonymous.get("/reports").text
    assert str(default_model) in moderator.get("/model").text
    assert str(services(app).settings.resolved_reports_dir()) in moderator.get("/reports").text


def test_model_card_html_is_escaped(tmp_path, default_model):
    model = tmp_path / "model"
    shutil.copytree(default_model, model)
    (model / MODEL_CARD).write_text("# Card\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))\n")
    html = make_app(tmp_path, model).test_client().get("/model").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html and "[click](javascript:alert(1))" in html  # left as text


# Headers, errors, configuration

def test_pages_send_security_headers(client):
    headers = client.get("/").headers
    assert "script-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.content_type.startswith("text/html")
    assert "404 · Not Found" in response.text


def test_static_files_are_local(client):
    html = client.get("/").text
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no CDN, nothing off-site
    assert client.get("/static/style.css").status_code == 200


def test_secret_key_is_generated_once_and_shared(tmp_path):
    path = tmp_path / "web" / "secret_key"
    first = persistent_secret_key(path)
    assert persistent_secret_key(path) == first and len(first) == 64
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_workers_racing_to_create_the_secret_key_all_get_the_same_one(tmp_path):
    path = tmp_path / "web" / "secret_key"
    start = threading.Barrier(8)

    def key(_: int) -> str:
        start.wait()
        return persistent_secret_key(path)

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(key, range(8)))
    assert keys == {path.read_text()} and [p.name for p in path.parent.iterdir()] == ["secret_key"]


def test_apps_without_a_configured_key_share_the_persisted_one(tmp_path, default_model):
    one, two = (make_app(tmp_path, default_model, secret_key=None) for _ in range(2))
    assert one.secret_key == two.secret_key
    add_moderator(one, "mod")
    client = one.test_client()
    login(client, "mod")
    cookie = client.get_cookie("moderation_session").value
    other = two.test_client()
    other.set_cookie("moderation_session", cookie)
    assert other.get("/queue").status_code == 200  # a session from one worker is valid in another


def test_every_setting_can_come_from_the_environment():
    assert set(PARSERS) == {f.name for f in fields(Settings)}


def test_settings_from_env():
    settings = Settings.from_env({"MODERATION_REVIEW_THRESHOLD": "0.4", "MODERATION_ALLOW_ANONYMOUS_API": "yes",
                                  "MODERATION_MAX_BODY_BYTES": "1024", "MODERATION_DATABASE_URL": " "})
    assert (settings.review_threshold, settings.allow_anonymous_api, settings.max_body_bytes) == (0.4, True, 1024)
    assert settings.database_url is None
    with pytest.raises(ValueError, match="MODERATION_MAX_BATCH='many' is invalid"):
        Settings.from_env({"MODERATION_MAX_BATCH": "many"})
    with pytest.raises(ValueError, match="MODERATION_SECURE_COOKIES='maybe' is invalid"):
        Settings.from_env({"MODERATION_SECURE_COOKIES": "maybe"})
    with pytest.raises(ValueError, match="thresholds must satisfy"):
        Settings.from_env({"MODERATION_REVIEW_THRESHOLD": "0.95"})


def _flagged(text: str) -> NewComment:
    return NewComment(text, 0.75, "review", "test-model", "api", "token:test")
