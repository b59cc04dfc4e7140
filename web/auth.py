"""Moderators (passwords, sessions, login rate limit) and API clients (bearer tokens)."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import TooManyRequests, Unauthorized
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from moderation_web.service import services
from moderation_web.store import Store, TokenRecord, UserRecord, utcnow

NAME_PATTERN = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
MIN_PASSWORD_CHARS = 8
TOKEN_PREFIX = "mod_"

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to review the queue."
login_manager.login_message_category = "info"

bp = Blueprint("auth", __name__)


@dataclass(frozen=True)
class Moderator(UserMixin):
    id: int
    username: str

    def get_id(self) -> str:
        return str(self.id)


@login_manager.user_loader
def _load_user(user_id: str) -> Moderator | None:
    record = services().store.user(int(user_id)) if user_id.isdigit() else None
    return Moderator(record.id, record.username) if record else None


def create_user(store: Store, username: str, password: str) -> UserRecord:
    if not NAME_PATTERN.fullmatch(username):
        raise ValueError(f"username {username!r} is not allowed: use 1-64 letters, digits and _ . @ -")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"the password is too short: use at least {MIN_PASSWORD_CHARS} characters")
    return store.add_user(username, generate_password_hash(password))


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def authenticate(store: Store, username: str, password: str) -> Moderator | None:
    record = store.user_by_name(username)
    # An unknown name is checked against a dummy hash, so it takes as long as a wrong password.
    if not check_password_hash(record.password_hash if record else _dummy_hash(), password) or record is None:
        return None
    return Moderator(record.id, record.username)


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, name: str) -> tuple[str, TokenRecord]:
    """A new API token: the plain token (shown once, never stored) and its stored record."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"token name {name!r} is not allowed: use 1-64 letters, digits and _ . @ -")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, store.add_token(name, hash_token(token))


def api_client() -> str:
    """Who is calling the API: ``token:<name>``, or ``anonymous`` where that is allowed; else 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        record = services().store.active_token(hash_token(token.strip()))
        if record is None:
            raise _unauthorized("the API token is invalid or revoked", "invalid_token")
        return f"token:{record.name}"
    if services().settings.allow_anonymous_api:
        return "anonymous"
    raise _unauthorized("this endpoint needs an API token: send `Authorization: Bearer <token>` "
                        "(create one with `moderation token create --name NAME`)", None)


def _unauthorized(description: str, error: str | None) -> Unauthorized:
    params = {"realm": "moderation"} | ({"error": error} if error else {})
    return Unauthorized(description, www_authenticate=WWWAuthenticate("Bearer", params))


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.api_client = api_client()
        return view(*args, **kwargs)

    return wrapper


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[InputRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)])


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an absolute or scheme-relative URL would make the login an open redirect."""
    parts = urlsplit(target or "")
    if not target or parts.scheme or parts.netloc or not target.startswith("/") or "\\" in target:
        return url_for("queue.index")
    return target


def _window_start() -> datetime:
    return utcnow() - timedelta(seconds=services().settings.login_window_s)


def _check_rate_limit(store: Store, client: str) -> None:
    settings = services().settings
    if store.failed_logins_since(client, _window_start()) >= settings.login_attempts:
        minutes = max(1, settings.login_window_s // 60)
        raise TooManyRequests(f"Too many failed logins from your address; try again in {minutes} minutes.",
                              retry_after=settings.login_window_s)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        store = services().store
        client = request.remote_addr or "unknown"
        _check_rate_limit(store, client)
        user = authenticate(store, form.username.data, form.password.data)
        if user is not None:
            store.clear_failed_logins(client)
            login_user(user)
            flash(f"Logged in as {user.username}.", "success")
            return redirect(_safe_next(request.args.get("next")))
        store.record_failed_login(client, forget_before=_window_start())
        form.password.errors.append("Wrong username or password.")
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    flash("Logged out.", "info")
    return redirect(url_for("pages.moderate"))
