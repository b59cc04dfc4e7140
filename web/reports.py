"""Audit reports: each subfolder of the reports folder holding a report.html (plus report.json, summary.md).

Files are served only from inside a listed report folder: names with ``..``, absolute paths and symlinks
that lead outside it are refused. A report is a page this app did not write, so it is served under a
sandboxing Content-Security-Policy: no scripts, no access to this site's cookies.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flask import Blueprint, abort, render_template, send_file
from flask.typing import ResponseReturnValue
from werkzeug.security import safe_join

from moderation_web.service import services

REPORT_PAGE = "report.html"
REPORT_JSON = "report.json"
SUMMARY = "summary.md"
MAX_SUMMARY_BYTES = 64 * 1024
REPORT_CSP = ("sandbox; default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
              "font-src 'self' data:; frame-ancestors 'none'")
# Browsers download text/markdown; shown as plain text, a summary opens in the tab like the rest.
MIMETYPES = {".md": "text/plain", ".json": "application/json"}

bp = Blueprint("reports", __name__, url_prefix="/reports")


@dataclass(frozen=True)
class Report:
    name: str
    folder: Path
    modified: datetime
    summary: str | None  # summary.md, when the report has one
    has_json: bool


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _summary(folder: Path) -> str | None:
    path = folder / SUMMARY
    if not path.is_file() or not _inside(path, folder):
        return None
    with path.open("rb") as fh:
        return fh.read(MAX_SUMMARY_BYTES).decode("utf-8", errors="replace")


def _report(folder: Path, root: Path) -> Report | None:
    page = folder / REPORT_PAGE
    if folder.name.startswith(".") or not folder.is_dir() or not _inside(folder, root) or not page.is_file():
        return None
    modified = datetime.fromtimestamp(page.stat().st_mtime, timezone.utc)
    json_path = folder / REPORT_JSON
    return Report(folder.name, folder, modified, _summary(folder), json_path.is_file() and _inside(json_path, folder))


def list_reports(root: Path) -> list[Report]:
    """Every report under ``root``, newest first; an absent folder simply has none."""
    if not root.is_dir():
        return []
    found = (_report(child, root) for child in root.iterdir())
    return sorted((r for r in found if r is not None), key=lambda r: r.modified, reverse=True)


def report_file(root: Path, name: str, relative: str) -> Path:
    """The file ``relative`` inside report ``name``, or 404 for anything else."""
    folder_path = safe_join(str(root), name)
    # Only a direct child of root is a report: "." would make root itself one.
    is_child = folder_path is not None and Path(folder_path).parent == root
    report = _report(Path(folder_path), root) if is_child else None
    file_path = safe_join(str(report.folder), relative) if report else None
    if file_path is None or not Path(file_path).is_file() or not _inside(Path(file_path), report.folder):
        abort(404, "There is no such report or report file.")
    return Path(file_path)


@bp.get("")
def index() -> ResponseReturnValue:
    root = services().settings.resolved_reports_dir()
    return render_template("reports.html", reports=list_reports(root), root=root)


@bp.get("/<name>/")
@bp.get("/<name>/<path:relative>")
def view(name: str, relative: str = REPORT_PAGE) -> ResponseReturnValue:
    path = report_file(services().settings.resolved_reports_dir(), name, relative)
    mimetype = MIMETYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = send_file(path, mimetype=mimetype, max_age=0)
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response
