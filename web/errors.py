"""Errors as JSON under /api/, as a page everywhere else."""

from __future__ import annotations

import json

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

API_PREFIX = "/api/"


def _json_error(error: HTTPException) -> Response:
    response = error.get_response()  # keeps headers such as Allow, Retry-After, WWW-Authenticate
    response.set_data(json.dumps({"error": error.description}))
    response.content_type = "application/json"
    return response


def _encodable(description: str | None) -> str | None:
    """A description can quote what the client sent, lone surrogates included, which UTF-8 cannot encode:
    those are written as escapes, so the reply is the 400 it should be, not a 500."""
    return description.encode("utf-8", "backslashreplace").decode("utf-8") if description else description


def _description(error: HTTPException) -> str:
    if isinstance(error, CSRFError):
        return "This form has expired or did not come from this site. Go back, reload the page and try again."
    return error.description or ""


def register_error_handlers(app: Flask) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> Response:
        error.description = f"The request body is over the limit of {limit:,} bytes."
        return handle(error)

    @app.errorhandler(HTTPException)
    def handle(error: HTTPException) -> Response:
        error.description = _encodable(error.description)
        if request.path.startswith(API_PREFIX):
            return _json_error(error)
        response = error.get_response()
        page = render_template("error.html", code=error.code, name=error.name, description=_description(error))
        response.set_data(page)
        response.content_type = "text/html; charset=utf-8"
        return response
