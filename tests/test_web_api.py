"""The JSON API: bearer tokens, single and batch moderation, the queue it feeds, and every kind of bad input."""

from __future__ import annotations

import io
import json

import pytest

from moderation.artifacts import read_manifest
from tests.web_support import make_app, new_token, services

TOXIC = "shut up you stupid worthless moron"
CLEAN = "thank you for the thoughtful edit"


@pytest.fixture(scope="module")
def app(tmp_path_factory, default_model):
    return make_app(tmp_path_factory.mktemp("api"), default_model)


@pytest.fixture(scope="module")
def auth(app):
    return {"Authorization": f"Bearer {new_token(app, 'api-tests')}"}


@pytest.fixture
def client(app):
    return app.test_client()


def test_health_is_open_and_names_the_model(client, default_model):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "model": read_manifest(default_model).model_id}


def test_moderate_needs_a_token_by_default(client):
    response = client.post("/api/v1/moderate", json={"text": TOXIC})
    assert response.status_code == 401
    assert "moderation token create" in response.json["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer mod_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "mod_x"])
def test_wrong_or_malformed_tokens_are_refused(client, header):
    response = client.post("/api/v1/moderate", json={"text": TOXIC}, headers={"Authorization": header})
    assert response.status_code == 401 and "error" in response.json


def test_single_text_gets_score_decision_model_and_enters_the_queue(app, client, auth, default_model):
    response = client.post("/api/v1/moderate", json={"text": TOXIC}, headers=auth)
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"score", "decision", "queue_id", "model", "latency_ms", "thresholds"}
    assert body["model"] == read_manifest(default_model).model_id
    assert body["score"] >= 0.5 and body["decision"] in ("review", "block")
    policy = read_manifest(default_model).policy  # the model's recommended thresholds, none set in the app
    assert body["thresholds"] == {"review": policy["review"], "block": policy["block"]} and body["latency_ms"] > 0
    queued = services(app).store.comment(body["queue_id"])
    assert (queued.text, queued.status, queued.source, queued.submitted_by) == (TOXIC, "pending", "api",
                                                                               "token:api-tests")
    assert queued.score == pytest.approx(body["score"], abs=1e-6) and queued.decision == body["decision"]


def test_a_disguised_comment_is_scored_as_read_and_queued_as_written(app, client, auth):
    disguised = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in TOXIC)  # fullwidth letters
    plain = client.post("/api/v1/moderate", json={"text": TOXIC}, headers=auth).json
    body = client.post("/api/v1/moderate", json={"text": disguised}, headers=auth).json
    assert body["score"] == pytest.approx(plain["score"], abs=1e-6) and body["decision"] == plain["decision"]
    assert services(app).store.comment(body["queue_id"]).text == disguised


def test_batch_keeps_order_and_queues_only_flagged(app, client, auth):
    texts = [CLEAN, TOXIC + " (batch)", "have a lovely afternoon"]
    response = client.post("/api/v1/moderate", json={"texts": texts}, headers=auth)
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert len(results) == 3
    assert results[1]["decision"] != "allow" and results[1]["queue_id"] is not None
    for text, result in zip(texts, results, strict=True):
        assert (result["queue_id"] is None) == (result["decision"] == "allow")
        if result["queue_id"] is not None:
            assert services(app).store.comment(result["queue_id"]).text == text
    single = client.post("/api/v1/moderate", json={"text": CLEAN}, headers=auth).json
    assert single["score"] == results[0]["score"]  # batching does not change a score


@pytest.mark.parametrize(("body", "message"), [
    ({"text": ""}, "text is empty"),
    ({"text": "   \n"}, "text is empty"),
    ({"text": 42}, "text must be a string, got int"),
    ({"text": None}, "text must be a string, got NoneType"),
    ({"texts": []}, "non-empty list"),
    ({"texts": "not a list"}, "non-empty list"),
    ({"texts": ["fine", ""]}, "texts[1]: text is empty"),
    ({"texts": ["fine", {"a": 1}]}, "texts[1]: text must be a string, got dict"),
    ({"text": "you idiot \ud800"}, "lone surrogate (invalid Unicode) at position 10"),
    ({"text": "hello\x00there"}, "NUL character at position 5"),
    ({"text": "\u200b\ufeff\u200b"}, "no visible characters"),
    ({"text": "\x01\x02 \u2028"}, "no visible characters"),
    ({"text": "a", "texts": ["b"]}, "exactly one of"),
    ({}, "exactly one of"),
    ({"comment": "hello"}, "Unknown field(s) comment"),
    ({"\ud800": None}, "Unknown field(s) \\ud800"),  # a lone surrogate quoted back once broke the reply (500)
    (["a list"], "must be a JSON object"),
    ("just a string", "must be a JSON object"),
    (None, "must be a JSON object"),
])
def test_bad_bodies_get_400_with_a_json_error_and_queue_nothing(app, client, auth, body, message):
    before = services(app).store.status_counts()
    response = client.post("/api/v1/moderate", data=json.dumps(body), content_type="application/json", headers=auth)
    assert response.status_code == 400
    assert message in response.json["error"]
    assert services(app).store.status_counts() == before


def test_invalid_json_and_wrong_content_type(client, auth):
    broken = client.post("/api/v1/moderate", data='{"text": ', content_type="application/json", headers=auth)
    assert broken.status_code == 400 and broken.json == {"error": "The body is not valid JSON."}
    form = client.post("/api/v1/moderate", data={"text": "hello"}, headers=auth)
    assert form.status_code == 415 and "Content-Type: application/json" in form.json["error"]


