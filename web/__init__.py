"""The moderation web app (Flask): form, JSON API, review queue, reports, plugins and model card.

``create_app()`` is the application factory; with no argument it reads ``MODERATION_*`` environment
variables (see ``Settings``), which is how gunicorn runs it::

    gunicorn --no-control-socket -w 2 -b 127.0.0.1:8000 'moderation_web:create_app()'
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from moderation.defaults import ensure_default_model
from moderation_web import api, auth, models, pages, queue, reports
from moderation_web.errors import register_error_handlers
from moderation_web.rendering import markdown, read_as, when
from moderation_web.service import ModelSlot, Services, ServingModel, services, warm_model_loaders
from moderation_web.settings import Settings, persistent_secret_key
from moderation_web.store import PENDING, Store

__all__ = ["Settings", "create_app"]

# Pages load only this site's own CSS; no script runs anywhere in the app.
PAGE_CSP = ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or persistent_secret_key(),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_NAME="moderation_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
    )
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops,
                                x_host=settings.proxy_hops)
    model = ServingModel.load(settings.model or ensure_default_model())  # a bad model creates no database
    warm_model_loaders()
    store = Store(settings.resolved_database_url())
    store.create_schema()
    slot = ModelSlot(settings, store, model, settings.model_check_s)
    app.extensions["moderation"] = Services(settings, slot, store)

    csrf = CSRFProtect(app)
    auth.login_manager.init_app(app)
    for blueprint in (pages.bp, queue.bp, reports.bp, models.bp, auth.bp, api.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, never with the session cookie
    register_error_handlers(app)
    app.add_template_filter(markdown)
    app.add_template_filter(when)
    app.add_template_filter(read_as)
    app.context_processor(_template_globals)
    app.before_request(_bound_streamed_body)
    app.after_request(_security_headers)
    return app


def _bound_streamed_body() -> None:
    """A chunked body has no Content-Length to check up front, and Werkzeug stops reading it at the bound
    without an error: read it here (the views and the form parser reuse what was read) and refuse it
    whole if it reached the bound, rather than act on a silently cut-off body."""
    streamed = request.content_length is None and request.method in ("POST", "PUT", "PATCH")
    if streamed and len(request.get_data()) >= current_app.config["MAX_CONTENT_LENGTH"]:
        raise RequestEntityTooLarge()


def _template_globals() -> dict[str, object]:
    svc = services()
    pending = svc.store.status_counts()[PENDING] if current_user.is_authenticated else None
    serving = svc.serving
    return {"serving": serving.model, "policy": serving.policy, "pending_count": pending}


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", PAGE_CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")  # queue pages and API answers hold private text
    return response
