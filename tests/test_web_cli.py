"""`moderation token`, `moderation user` and `moderation serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from moderation.artifacts import read_manifest
from moderation.cli import main
from tests.conftest import BIN, run_cli
from tests.web_support import PASSWORD, load_benchmark, login, make_app


@pytest.fixture
def database(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'web.db'}"


def cli(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_token_create_prints_the_token_once_and_stores_its_hash(tmp_path, database, default_model):
    created = run_cli("token", "create", "--name", "crm", "--database", database)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("mod_") and len(token) > 40 and "\n" not in token  # stdout is the token alone
    assert "shown only this once" in created.stderr
    assert token not in (tmp_path / "web.db").read_bytes().decode("latin-1")
    app = make_app(tmp_path, default_model)
    response = app.test_client().post("/api/v1/moderate", json={"text": "hello"},
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_token_list_revoke_and_errors(database):
    made = json.loads(cli("token", "create", "--name", "svc", "--database", database, "--json").output)
    assert made["name"] == "svc" and made["token"].startswith("mod_")
    duplicate = cli("token", "create", "--name", "svc", "--database", database)
    assert duplicate.exit_code == 1 and "a token named 'svc' is active; revoke it first" in duplicate.output
    bad_name = cli("token", "create", "--name", "has space", "--database", database)
    assert bad_name.exit_code == 1 and "is not allowed" in bad_name.output
    assert "svc\tcreated" in cli("token", "list", "--database", database).output
    revoked = cli("token", "revoke", "svc", "--database", database)
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    [row] = json.loads(cli("token", "list", "--json", "--database", database).output)
    assert row["name"] == "svc" and row["revoked_at"] is not None
    unknown = cli("token", "revoke", "nope", "--database", database)
    assert unknown.exit_code == 1 and "no token named 'nope'" in unknown.output


def test_a_revoked_tokens_name_can_be_used_again(tmp_path, database, default_model):
    old = json.loads(cli("token", "create", "--name", "svc", "--database", database, "--json").output)["token"]
    cli("token", "revoke", "svc", "--database", database)
    again = cli("token", "create", "--name", "svc", "--database", database, "--json")
    assert again.exit_code == 0, again.output
    new = json.loads(again.output)["token"]
    rows = {r["name"]: r for r in json.loads(cli("token", "list", "--json", "--database", database).output)}
    assert rows["svc"]["revoked_at"] is None and any(n.startswith("svc~") and r["revoked_at"] for n, r in rows.items())
    client = make_app(tmp_path, default_model).test_client()
    for token, code in ((old, 401), (new, 200)):
        response = client.post("/api/v1/moderate", json={"text": "hi"}, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == code


def test_user_passwd_disable_enable_remove(tmp_path, database, default_model):
    cli("user", "add", "alice", "--password-stdin", "--database", database, input=PASSWORD + "\n")
    app = make_app(tmp_path, default_model)
    new_password = "another long password"
    changed = cli("user", "passwd", "alice", "--password-stdin", "--database", database, input=new_password + "\n")
    assert changed.exit_code == 0 and "sessions have ended" in changed.output
    assert login(app.test_client(), "alice").status_code == 200
    assert login(app.test_client(), "alice", new_password).status_code == 302
    assert cli("user", "disable", "alice", "--database", database).exit_code == 0
    [row] = json.loads(cli("user", "list", "--json", "--database", database).output)
    assert row["disabled_at"] is not None
    assert login(app.test_client(), "alice", new_password).status_code == 200
    assert cli("user", "enable", "alice", "--database", database).exit_code == 0
    assert login(app.test_client(), "alice", new_password).status_code == 302
    assert cli("user", "remove", "alice", "--database", database).exit_code == 0
    assert json.loads(cli("user", "list", "--json", "--database", database).output) == []
    for verb in ("passwd", "disable", "remove"):
        missing = cli("user", verb, "ghost", "--password-stdin", "--database", database, input=PASSWORD + "\n") \
            if verb == "passwd" else cli("user", verb, "ghost", "--database", database)
        assert missing.exit_code == 1 and "no moderator named 'ghost'" in missing.output


def test_user_add_then_log_in(tmp_path, database, default_model):
    added = cli("user", "add", "alice", "--password-stdin", "--database", database, input=PASSWORD + "\n")
    assert added.exit_code == 0 and "Added moderator 'alice'" in added.output
    prompted = cli("user", "add", "bob", "--database", database, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert [u["username"] for u in json.loads(cli("user", "list", "--json", "--database", database).output)] == [
        "alice", "bob"]
    client = make_app(tmp_path, default_model).test_client()
    assert login(client, "alice").status_code == 302
    with (tmp_path / "web.db").open("rb") as fh:
        assert PASSWORD.encode() not in fh.read()


@pytest.mark.parametrize(("args", "password", "message"), [
    (["alice"], "short", "too short"),
    (["bad name"], PASSWORD, "is not allowed"),
])
def test_user_add_refuses_bad_input(database, args, password, message):
    result = cli("user", "add", *args, "--password-stdin", "--database", database, input=password + "\n")
    assert result.exit_code == 1 and message in result.output


def test_user_add_refuses_a_duplicate(database):
    cli("user", "add", "ann", "--password-stdin", "--database", database, input=PASSWORD + "\n")
    again = cli("user", "add", "ann", "--password-stdin", "--database", database, input=PASSWORD + "\n")
    assert again.exit_code == 1 and "already exists" in again.output


def test_unusable_database_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    result = cli("token", "list", "--database", f"sqlite:///{tmp_path / 'file' / 'db.sqlite'}")
    assert result.exit_code == 1 and "cannot use the database" in result.output


def test_serve_answers_on_the_port_with_the_default_model(tmp_path, default_model):
    bench = load_benchmark()
    port = bench.free_port()
    env = {**os.environ, "MODERATION_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}"}
    # A suite started in the background (``pytest &`` in a script, as CI may do) runs with SIGINT ignored,
    # and a child inherits that: the server would never see the Ctrl-C this test sends. Give it the
    # terminal's default, as a user's foreground `moderation serve` has.
    server = subprocess.Popen([str(BIN / "moderation"), "serve", "--port", str(port), "--review-threshold", "0.2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        health = bench.wait_healthy(f"http://127.0.0.1:{port}/api/v1/health", server)
        assert health["model"] == read_manifest(default_model).model_id
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/moderate", data=b'{"text": "hi"}',
                headers={"Content-Type": "application/json"}), timeout=10)
        assert refused.value.code == 401
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output = server.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            server.kill()
            pytest.fail(f"moderation serve did not stop within 30 s of Ctrl-C: {server.communicate()[0]}")
    assert "review at 0.2" in output and "needs a bearer token" in output


def test_serve_with_a_missing_model_is_one_line():
    result = cli("serve", "--model", "/nonexistent/model")
    assert result.exit_code == 1 and "does not exist" in result.output


@pytest.mark.parametrize(("url", "message"), [
    ("notaurl", "is not a URL SQLAlchemy can read"),
    ("postgresql+nosuchdriver://u:secret@localhost/db", "driver for postgresql+nosuchdriver://u:***@localhost/db"),
])
def test_serve_with_a_bad_database_url_is_one_line(url, message):
    result = run_cli("serve", "--database", url)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert "secret" not in result.stderr