def test_deeply_nested_json_is_a_400(client, auth):
    response = client.post("/api/v1/moderate", data="[" * 30_000, content_type="application/json", headers=auth)
    assert response.status_code == 400 and "nested too deeply" in response.json["error"]


def test_a_chunked_body_over_the_bound_gets_413_not_a_cut_off_body(app, client, auth):
    before = services(app).store.status_counts()
    body = json.dumps({"text": TOXIC + " x" * 40_000}).encode()
    response = client.post("/api/v1/moderate", input_stream=io.BytesIO(body),
                           headers={**auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})  # as a server that de-chunks sets it
    assert response.status_code == 413 and "over the limit" in response.json["error"]
    small = json.dumps({"text": TOXIC}).encode()
    response = client.post("/api/v1/moderate", input_stream=io.BytesIO(small),
                           headers={**auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 200 and response.json["queue_id"] is not None
    assert services(app).store.status_counts()["pending"] == before["pending"] + 1


def test_batch_over_the_limit_is_refused(tmp_path, default_model):
    app = make_app(tmp_path, default_model, max_batch=3)
    auth = {"Authorization": f"Bearer {new_token(app)}"}
    response = app.test_client().post("/api/v1/moderate", json={"texts": ["a", "b", "c", "d"]}, headers=auth)
    assert response.status_code == 400 and "4 items, over the limit of 3" in response.json["error"]


def test_body_over_the_bound_gets_413_json(client, auth):
    response = client.post("/api/v1/moderate", json={"text": "x" * 70_000}, headers=auth)
    assert response.status_code == 413
    assert response.json == {"error": "The request body is over the limit of 65,536 bytes."}


def test_unknown_api_routes_and_methods_are_json(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.is_json and "error" in missing.json
    wrong_method = client.get("/api/v1/moderate")
    assert wrong_method.status_code == 405 and wrong_method.is_json and "POST" in wrong_method.headers["Allow"]


def test_revoked_token_stops_working(app, client):
    token = new_token(app, "short-lived")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/moderate", json={"text": CLEAN}, headers=headers).status_code == 200
    services(app).store.revoke_token("short-lived")
    response = client.post("/api/v1/moderate", json={"text": CLEAN}, headers=headers)
    assert response.status_code == 401 and "invalid or revoked" in response.json["error"]


def test_tokens_are_stored_only_as_hashes(app):
    token = new_token(app, "hash-check")
    with services(app).store.engine.connect() as conn:
        dump = "\n".join(conn.connection.dbapi_connection.iterdump())
    assert token not in dump and token[4:20] not in dump


def test_anonymous_api_when_configured(tmp_path, default_model):
    app = make_app(tmp_path, default_model, allow_anonymous_api=True)
    client = app.test_client()
    response = client.post("/api/v1/moderate", json={"text": TOXIC})
    assert response.status_code == 200
    assert services(app).store.comment(response.json["queue_id"]).submitted_by == "anonymous"
    bad = client.post("/api/v1/moderate", json={"text": TOXIC}, headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401  # a wrong token is an error even where no token is needed


def test_thresholds_come_from_settings(tmp_path, default_model):
    app = make_app(tmp_path, default_model, review_threshold=0.0, block_threshold=1.0, allow_anonymous_api=True)
    body = app.test_client().post("/api/v1/moderate", json={"text": CLEAN}).json
    assert body["decision"] == "review" and body["thresholds"] == {"review": 0.0, "block": 1.0}
    assert body["queue_id"] is not None


def test_a_failing_model_is_a_json_500_that_queues_nothing(app, client, auth, monkeypatch):
    def broken(texts):
        raise RuntimeError("model exploded at /secret/path")

    monkeypatch.setattr(services(app).model.scorer, "score", broken)
    before = services(app).store.status_counts()
    response = client.post("/api/v1/moderate", json={"text": TOXIC}, headers=auth)
    assert response.status_code == 500 and response.is_json
    assert "/secret/path" not in response.text  # the details go to the log, not to the caller
    assert services(app).store.status_counts() == before


def test_the_openapi_description_matches_live_responses(app, client, auth):
    import jsonschema
    from jsonschema.validators import Draft202012Validator

    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1") and set(document["paths"]) >= {"/api/v1/moderate",
                                                                                 "/api/v1/feedback", "/api/v1/health"}

    def check(response, path: str, method: str) -> None:
        schema = document["paths"][path][method]["responses"][str(response.status_code)]["content"][
            "application/json"]["schema"]
        Draft202012Validator({**schema, "components": document["components"]}).validate(response.json)

    for body in ({"text": TOXIC}, {"texts": [CLEAN, TOXIC]}):
        request_schema = document["paths"]["/api/v1/moderate"]["post"]["requestBody"]["content"]["application/json"]
        Draft202012Validator({**request_schema["schema"], "components": document["components"]}).validate(body)
        check(client.post("/api/v1/moderate", json=body, headers=auth), "/api/v1/moderate", "post")
    check(client.post("/api/v1/moderate", json={"text": ""}, headers=auth), "/api/v1/moderate", "post")
    check(client.post("/api/v1/moderate", json={"text": "x"}), "/api/v1/moderate", "post")
    check(client.post("/api/v1/feedback", json={"text": CLEAN, "toxic": False}, headers=auth), "/api/v1/feedback",
          "post")
    check(client.get("/api/v1/health"), "/api/v1/health", "get")
    with pytest.raises(jsonschema.ValidationError):  # the schemas do constrain: a wrong answer fails them
        check(type("R", (), {"status_code": 200, "json": {"status": "ok"}})(), "/api/v1/health", "get")
