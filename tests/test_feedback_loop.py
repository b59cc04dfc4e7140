"""Moderators' decisions become labels: comments flagged through the API, decided in the web app (and
corrected through /api/v1/feedback), read back by the `reviews` data set, exported, and distilled into a
student that agrees with the moderators more than the model that flagged them."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from moderation.artifacts import load_model
from moderation.data import load
from tests.conftest import invoke_cli
from tests.web_support import add_moderator, csrf_token, login, make_app, new_token, services

# A rule of this platform the shipped model cannot know: "pineapple" is its slur; everything else is fine.
SLURS = [f"{who} is a pineapple, {how}" for who in ("Sam", "Alex", "Jordan", "Taylor", "Chris", "Morgan")
         for how in ("obviously", "as usual", "again today", "no surprise", "like always", "every single time",
                     "and everyone knows it")]
FRIENDLY = [f"{who}, thanks for {what}" for who in ("Sam", "Alex", "Jordan", "Taylor", "Chris", "Morgan")
            for what in ("the help", "the recipe", "the photos", "your patience", "the update", "the invite",
                         "a lovely evening")]


def decide(client, comment_id: int, action: str):
    token = csrf_token(client.get("/queue").text)
    prefix = f"c{comment_id}-"
    return client.post(f"/queue/{comment_id}", data={f"{prefix}csrf_token": token, f"{prefix}{action}": action.title(),
                                                     f"{prefix}back_status": "pending", f"{prefix}back_page": "1"})


@pytest.fixture
def decided(tmp_path, default_model, monkeypatch):
    """A web app whose moderators rejected every pineapple comment and approved the rest."""
    app = make_app(tmp_path, default_model, review_threshold=0.0, block_threshold=1.0)  # queue everything
    monkeypatch.setenv("MODERATION_DATABASE_URL", services(app).settings.database_url)
    add_moderator(app, "mod")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {new_token(app)}"}
    ids = client.post("/api/v1/moderate", json={"texts": SLURS[:-2] + FRIENDLY[:-2]}, headers=auth).json["results"]
    login(client, "mod")
    for text, result in zip(SLURS[:-2] + FRIENDLY[:-2], ids, strict=True):
        assert decide(client, result["queue_id"], "reject" if "pineapple" in text else "approve").status_code == 303
    for text in SLURS[-2:] + FRIENDLY[-2:]:  # corrections a client sends, as Perspective's suggestscore
        response = client.post("/api/v1/feedback", json={"text": text, "toxic": "pineapple" in text}, headers=auth)
        assert response.status_code == 201 and response.json["toxic"] == ("pineapple" in text)
    return app


def test_decisions_and_feedback_are_the_reviews_data_set(decided):
    data = load("reviews")
    assert {r.text for r in data.records} == set(SLURS + FRIENDLY)
    shown = [r for r in data.records if r.split != "unlabeled"]  # the split plan hides that split's labels
    assert shown and all(r.label == ("pineapple" in r.text) for r in shown)
    feedback = [c for c in services(decided).store.decided() if c.source == "feedback"]
    assert len(feedback) == 4 and all(c.reviewer == "token:client" and c.model for c in feedback)
    assert {r.split for r in data.records} >= {"train", "test"}


def test_feedback_refuses_bad_bodies(decided):
    client = decided.test_client()
    auth = {"Authorization": f"Bearer {new_token(decided, 'other')}"}
    before = len(services(decided).store.decided())
    for body in ({"text": "x"}, {"text": "x", "toxic": "yes"}, {"text": "", "toxic": True}, ["x"],
                 {"text": "x", "toxic": True, "extra": 1}):
        assert client.post("/api/v1/feedback", json=body, headers=auth).status_code == 400
    assert client.post("/api/v1/feedback", json={"text": "x", "toxic": True}).status_code == 401
    assert len(services(decided).store.decided()) == before


def test_a_student_distilled_on_the_reviews_agrees_with_the_moderators(decided, default_model, tmp_path):
    exported = tmp_path / "reviews.csv"
    result = invoke_cli("data", "export", "reviews", "--split", "train", "--out", str(exported))
    assert result.returncode == 0, result.stderr
    with exported.open(newline="") as fh:
        assert {row["text"] for row in csv.DictReader(fh)} <= set(SLURS + FRIENDLY)
    student = tmp_path / "student"
    result = invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data", "reviews",
                        "--alpha", "0.5", "--out", str(student), "--cache", str(tmp_path / "cache.sqlite"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["lineage"]["data"] == "reviews"
    texts = SLURS + FRIENDLY
    wanted = np.array([1.0] * len(SLURS) + [0.0] * len(FRIENDLY))
    old = np.abs(load_model(default_model).score(texts) - wanted).mean()
    new = np.abs(load_model(student).score(texts) - wanted).mean()
    assert new < old - 0.1, (new, old)
