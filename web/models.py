"""Models in the web app: the saved models of the models folder beside the serving one, audits of them
against it started as background jobs, promotion to serving (gated by a passing audit unless a recorded
override says why) and rollback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from moderation.artifacts import Manifest, read_manifest
from moderation.errors import UserError
from moderation_web.jobs import checked_data, progress, start_audit
from moderation_web.service import Services, ServingModel, services
from moderation_web.store import FINISHED, RUNNING, Job, NotFound

MAX_REASON_CHARS = 500

bp = Blueprint("models", __name__, url_prefix="/models")


@dataclass(frozen=True)
class Candidate:
    """A folder of the models folder: its manifest, or why it cannot be read."""

    name: str
    path: Path
    manifest: Manifest | None
    error: str | None


def list_candidates(root: Path) -> list[Candidate]:
    if not root.is_dir():
        return []
    found = []
    for child in sorted(root.iterdir()):
        if child.name.startswith(".") or not child.is_dir():
            continue
        try:
            found.append(Candidate(child.name, child, read_manifest(child), None))
        except UserError as exc:
            found.append(Candidate(child.name, child, None, str(exc)))
    return found


def candidate(svc: Services, name: str) -> Candidate:
    """Only a folder the listing shows can be audited or promoted: no path from the request is opened."""
    for c in list_candidates(svc.settings.resolved_models_dir()):
        if c.name == name and c.manifest is not None:
            return c
    abort(404, f"There is no readable model {name!r} in the models folder.")


def clearing_audit(jobs: list[Job], model_id: str, serving_id: str) -> Job | None:
    """The newest finished audit of ``model_id`` against the model serving now whose gates all passed."""
    for job in jobs:
        if job.model_id == model_id and job.reference_id == serving_id and job.status == FINISHED:
            return job if job.gates_passed else None
    return None


class AuditForm(FlaskForm):
    datasets = StringField("Data sets", validators=[Length(max=500)])
    start = SubmitField("Audit against serving")


class PromoteForm(FlaskForm):
    override = BooleanField("Promote without a passing audit")
    reason = TextAreaField("Why (required with the override)", validators=[Length(max=MAX_REASON_CHARS)])
    promote = SubmitField("Promote to serving")


class RollbackForm(FlaskForm):
    rollback = SubmitField("Roll back")


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    svc = services()
    serving = svc.serving
    jobs = svc.store.jobs()
    latest = {}
    for job in reversed(jobs):  # oldest first, so the newest of each model is kept
        latest[job.model_id] = job
    candidates = list_candidates(svc.settings.resolved_models_dir())
    cleared = {c.name: clearing_audit(jobs, c.manifest.model_id, serving.model.model_id)
               for c in candidates if c.manifest is not None}
    return render_template("models.html", serving=serving.model, promotion=serving.promotion, candidates=candidates,
                           latest=latest, cleared=cleared, history=svc.store.promotions(),
                           root=svc.settings.resolved_models_dir(), gates=svc.settings.promotion_gates,
                           audit_form=AuditForm(datasets=svc.settings.audit_data), promote_form=PromoteForm(),
                           rollback_form=RollbackForm())


@bp.post("/<name>/audit")
@login_required
def audit(name: str) -> ResponseReturnValue:
    svc = services()
    form = AuditForm()
    chosen = candidate(svc, name)
    if not form.validate_on_submit():
        return _back(f"No audit started: {_errors(form)}")
    serving = svc.model
    try:
        job = start_audit(svc.store, svc.settings, chosen.path, chosen.manifest.model_id, serving.path,
                          serving.model_id, checked_data(form.datasets.data or svc.settings.audit_data),
                          current_user.username)
    except UserError as exc:
        return _back(f"No audit started: {exc}")
    flash(f"Audit #{job.id} of {chosen.manifest.model_id} against {serving.model_id} started.", "success")
    return redirect(url_for("models.job", job_id=job.id), code=303)


@bp.get("/jobs/<int(max=9223372036854775807):job_id>")
@login_required
def job(job_id: int) -> ResponseReturnValue:
    try:
        found = services().store.job(job_id)
    except NotFound:
        abort(404, f"There is no audit job #{job_id}.")
    return render_template("job.html", job=found, progress=progress(found), running=found.status == RUNNING)


@bp.post("/<name>/promote")
@login_required
def promote(name: str) -> ResponseReturnValue:
    svc = services()
    form = PromoteForm()
    chosen = candidate(svc, name)
    if not form.validate_on_submit():
        return _back(f"Nothing promoted: {_errors(form)}")
    serving = svc.serving.model
    if chosen.manifest.model_id == serving.model_id:
        return _back(f"{serving.model_id} is already serving.", "warning")
    cleared = clearing_audit(svc.store.jobs(), chosen.manifest.model_id, serving.model_id)
    reason = (form.reason.data or "").strip()
    if cleared is None and not (form.override.data and reason):
        return _back(f"Nothing promoted: {chosen.manifest.model_id} has no finished audit against "
                     f"{serving.model_id} whose gates pass. Audit it, or tick the override and say why.")
    return _switch(svc, chosen.path, serving, audit_job=cleared.id if cleared else None,
                   override_reason=None if cleared else reason)


@bp.post("/rollback")
@login_required
def rollback() -> ResponseReturnValue:
    svc = services()
    if not RollbackForm().validate_on_submit():
        return _back("Nothing rolled back: the form expired; try again.")
    serving = svc.serving
    if serving.promotion is None:
        return _back("Nothing to roll back: the configured model is serving.", "warning")
    return _switch(svc, Path(serving.promotion.replaced_path), serving.model, rollback_of=serving.promotion.id)


def _switch(svc: Services, path: Path, serving: ServingModel, *, audit_job: int | None = None,
            override_reason: str | None = None, rollback_of: int | None = None) -> Response:
    try:
        new = ServingModel.load(path)  # every worker will load it: refuse what does not load now
    except UserError as exc:
        return _back(f"Nothing changed: {path.name} does not load: {exc}")
    promotion = svc.store.promote(str(path), new.model_id, str(serving.path), serving.model_id,
                                  current_user.username, audit_job=audit_job, override_reason=override_reason,
                                  rollback_of=rollback_of)
    svc.slot.adopt(promotion, new)
    verb = "Rolled back to" if rollback_of else "Promoted"
    return _back(f"{verb} {new.model_id} (promotion #{promotion.id}); every worker serves it within "
                 f"{svc.settings.model_check_s:g} s.", "success")


def _errors(form: FlaskForm) -> str:
    return " ".join(e for errors in form.errors.values() for e in errors)


def _back(message: str, category: str = "error") -> Response:
    flash(message, category)
    return redirect(url_for("models.index"), code=303)
