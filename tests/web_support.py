"""Helpers shared by the tests/test_web_*.py modules: apps on a private database, forms with their CSRF
token, moderators, API tokens and report folders."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from moderation_web import Settings, create_app
from moderation_web.auth import create_token, create_user
from moderation_web.service import Services
from tests.conftest import ROOT, load_script

PASSWORD = "correct horse battery"
# Any hidden CSRF field, whatever the order of its attributes: the header's logout form writes its own,
# WTForms renders the others (a page with no form of its own still carries the logout form's).
CSRF = re.compile(r'<input[^>]*\bname="(?:[\w-]+-)?csrf_token"[^>]*>')
VALUE = re.compile(r'\bvalue="([^"]+)"')


def make_settings(tmp_path: Path, model: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"model": model, "database_url": f"sqlite:///{tmp_path / 'web.db'}",
                              "reports_dir": tmp_path / "reports", "secret_key": "t" * 64}
    return Settings(**{**values, **overrides})


def make_app(tmp_path: Path, model: Path, **overrides: Any) -> Flask:
    return create_app(make_settings(tmp_path, model, **overrides))


def services(app: Flask) -> Services:
    return app.extensions["moderation"]


def csrf_token(html: str) -> str:
    field = CSRF.search(html)
    assert field, "the page has no CSRF token"
    return VALUE.search(field.group(0)).group(1)


def submit(client: FlaskClient, page: str, action: str, data: dict[str, str]) -> TestResponse:
    """Open ``page`` as a browser would, then post ``data`` with the page's CSRF token to ``action``."""
    token = csrf_token(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data})


def add_moderator(app: Flask, username: str = "mod") -> str:
    create_user(services(app).store, username, PASSWORD)
    return username


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    return submit(client, "/login", "/login", {"username": username, "password": password})


def new_token(app: Flask, name: str = "client") -> str:
    return create_token(services(app).store, name)[0]


def write_report(root: Path, name: str, title: str = "Fairness audit", summary: str | None = "# Summary\n\nAll good.\n",
                 html: str | None = None) -> Path:
    """A report folder as `moderation audit` writes it: report.html, report.json, summary.md."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "report.html").write_text(html or f"<!doctype html><title>{title}</title><h1>{title}</h1>\n")
    (folder / "report.json").write_text('{"summary": {"auc_gap": 0.04}}\n')
    if summary is not None:
        (folder / "summary.md").write_text(summary)
    return folder


def saved_models(root: Path) -> Path:
    """A models folder: ``candidate``, a tfidf-lr on the demo data with other parameters than the default,
    and ``broken``, whose manifest is not JSON."""
    from moderation.data import load
    from moderation.student_training import train_student

    data = load("demo")
    train_student("tfidf-lr", data.split("train", "train"), data.split("test"), root / "candidate",
                  params={"C": 0.3, "max_features": 3000, "min_df": 2}, lineage={"data": "demo"})
    (root / "broken").mkdir()
    (root / "broken" / "manifest.json").write_text("{not json")
    return root


def load_benchmark() -> ModuleType:
    """benchmarks/web_load.py as a module (benchmarks/ is not a package): the tests start gunicorn with it."""
    return load_script(ROOT / "benchmarks" / "web_load.py")
