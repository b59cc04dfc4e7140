"""Web app configuration: one dataclass, filled from the environment or from `moderation serve`'s options."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from moderation.defaults import data_home
from moderation.errors import InputError
from moderation.policy import Policy, recommended

ENV_PREFIX = "MODERATION_"


@dataclass(frozen=True)
class Settings:
    """Everything the app can be configured with. ``None`` means "the default under the data folder".

    Each field can be set with the environment variable ``MODERATION_<FIELD>`` (upper case), e.g.
    ``MODERATION_DATABASE_URL``; that is how gunicorn workers get their configuration.
    """

    model: Path | None = None  # saved model directory; None: the default student shipped in the package
    database_url: str | None = None  # SQLAlchemy URL; None: SQLite in <data home>/web/moderation.db
    reports_dir: Path | None = None  # audit reports; None: <data home>/reports
    review_threshold: float | None = None  # None: the model's recommended threshold (manifest policy)
    block_threshold: float | None = None
    allow_anonymous_api: bool = False  # True: /api/v1/moderate works without a bearer token
    max_body_bytes: int = 64 * 1024
    max_batch: int = 256  # most texts in one API request
    secret_key: str | None = None  # None: generated once and kept in <data home>/web/secret_key
    secure_cookies: bool = False  # True behind HTTPS: session cookies are then never sent over plain HTTP
    proxy_hops: int = 0  # reverse proxies in front of the app whose X-Forwarded-* headers are trusted
    page_size: int = 20
    login_attempts: int = 10  # failed logins allowed per username from one address within login_window_s
    login_attempts_per_address: int = 30  # failed logins allowed from one address, whatever the username
    login_window_s: int = 600
    session_lifetime_s: int = 12 * 3600  # a moderator logs in again after this, whatever they do
    anonymous_per_minute: int = 30  # scoring requests one address may make without logging in
    queue_anonymous_form: bool = False  # True: the open form at / also queues what anonymous visitors flag
    models_dir: Path | None = None  # saved models a moderator can audit and promote; None: <data home>/models
    model_check_s: float = 2.0  # how often each worker looks for a newer promotion
    audit_data: str = "toxigen,bias-madlibs,behaviour"  # what an audit started from /models runs on
    audit_limit: int = 10_000  # rows of each audited data set
    promotion_gates: tuple[str, ...] = ()  # NAME=VALUE audit gates a model must pass to be promoted

    def __post_init__(self) -> None:
        self.policy({})  # raises on thresholds out of order
        for name in ("max_body_bytes", "max_batch", "page_size", "login_attempts", "login_attempts_per_address",
                     "login_window_s", "session_lifetime_s", "anonymous_per_minute", "audit_limit"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.proxy_hops < 0:
            raise InputError(f"proxy_hops must be 0 or more, got {self.proxy_hops}")
        if self.model_check_s < 0:
            raise InputError(f"model_check_s must be 0 or more, got {self.model_check_s}")
        malformed = [g for g in self.promotion_gates if g.count("=") != 1]
        if malformed:
            raise InputError(f"promotion gates are NAME=VALUE (e.g. final_bias_metric=0.8), got {malformed}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``MODERATION_*`` variables; a malformed value names its variable."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            raw = environ.get(name, "").strip()
            if raw:
                values[f.name] = _parse(name, raw, PARSERS[f.name])
        return cls(**values)

    def override(self, **values: Any) -> Settings:
        """A copy with every value that is not ``None`` replaced (CLI options left unset keep the env's)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def policy(self, recommended_by_model: Mapping[str, Any]) -> Policy:
        """Thresholds set here win; the rest come from the model's recommended policy."""
        return recommended(recommended_by_model, self.review_threshold, self.block_threshold)

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{web_home() / 'moderation.db'}"

    def resolved_reports_dir(self) -> Path:
        return self.reports_dir or data_home() / "reports"

    def resolved_models_dir(self) -> Path:
        return self.models_dir or data_home() / "models"


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected one of 1/0, true/false, yes/no, on/off")


PARSERS: dict[str, Callable[[str], Any]] = {
    "model": Path, "database_url": str, "reports_dir": Path, "secret_key": str,
    "review_threshold": float, "block_threshold": float,
    "allow_anonymous_api": _bool, "secure_cookies": _bool, "queue_anonymous_form": _bool,
    "max_body_bytes": int, "max_batch": int, "proxy_hops": int, "page_size": int,
    "login_attempts": int, "login_attempts_per_address": int, "login_window_s": int, "session_lifetime_s": int,
    "anonymous_per_minute": int, "models_dir": Path, "model_check_s": float, "audit_data": str,
    "audit_limit": int, "promotion_gates": lambda raw: tuple(g.strip() for g in raw.split(",") if g.strip()),
}


def _parse(name: str, raw: str, parser: Callable[[str], Any]) -> Any:
    try:
        return parser(raw)
    except ValueError as exc:
        raise InputError(f"environment variable {name}={raw!r} is invalid: {exc}") from exc


def web_home() -> Path:
    return data_home() / "web"


def persistent_secret_key(path: Path | None = None) -> str:
    """The instance's session-signing key, created once; every worker and restart reads the same one.

    The key is written to a temporary file and hard-linked into place, so a worker racing another
    either creates the complete file or finds the other's complete file, never a half-written one.
    """
    path = path or web_home() / "secret_key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            os.link(tmp, path)
        except FileExistsError:
            pass  # another worker won the race; its key is complete
        finally:
            os.unlink(tmp)
    key = path.read_text().strip()
    if len(key) < 32:
        raise InputError(f"{path} holds no usable secret key; delete it to have a new one generated")
    return key
