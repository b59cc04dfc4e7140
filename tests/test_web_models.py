"""Models in the web app: the models folder, audits started from the page, promotion, rollback, and
every gunicorn worker switching to a promoted model without a restart."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from moderation.artifacts import read_manifest
from moderation_web.models import clearing_audit
from moderation_web.store import FAILED, FINISHED, RUNNING, Store, metadata
from tests.web_support import add_moderator, load_benchmark, login, make_app, saved_models, services, submit


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return saved_models(tmp_path_factory.mktemp("models"))


@pytest.fixture
def app(tmp_path, default_model, models_dir):
    return make_app(tmp_path, default_model, models_dir=models_dir, model_check_s=0.0)


@pytest.fixture
def moderator(app):
    client = app.test_client()
    login(client, add_moderator(app))
    return client


def serving_id(client) -> str:
    return client.get("/api/v1/health").json["model"]


def test_models_page_needs_login_and_shows_each_saved_model_beside_the_serving_one(app, moderator, models_dir,
                                                                                  default_model):
    assert app.test_client().get("/models").status_code == 302
    page = moderator.get("/models").text
    candidate = read_manifest(models_dir / "candidate")
    assert candidate.model_id in page and read_manifest(default_model).model_id in page
    assert 'id="model-broken"' in page and "Cannot be read" in page
    assert f"{candidate.metrics['test_roc_auc']:.4f}" in page
    assert "No promotions yet" in page


def test_promotion_without_a_passing_audit_needs_a_recorded_override_and_rolls_back(app, moderator, models_dir,
                                                                                    default_model):
    client = app.test_client()
    default_id, candidate_id = read_manifest(default_model).model_id, read_manifest(models_dir / "candidate").model_id
    refused = submit(moderator, "/models", "/models/candidate/promote", {"promote": "1"})
    assert refused.status_code == 303 and serving_id(client) == default_id
    assert "has no finished audit" in moderator.get("/models").text
    no_reason = submit(moderator, "/models", "/models/candidate/promote", {"promote": "1", "override": "y"})
    assert no_reason.status_code == 303 and serving_id(client) == default_id

    submit(moderator, "/models", "/models/candidate/promote",
           {"promote": "1", "override": "y", "reason": "urgent fix for a slur the old model missed"})
    assert serving_id(client) == candidate_id
    form = submit(client, "/", "/", {"text": "you are a lovely person"}).text
    assert candidate_id in form
    [promotion] = services(app).store.promotions()
    assert (promotion.model_id, promotion.replaced_id, promotion.promoted_by) == (candidate_id, default_id, "mod")
    assert promotion.override_reason == "urgent fix for a slur the old model missed" and promotion.audit_job is None

    submit(moderator, "/models", "/models/rollback", {"rollback": "1"})
    assert serving_id(client) == default_id
    latest = services(app).store.promotions()[0]
    assert latest.rollback_of == promotion.id and latest.model_id == default_id
    assert "rollback of #1" in moderator.get("/models").text


def test_a_promotion_survives_a_restart(tmp_path, default_model, models_dir):
    first = make_app(tmp_path, default_model, models_dir=models_dir)
    candidate = read_manifest(models_dir / "candidate")
    services(first).store.promote(str(models_dir / "candidate"), candidate.model_id, str(default_model),
                                  read_manifest(default_model).model_id, "mod", override_reason="test")
    restarted = make_app(tmp_path, default_model, models_dir=models_dir)
    assert serving_id(restarted.test_client()) == candidate.model_id


def test_an_audit_started_from_the_page_runs_in_the_background_and_clears_promotion(tmp_path, default_model,
                                                                                  models_dir):
    app = make_app(tmp_path, default_model, models_dir=models_dir, model_check_s=0.0,
                   promotion_gates=("overall_auc=0.5",))
    moderator = app.test_client()
    login(moderator, add_moderator(app))
    started = submit(moderator, "/models", "/models/candidate/audit", {"start": "1", "datasets": "demo"})
    assert started.status_code == 303 and "/models/jobs/" in started.location
    job_id = int(started.location.rsplit("/", 1)[1])
    page = moderator.get(f"/models/jobs/{job_id}").text
    assert 'http-equiv="refresh"' in page or "finished" in page
    store = services(app).store
    deadline = time.monotonic() + 240
    while store.job(job_id).status == RUNNING and time.monotonic() < deadline:
        time.sleep(1)
    job = store.job(job_id)
    assert job.status == FINISHED, job.detail
    assert job.gates_passed == 1
    done = moderator.get(f"/models/jobs/{job_id}").text
    assert 'http-equiv="refresh"' not in done and 'id="job-report"' in done
    report = json.loads((tmp_path / "reports" / job.report / "report.json").read_text())
    assert [(g["metric"], g["passed"]) for g in report["gates"]] == [("overall_auc", True)]
    assert job.report in moderator.get("/reports").text
    assert moderator.get(f"/reports/{job.report}/").status_code == 200

    assert "cleared for promotion" in moderator.get("/models").text
    submit(moderator, "/models", "/models/candidate/promote", {"promote": "1"})
    assert serving_id(moderator) == job.model_id
    assert store.promotions()[0].audit_job == job_id


def test_audits_run_only_on_installed_data_sets(app, moderator):
    for data in ("/etc/passwd", "demo,../../secret", ""):
        submit(moderator, "/models", "/models/candidate/audit", {"start": "1", "datasets": data or " "})
    assert services(app).store.jobs() == []
    assert moderator.post("/models/nope/audit").status_code in (400, 404)
    assert submit(moderator, "/models", "/models/broken/promote", {"promote": "1"}).status_code == 404
    assert submit(moderator, "/models", "/models/..%2F..%2Fetc/promote", {"promote": "1"}).status_code == 404


def test_only_a_finished_audit_against_the_model_serving_now_whose_gates_pass_clears(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    store.create_schema()

    def job(model: str, reference: str, status: str, passed: bool | None) -> None:
        added = store.add_job("p", model, "r", reference, f"r{model}{reference}{status}", "log", "mod")
        if status != RUNNING:
            store.finish_job(added.id, status, passed, None)

    job("a", "serving", FINISHED, True)
    job("b", "serving", FINISHED, False)
    job("c", "old", FINISHED, True)
    job("d", "serving", FAILED, None)
    job("e", "serving", RUNNING, None)
    jobs = store.jobs()
    assert clearing_audit(jobs, "a", "serving") is not None
    for model in "bcde":
        assert clearing_audit(jobs, model, "serving") is None, model
    job("a", "serving", FINISHED, False)  # a newer failing audit outweighs an older passing one
    assert clearing_audit(store.jobs(), "a", "serving") is None


def test_a_database_of_the_previous_release_is_upgraded_in_place(database_url):
    engine = create_engine(database_url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        for table in ("promotions", "jobs"):
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("ALTER TABLE users DROP COLUMN disabled_at"))
        conn.execute(text("INSERT INTO users (username, password_hash, created_at) "
                          "VALUES ('old', 'h', CURRENT_TIMESTAMP)"))
    engine.dispose()
    store = Store(database_url)
    store.create_schema()
    tables = set(inspect(store.engine).get_table_names())
    assert {"promotions", "jobs"} <= tables
    assert store.user_by_name("old").disabled_at is None and store.latest_promotion_id() is None
    store.dispose()


def test_every_gunicorn_worker_switches_to_a_promoted_model_within_seconds(tmp_path, default_model, models_dir):
    bench = load_benchmark()
    database = f"sqlite:///{tmp_path / 'web.db'}"
    settings = {"MODERATION_MODELS_DIR": str(models_dir), "MODERATION_MODEL_CHECK_S": "1"}
    candidate = read_manifest(models_dir / "candidate").model_id
    with bench.gunicorn_server(default_model, tmp_path, workers=2, settings=settings, database=database) as server:
        health = f"{server.url}/api/v1/health"
        assert bench.wait_healthy(health, server.process)["model"] == read_manifest(default_model).model_id
        store = Store(database)
        store.promote(str(models_dir / "candidate"), candidate, str(default_model),
                      read_manifest(default_model).model_id, "mod", override_reason="test")
        promoted_at = time.monotonic()
        switched = None
        while time.monotonic() - promoted_at < 15:
            # Many requests in a row: each worker answers some, and all of them must serve the new model.
            seen = {json.load(urllib.request.urlopen(health))["model"] for _ in range(20)}
            if seen == {candidate}:
                switched = time.monotonic() - promoted_at
                break
            time.sleep(0.2)
        store.dispose()
        assert switched is not None and switched < 10, "a worker still served the old model after 15 s"


def test_an_audit_that_fails_is_recorded_with_its_error(tmp_path, default_model, models_dir):
    app = make_app(tmp_path, default_model, models_dir=models_dir, promotion_gates=("no_such_metric=0.5",))
    moderator = app.test_client()
    login(moderator, add_moderator(app))
    started = submit(moderator, "/models", "/models/candidate/audit", {"start": "1", "datasets": "demo"})
    job_id = int(started.location.rsplit("/", 1)[1])
    store = services(app).store
    deadline = time.monotonic() + 120
    while store.job(job_id).status == RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
    job = store.job(job_id)
    assert job.status == FAILED and "no_such_metric" in job.detail
    assert "no_such_metric" in moderator.get(f"/models/jobs/{job_id}").text
    assert submit(moderator, "/models", "/models/candidate/promote", {"promote": "1"}).status_code == 303
    assert services(app).store.promotions() == []


WARMING = """
import os
from moderation import hookimpl

