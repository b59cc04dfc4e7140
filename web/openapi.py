"""The machine-readable description of the JSON API (OpenAPI 3.1), served at ``/api/v1/openapi.json``.

Written by hand next to the views it describes; ``tests/test_web_api.py`` checks live responses against
these schemas, so the description cannot drift from what the API answers."""

from __future__ import annotations

from typing import Any

from moderation import __version__

SCORE = {"type": "number", "minimum": 0, "maximum": 1}
DECISION = {"type": "string", "enum": ["allow", "review", "block"]}
TEXT = {"type": "string", "minLength": 1, "maxLength": 100_000}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}},
         "additionalProperties": False}
VERDICT = {"type": "object", "required": ["score", "decision", "queue_id"], "properties": {
    "score": SCORE, "decision": DECISION,
    "queue_id": {"type": ["integer", "null"], "description": "Set when the comment entered the review queue."}}}
COMMON = {"model": {"type": "string", "description": "plugin@fingerprint of the serving model"},
          "latency_ms": {"type": "number", "minimum": 0},
          "thresholds": {"type": "object", "required": ["review", "block"],
                         "properties": {"review": SCORE, "block": SCORE}}}

SCHEMAS: dict[str, dict[str, Any]] = {
    "ModerateRequest": {"oneOf": [
        {"type": "object", "required": ["text"], "properties": {"text": TEXT}, "additionalProperties": False},
        {"type": "object", "required": ["texts"], "additionalProperties": False,
         "properties": {"texts": {"type": "array", "items": TEXT, "minItems": 1, "maxItems": 256}}}]},
    "ModerateOne": {"type": "object", "required": ["score", "decision", "queue_id", *COMMON],
                    "properties": {**VERDICT["properties"], **COMMON}},
    "ModerateMany": {"type": "object", "required": ["results", *COMMON],
                     "properties": {"results": {"type": "array", "items": VERDICT}, **COMMON}},
    "FeedbackRequest": {"type": "object", "required": ["text", "toxic"], "additionalProperties": False,
                        "properties": {"text": TEXT, "toxic": {"type": "boolean"}}},
    "FeedbackStored": {"type": "object", "required": ["id", "toxic", "score", "model"], "properties": {
        "id": {"type": "integer"}, "toxic": {"type": "boolean"}, "score": SCORE, "model": {"type": "string"}}},
    "Health": {"type": "object", "required": ["status", "database", "model"], "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]}, "database": {"type": "string"},
        "model": {"type": "string"}}},
    "Error": ERROR,
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


ERRORS = {"400": _json("Error", "Bad body: the message says what is wrong"),
          "401": _json("Error", "Missing, invalid or revoked token"),
          "413": _json("Error", "Body over the size bound"), "415": _json("Error", "Body is not JSON"),
          "429": _json("Error", "Too many anonymous requests from this address")}


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "moderation API", "version": __version__,
                 "description": "Toxicity scores and decisions from the serving model; feedback labels."},
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                                     "description": "moderation token create --name NAME"}}},
        "paths": {
            "/api/v1/moderate": {"post": {
                "summary": "Score one comment or a batch; flagged ones enter the review queue.",
                "security": [{"token": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ModerateRequest")}}},
                "responses": {"200": {"description": "Scores and decisions", "content": {"application/json": {
                    "schema": {"oneOf": [_ref("ModerateOne"), _ref("ModerateMany")]}}}}, **ERRORS}}},
            "/api/v1/feedback": {"post": {
                "summary": "A corrected label for a text, stored for training (the reviews data set).",
                "security": [{"token": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("FeedbackRequest")}}},
                "responses": {"201": _json("FeedbackStored", "Stored"), **ERRORS}}},
            "/api/v1/health": {"get": {
                "summary": "Serving model and database status (open).",
                "responses": {"200": _json("Health", "Healthy"), "503": _json("Health", "Database unavailable")}}},
            "/api/v1/openapi.json": {"get": {"summary": "This description (open).",
                                             "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
        },
    }
