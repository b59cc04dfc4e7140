"""Moderators (passwords, server-side sessions, login rate limit) and API clients (bearer tokens)."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
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

from moderation.errors import InputError
from moderation_web.service import services
from moderation_web.store import RateLimit, Store, TokenRecord, UserRecord, utcnow

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
    session_token: str  # what the signed cookie holds; the store keeps only its hash

    def get_id(self) -> str:
        return self.session_token


@login_manager.user_loader
def _load_user(session_token: str) -> Moderator | None:
    record = services().store.session_user(hash_token(session_token))
    return Moderator(record.id, record.username, session_token) if record else None


def create_user(store: Store, username: str, password: str) -> UserRecord:
    if not NAME_PATTERN.fullmatch(username):
        raise InputError(f"username {username!r} is not allowed: use 1-64 letters, digits and _ . @ -")
    return store.add_user(username, generate_password_hash(check_password(password)))


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(f"the password is too short: use at least {MIN_PASSWORD_CHARS} characters")
    return password


def change_password(store: Store, username: str, password: str) -> None:
    """Set a new password; every session of the moderator ends."""
    store.set_password(username, generate_password_hash(check_password(password)))


def authenticate(store: Store, username: str, password: str) -> UserRecord | None:
    """The moderator, if the password is right and the account is not disabled."""
    record = store.user_by_name(username)
    # An unknown name is checked against a dummy hash, so it takes as long as a wrong password.
    if not check_password_hash(record.password_hash if record else _dummy_hash(), password) or record is None:
        return None
    return None if record.disabled_at else record


def start_session(store: Store, user: UserRecord) -> Moderator:
    token = secrets.token_urlsafe(32)
    lifetime = timedelta(seconds=services().settings.session_lifetime_s)
    store.open_session(user.id, hash_token(token), utcnow() + lifetime)
    return Moderator(user.id, user.username, token)


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, name: str) -> tuple[str, TokenRecord]:
    """A new API token: the plain token (shown once, never stored) and its stored record."""
    if not NAME_PATTERN.fullmatch(name):
        raise InputError(f"token name {name!r} is not allowed: use 1-64 letters, digits and _ . @ -")
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
        limit_anonymous()
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
    """Only a path on this site: an absolute or scheme-relative URL would make the login an open redirect,
    and a control character a header injection."""
    if not target or not target.startswith("/") or "\\" in target or not target.isprintable():
        return url_for("queue.index")
    parts = urlsplit(target)
    return url_for("queue.index") if parts.scheme or parts.netloc else target


def _login_limit() -> RateLimit:
    settings = services().settings
    return RateLimit(since=utcnow() - timedelta(seconds=settings.login_window_s),
                     per_client=settings.login_attempts_per_address, per_subject=settings.login_attempts)


def _too_many_logins() -> TooManyRequests:
    window = services().settings.login_window_s
    return TooManyRequests(f"Too many failed logins from your address; try again in {max(1, window // 60)} minutes.",
                           retry_after=window)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        store = services().store
        client, username = request.remote_addr or "unknown", form.username.data[:64]
        # Every attempt counts as a failure until the password is checked, so parallel guesses cannot
        # all pass the limit; a success clears only this username's failures from this address.
        if store.claim("login", client, username, _login_limit()) is None:
            raise _too_many_logins()
        user = authenticate(store, username, form.password.data)
        if user is not None:
            store.forget("login", client, username)
            login_user(start_session(store, user))
            flash(f"Logged in as {user.username}.", "success")
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("Wrong username or password.")
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    services().store.end_session(hash_token(current_user.session_token))
    logout_user()
    flash("Logged out.", "info")
    return redirect(url_for("pages.moderate"))


def limit_anonymous() -> None:
    """Bound what one address may score without logging in (the form and, where allowed, the API)."""
    settings = services().settings
    limit = RateLimit(since=utcnow() - timedelta(minutes=1), per_client=settings.anonymous_per_minute)
    if services().store.claim("anonymous", request.remote_addr or "unknown", "", limit) is None:
        raise TooManyRequests(f"Over {settings.anonymous_per_minute} requests a minute from your address without "
                              "logging in; wait a minute, or use an API token.", retry_after=60)