class Warm:
    '''Counts its warm-ups in a file (test plugin).'''
    name = "warm"

    @staticmethod
    def warm_up():
        with open(os.environ["WARMED"], "a") as f:
            f.write("warmed\\n")

class Cold(Warm):
    '''Fails to warm up (test plugin).'''
    name = "cold"

    @staticmethod
    def warm_up():
        raise RuntimeError("no such library")

@hookimpl
def register_students(register):
    register(Warm)
    register(Cold)
"""


def test_a_worker_warms_every_plugins_loader_and_survives_one_that_fails(tmp_path, monkeypatch, caplog):
    import moderation_web.service as service
    from moderation.plugins import build_registry, entry_points
    from tests.conftest import make_distribution

    site = make_distribution(tmp_path / "site", "warming", "1.0", {"warm": "warm_plugin"}, {"warm_plugin": WARMING})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("WARMED", str(tmp_path / "warmed.txt"))
    registry = build_registry(entry_points())
    monkeypatch.setattr(service, "get_registry", lambda: registry)
    service.warm_model_loaders()
    assert (tmp_path / "warmed.txt").read_text() == "warmed\n"
    assert "'cold' failed to warm up" in caplog.text and "no such library" in caplog.text
    assert "sklearn.linear_model" in __import__("sys").modules  # the built-in tfidf-lr warmed up too
