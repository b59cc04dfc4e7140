"""The JSON API, version 1: ``POST /api/v1/moderate`` and ``POST /api/v1/feedback`` (bearer token), and
``GET /api/v1/health`` and ``GET /api/v1/openapi.json`` (open; the description of all of them).

Errors are JSON objects ``{"error": "..."}`` with the HTTP status (see ``errors.py``).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from moderation.scoring import InputError, check_text, score_texts
from moderation_web.auth import token_required
from moderation_web.openapi import spec
from moderation_web.service import Outcome, Verdict, services
from moderation_web.store import APPROVED, REJECTED, NewComment

FIELDS = ("text", "texts")

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _texts(body: Any) -> tuple[list[str], bool]:
    """The texts to score and whether the body held a single ``text``; a bad body raises 400 saying why."""
    if not isinstance(body, dict):
        raise BadRequest('The body must be a JSON object: {"text": "..."} or {"texts": ["...", ...]}.')
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise BadRequest(f"Unknown field(s) {', '.join(unknown)}: send either \"text\" or \"texts\".")
    if ("text" in body) == ("texts" in body):
        raise BadRequest('Send exactly one of "text" (one comment) or "texts" (a list of comments).')
    try:
        if "text" in body:
            return [check_text(body["text"])], True
        return _batch(body["texts"]), False
    except InputError as exc:
        raise BadRequest(str(exc)) from None


def _batch(texts: Any) -> list[str]:
    limit = services().settings.max_batch
    if not isinstance(texts, list) or not texts:
        raise InputError('"texts" must be a non-empty list of strings')
    if len(texts) > limit:
        raise InputError(f'"texts" has {len(texts)} items, over the limit of {limit}; split the batch')
    for i, text in enumerate(texts):
        try:
            check_text(text)
        except InputError as exc:
            raise InputError(f"texts[{i}]: {exc}") from None
    return texts


def _verdict(v: Verdict) -> dict[str, Any]:
    return {"score": round(v.score, 6), "decision": v.decision, "queue_id": v.queue_id}


def _common(outcome: Outcome) -> dict[str, Any]:
    return {"model": outcome.model, "latency_ms": outcome.latency_ms,
            "thresholds": {"review": outcome.policy.review, "block": outcome.policy.block}}


def _json_body() -> Any:
    if not request.is_json:
        raise UnsupportedMediaType("Send JSON with the header Content-Type: application/json.")
    try:
        return json.loads(request.get_data())
    except ValueError:
        raise BadRequest("The body is not valid JSON.") from None
    except RecursionError:
        raise BadRequest("The body is JSON nested too deeply; send {\"text\": \"...\"}.") from None


@bp.post("/moderate")
@token_required
def moderate() -> ResponseReturnValue:
    texts, single = _texts(_json_body())
    outcome = services().moderate(texts, source="api", submitted_by=g.api_client)
    if single:
        return jsonify({**_verdict(outcome.verdicts[0]), **_common(outcome)})
    return jsonify({"results": [_verdict(v) for v in outcome.verdicts], **_common(outcome)})


@bp.post("/feedback")
@token_required
def feedback() -> ResponseReturnValue:
    """A corrected label for a text, as Perspective's ``suggestscore``: ``{"text": "...", "toxic": true}``.
    Stored with the serving model's score as a decided comment; the ``reviews`` data set reads it back."""
    body = _json_body()
    if not isinstance(body, dict) or set(body) != {"text", "toxic"} or not isinstance(body["toxic"], bool):
        raise BadRequest('Send {"text": "...", "toxic": true|false}: the text and whether it is toxic.')
    try:
        text = check_text(body["text"])
    except InputError as exc:
        raise BadRequest(str(exc)) from None
    svc = services()
    serving = svc.serving
    score = float(score_texts(serving.model.scorer, [text])[0])
    item = NewComment(text, score, serving.policy.decide(score), serving.model.model_id, "feedback", g.api_client)
    comment = svc.store.record_feedback(item, REJECTED if body["toxic"] else APPROVED)
    return jsonify({"id": comment.id, "toxic": body["toxic"], "score": round(score, 6),
                    "model": comment.model}), 201


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(spec())


@bp.get("/health")
def health() -> ResponseReturnValue:
    body = {"model": services().model.model_id}
    try:
        services().store.ping()
    except SQLAlchemyError as exc:
        return jsonify({**body, "status": "unavailable", "database": type(exc).__name__}), 503
    return jsonify({**body, "status": "ok", "database": "ok"})
